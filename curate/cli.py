"""The `curate` command line."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from curate import __version__

REPO_ROOT = Path(__file__).resolve().parents[1]


def _fail(msg: str) -> None:
    click.echo(f"error: {msg}", err=True)
    sys.exit(2)


class _Main(click.Group):
    """Ctrl-C ends any command with one line (no tracebacks, no click 'Aborted!') and exit status 130.
    Everything a run finished is on disk; the same command resumes it."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("\ninterrupted; run the same command to resume", err=True)
            ctx.exit(130)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="curate")
def main():
    """Compliance-aware data curation for LLM pretraining: robots.txt opt-out across crawl years, PII,
    toxicity and license filters, Megatron shards and a manifest row for every document."""


def _executor_options(f):
    f = click.option("--executor", type=click.Choice(["local", "slurm"]), default="local", show_default=True,
                     help="Run tasks as local processes or as a Slurm array job.")(f)
    f = click.option("--tasks", type=click.IntRange(1), default=1, show_default=True,
                     help="Number of tasks (input files are split across them).")(f)
    f = click.option("--workers", type=click.IntRange(1), default=None,
                     help="Local processes running at once (default: min(tasks, CPUs)).")(f)
    f = click.option("--partition", default=None, help="Slurm partition.")(f)
    f = click.option("--time", "time_limit", default="04:00:00", show_default=True, help="Slurm time limit per task.")(f)
    f = click.option("--cpus-per-task", type=int, default=1, show_default=True, help="Slurm CPUs per task.")(f)
    f = click.option("--mem-per-cpu", type=int, default=4, show_default=True, help="Slurm memory per CPU (GB).")(f)
    f = click.option("--no-progress", is_flag=True, help="No progress bars.")(f)
    return f


def _run_options(executor, tasks, workers, partition, time_limit, cpus_per_task, mem_per_cpu, no_progress):
    import os

    from curate.run import RunOptions

    workers = workers or min(tasks, os.cpu_count() or 1)
    # bars only on a terminal: redirected to a file they would be cursor codes and carriage returns
    return RunOptions(executor=executor, tasks=tasks, workers=workers, progress=not no_progress and sys.stderr.isatty(),
                      slurm={"partition": partition, "time": time_limit, "cpus_per_task": cpus_per_task,
                             "mem_per_cpu_gb": mem_per_cpu})


def _run_and_report(pipeline, input_spec, out, robots_cache, opts):
    from curate.config import ConfigError
    from curate.executors import StageFailed
    from curate.readers import InputError
    from curate.run import run
    from curate.summary import print_summary

    try:
        info = run(str(pipeline), input_spec, str(out), robots_cache=robots_cache, opts=opts)
    except (ConfigError, InputError) as e:
        _fail(str(e))
    except StageFailed as e:  # some tasks failed; the others finished and a rerun resumes
        click.echo(f"error: {e}", err=True)
        sys.exit(1)
    if info is None:  # submitted to a scheduler
        return
    print_summary(out)
    click.echo(f"run {info['run_id']}: {out}/manifests, {out}/shards, {out}/run.json")


@main.command()
@click.argument("pipeline", type=click.Path(exists=True, dir_okay=False))
@click.option("--input", "input_spec", required=True, multiple=True, help="File, directory or glob (repeatable).")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Run directory.")
@click.option("--robots-cache", type=click.Path(exists=True, file_okay=False), default=None,
              help="Robots cache directory (overrides the pipeline's).")
@_executor_options
def run(pipeline, input_spec, out, robots_cache, **kw):
    """Run PIPELINE (a YAML file) over the input."""
    _run_and_report(pipeline, list(input_spec), out, robots_cache, _run_options(**kw))


@main.command()
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Run directory.")
@click.option("--docs", type=click.IntRange(100), default=None, help="Sample size (default: the bundled 6,000).")
@_executor_options
def demo(out, docs, **kw):
    """Build the bundled synthetic sample and run pipelines/demo.yaml on it, fully offline."""
    import shutil
    import tempfile

    from curate.config import ConfigError
    from curate.run import check_out_dir, compute_run_id, resolve, run_key
    from curate.sample import DEFAULT_DOCS, build_sample, demo_pipeline_path, demo_robots_cache

    out = Path(out)
    sample_dir = out / "input"
    # The sample is built aside and the run id checked first: an --out holding another run is refused
    # before anything is written into it.
    with tempfile.TemporaryDirectory(prefix="curate-demo-") as tmp:
        staged = Path(tmp) / "input"
        build_sample(staged, n_docs=docs or DEFAULT_DOCS)
        cache = demo_robots_cache(Path(tmp))
        try:
            pipe, files, digest = resolve(str(demo_pipeline_path()), [str(staged)], str(out), str(cache))
            key = run_key(pipe, files, digest)
            check_out_dir(out.resolve(), compute_run_id(pipe, files, digest, key=key), key)
            if kw.get("executor") == "slurm":
                from curate.executors import _check_slurm

                _check_slurm()
        except ConfigError as e:
            _fail(str(e))
        out.mkdir(parents=True, exist_ok=True)
        if Path(tmp) in cache.parents:  # no bundled snapshot: the generated one moves into OUT
            if not (out / "robots_cache").exists():
                shutil.move(str(cache), str(out / "robots_cache"))
            cache = out / "robots_cache"
        if not (sample_dir.is_dir() and (out / ".curate" / "run_id").exists()):
            shutil.rmtree(sample_dir, ignore_errors=True)
            shutil.move(str(staged), str(sample_dir))
            shutil.move(str(Path(tmp) / "input.truth.jsonl"), str(out / "input.truth.jsonl"))
    click.echo(f"sample: {sample_dir} (synthetic, see curate/sample.py); robots snapshot: {cache}", err=True)
    _run_and_report(demo_pipeline_path(), [str(sample_dir)], out, str(cache), _run_options(**kw))


@main.command()
@click.argument("doc_id_or_url")
@click.option("--manifests", required=True, type=click.Path(exists=True, file_okay=False),
              help="Run directory or its manifests/ folder.")
@click.option("--json", "as_json", is_flag=True, help="The manifest row(s) as JSON, detail parsed (one object a line).")
def why(doc_id_or_url, manifests, as_json):
    """Why was this document kept, dropped or quarantined? The decision trail with its evidence."""
    from curate.why import as_json as row_json
    from curate.why import explain, lookup

    try:
        rows = lookup(manifests, doc_id_or_url)
    except FileNotFoundError as e:
        _fail(str(e))
    if not rows:
        _fail(f"no document with id or url {doc_id_or_url!r} in {manifests}")
    if as_json:
        for r in rows:
            click.echo(row_json(r))
        return
    click.echo("\n\n".join(explain(r) for r in rows))


@main.command()
@click.argument("sql")
@click.option("--manifests", required=True, type=click.Path(exists=True, file_okay=False),
              help="Run directory or its manifests/ folder.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
def query(sql, manifests, fmt):
    """Run SQL (DuckDB) over a view named `manifest`."""
    import csv
    import json

    import duckdb

    from curate.manifest import connect

    if not sql.strip():
        _fail("empty SQL; for example: curate query \"SELECT status, count(*) FROM manifest GROUP BY 1\" "
              f"--manifests {manifests}")
    try:
        con = connect(manifests)
    except FileNotFoundError as e:
        _fail(str(e))
    try:
        cur = con.execute(sql)
    except duckdb.Error as e:
        _fail(_duckdb_message(e))
    if cur.description is None:  # a statement without a result set
        return
    cols = [d[0] for d in cur.description]
    rows = cur.fetchall()
    if fmt == "csv":
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(cols)
        w.writerows(rows)
    elif fmt == "json":
        for r in rows:
            click.echo(json.dumps(dict(zip(cols, r)), default=str, ensure_ascii=False))
    else:
        from rich.console import Console
        from rich.table import Table

        t = Table()
        for c in cols:
            t.add_column(c)
        for r in rows:
            t.add_row(*["NULL" if v is None else str(v) for v in r])
        Console().print(t)


def _duckdb_message(e: Exception) -> str:
    """DuckDB's error on one line, without its LINE/caret context; a missing table names the view."""
    first = next((ln.strip() for ln in str(e).splitlines() if ln.strip()), type(e).__name__)
    msg = f"query failed: {first}"
    if "does not exist" in first and ("Table" in first or "Catalog" in first):
        msg += " (the view is named `manifest`; its columns: curate query 'DESCRIBE manifest')"
    return msg


def _attach(module: str, attr: str) -> None:
    """Sub-command groups live beside their code; a missing optional part (e.g. torch) hides its command."""
    import importlib

    try:
        main.add_command(getattr(importlib.import_module(module), attr))
    except ImportError as e:  # pragma: no cover - depends on optional extras
        reason = str(e)

        @main.command(name=attr, context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
        def _missing():
            _fail(f"'curate {attr}' is unavailable: {reason}")


_attach("curate.robots.cli", "robots")
import curate.rank  # noqa: E402,F401  (adds `robots rank` to the group)
import curate.robots.history  # noqa: E402,F401  (adds `robots import-warc` and `import-cdx`)
_attach("curate.toxicity.cli", "toxicity")
_attach("curate.train.cli", "train")
_attach("curate.ops_cli", "status")
_attach("curate.ops_cli", "merge")
_attach("curate.erase_cli", "erase")
_attach("curate.report_cli", "verify")
_attach("curate.report_cli", "report")


if __name__ == "__main__":
    main()

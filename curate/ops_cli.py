"""`curate status OUT` and `curate merge OUT`: operating a run directory after (or while) it runs."""
from __future__ import annotations

import json
import sys

import click


@click.command()
@click.argument("out", type=click.Path(exists=True, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status(out, as_json):
    """Tasks done, running and failed per stage, documents/s, and the logs of failed tasks.
    Exits 1 when a task failed."""
    from curate.status import format_status, run_status

    info = run_status(out)
    click.echo(json.dumps(info, indent=1) if as_json else format_status(info))
    sys.exit(1 if info["state"] == "failed" else 0)


@click.command()
@click.argument("out", type=click.Path(exists=True, file_okay=False))
def merge(out):
    """Merge a finished run's per-file shards into one Megatron shard per dump (OUT/merged/) and point
    the manifests at them. Idempotent."""
    from curate.merge import MergeError, merge_run

    try:
        section = merge_run(out)
    except MergeError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(2)
    for name, d in section["dumps"].items():
        click.echo(f"{out}/merged/{name}: {d['sequences']:,} sequences, {d['tokens']:,} tokens")

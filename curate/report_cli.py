"""`curate verify OUT` and `curate report eu-summary`: checking a run and reporting on it.
Imports are inside the commands so `curate --help` stays fast."""
from __future__ import annotations

import json
import sys

import click


def _fail(msg: str) -> None:
    click.echo(f"error: {msg}", err=True)
    sys.exit(2)


@click.command()
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@click.option("--no-progress", is_flag=True, help="No progress bars (there are none off a terminal anyway).")
@click.option("--skip-inputs", is_flag=True, help="Do not hash the inputs again (outputs are always hashed).")
@click.option("--no-megatron", is_flag=True, help="Skip megatron-core's reader (only our own .idx checks).")
def verify(out, as_json, no_progress, skip_inputs, no_megatron):
    """Check run directory OUT against its record: every sha256 in run.json, one manifest row per
    document, every kept row's shard sequence decoding to its text_sha256, sidecars, the Megatron
    index format, and that no erased document is left in a shard. Exit 0 only when all hold."""
    from curate.verify import VerifyError, format_result, verify as run_verify

    try:
        res = run_verify(out, progress=not no_progress and not as_json, inputs=not skip_inputs,
                         megatron=False if no_megatron else None)
    except (VerifyError, FileNotFoundError) as e:
        _fail(str(e))
    if as_json:
        click.echo(json.dumps({"run": str(out), **res.to_dict()}, indent=1, default=str))
    else:
        click.echo(format_result(out, res))
    sys.exit(0 if res.ok else 1)


@click.group()
def report():
    """Reports computed from a run's manifests."""


@report.command("eu-summary")
@click.option("--run", "runs", required=True, multiple=True, type=click.Path(file_okay=False),
              help="Run directory (repeatable: the runs are aggregated).")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False), help="Output file (.md or .json).")
@click.option("--format", "fmt", type=click.Choice(["md", "json"]), default=None,
              help="Output format (default: from --out's suffix, else md).")
@click.option("--info", "info_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="YAML with the fields curate cannot know (provider, contact, models, ...).")
@click.option("--provider", default=None, help="Provider name (section 1.1).")
@click.option("--contact", default=None, help="Provider contact (section 1.1).")
@click.option("--representative", default=None, help="Authorised representative, if outside the EU (1.1).")
@click.option("--model", "models", multiple=True, help="Versioned model name (repeatable; section 1.2).")
@click.option("--dependency", "dependencies", multiple=True, help="Model dependency (repeatable; 1.2).")
@click.option("--market-date", default=None, help="Date the model was placed on the market (1.2).")
@click.option("--version", "summary_version", default=None, help="Version of this summary (default: 1).")
@click.option("--sme", is_flag=True, help="The provider is an SME: top 5%% of domains or 1,000, whichever is lower.")
def eu_summary(runs, out_file, fmt, info_file, provider, contact, representative, models, dependencies,
               market_date, summary_version, sme):
    """The public summary of training content (EU AI Act Art. 53(1)(d), the Commission's template),
    every figure computed from the runs' manifests."""
    from curate.report import ReportError, load_info, write_eu_summary

    try:
        info = load_info(info_file)
    except ReportError as e:
        _fail(str(e))
    cli = {"provider": provider, "contact": contact, "representative": representative,
           "models": list(models) or None, "dependencies": list(dependencies) or None,
           "market_date": market_date, "version": summary_version, "sme": sme or None}
    info.update({k: v for k, v in cli.items() if v is not None})
    if fmt is None:
        fmt = "json" if str(out_file).endswith(".json") else "md"
    try:
        written = write_eu_summary(list(runs), out_file, info, fmt)
    except (ReportError, FileNotFoundError) as e:
        _fail(str(e))
    for p in written:
        click.echo(p)

"""``curate robots``: fetch robots.txt files into the cache, import saved ones, check a file by hand.

The click group `robots` is attached to the main ``curate`` command by `curate.cli`.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from urllib.parse import urlsplit

import click

__all__ = ["robots", "import_directory"]


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def robots() -> None:
    """robots.txt opt-outs: rank hosts, fetch and import robots.txt snapshots, check a file."""


# ---- curate robots rank ---------------------------------------------------------------------------------
# `robots rank` (token volume per host -> top-N hosts file) is added to this group by curate/rank.py,
# which reads crawl dumps: this package knows no pipeline.


# ---- curate robots fetch --------------------------------------------------------------------------------
@robots.command("fetch")
@click.option("--hosts", "hosts_file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="One origin a line: scheme://host[:port], or a bare host (https). '#' starts a comment.")
@click.option("--cache", "cache_dir", required=True, type=click.Path(file_okay=False), help="Robots cache directory.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
              help="Seconds per connect and per socket read.")
@click.option("--host-deadline", type=click.FloatRange(min=0.1), default=30.0, show_default=True,
              help="Seconds for a whole origin (redirects and body included).")
@click.option("--concurrency", type=click.IntRange(1, 4096), default=128, show_default=True,
              help="Fetches in flight (worker threads).")
@click.option("--refresh", is_flag=True, help="Fetch origins that already have a snapshot again (adds a snapshot).")
@click.option("--allow-private", is_flag=True,
              help="Allow loopback, private, link-local and reserved addresses (refused by default).")
@click.option("--max-bytes", type=click.IntRange(min=512000), default=512000, show_default=True,
              help="Body bytes kept (decoded); at least 500 KiB as RFC 9309 asks.")
@click.option("--batch-size", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Snapshots per cache part file (a crash loses at most one batch).")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option("--no-tdmrep", is_flag=True, help="Do not fetch /.well-known/tdmrep.json (W3C TDMRep) as well.")
def fetch_cmd(hosts_file, cache_dir, timeout, host_deadline, concurrency, refresh, allow_private, max_bytes,
              batch_size, no_progress, no_tdmrep) -> None:
    """Fetch the robots.txt and /.well-known/tdmrep.json of every origin in --hosts into --cache (resumable)."""
    from curate.robots.cache import CacheError, RobotsCache
    from curate.robots.fetch import HostsFileError, RobotsFetcher, fetch_to_cache, read_hosts_file

    try:
        origins = read_hosts_file(hosts_file)
        cache = RobotsCache(cache_dir)
        fetcher = RobotsFetcher(timeout=timeout, host_deadline=host_deadline, max_bytes=max_bytes,
                                allow_private=allow_private)
        summary = fetch_to_cache(origins, cache, fetcher, concurrency=concurrency, refresh=refresh,
                                 batch_size=batch_size, progress=not no_progress and sys.stderr.isatty(),
                                 tdmrep=not no_tdmrep)
    except (HostsFileError, CacheError, ValueError) as exc:
        _fail(str(exc))
        return
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(summary.statuses.items())) or "none"
    errors = ", ".join(f"{k}: {v}" for k, v in sorted(summary.errors.items())) or "none"
    click.echo(
        f"{summary.fetched} fetched, {summary.skipped} already cached, of {summary.requested} origins "
        f"in {summary.seconds:.1f} s ({summary.hosts_per_second:.1f} hosts/s)\n"
        f"statuses: {statuses}\nerrors: {errors}\ncache: {cache_dir}"
    )
    if not no_tdmrep:
        t_statuses = ", ".join(f"{k}: {v}" for k, v in sorted(summary.tdmrep_statuses.items())) or "none"
        t_errors = ", ".join(f"{k}: {v}" for k, v in sorted(summary.tdmrep_errors.items())) or "none"
        click.echo(f"tdmrep.json: {summary.tdmrep_fetched} fetched, {summary.tdmrep_skipped} already cached; "
                   f"statuses: {t_statuses}; errors: {t_errors}")


# ---- curate robots import -------------------------------------------------------------------------------
def import_directory(directory: str | Path, cache_dir: str | Path, fetched_at: str,
                     max_bytes: int = 512000, already: list[Path] | None = None,
                     tdmrep_imported: list[Path] | None = None) -> tuple[int, list[Path]]:
    """Import ``<host>.txt`` files (host may carry ``:port``) as snapshots taken at ``fetched_at``, and
    ``<host>.tdmrep.json`` files (W3C TDMRep, normally beside them) as snapshots of kind ``tdmrep``; those
    are counted apart, into ``tdmrep_imported``. Both kinds keep the first ``max_bytes`` (a bigger file is
    stored truncated, and its truncation is an error recorded when it is used).

    Each file becomes two rows, scheme http and scheme https (same host and port): RFC 9309 keys robots.txt
    by origin, and a saved file does not say which scheme it came from, so it stands for both. Returns the
    number of files imported and the files skipped (not ``*.txt``); a bad host name is a ValueError naming
    the file. A file whose snapshots (same origin, time and body) are in the cache already is not added
    again, so importing a directory twice leaves the cache (and its digest) as it was; such files are
    appended to ``already``."""
    from curate.robots.cache import RobotsCache, snapshot_from_body
    from curate.robots.fetch import parse_origin

    directory = Path(directory)
    if not directory.is_dir():
        raise ValueError(f"{directory} is not a directory")
    snapshots, skipped, count = [], [], 0
    cache = RobotsCache(cache_dir)
    present = (cache.hosts() | cache.hosts("tdmrep")) if Path(cache_dir).is_dir() and cache.part_files() else set()
    for path in sorted(directory.iterdir()):
        kind = "tdmrep" if path.name.endswith(".tdmrep.json") else "robots"
        if not path.is_file() or (kind == "robots" and path.suffix != ".txt"):
            skipped.append(path)
            continue
        name = path.name[: -len(".txt" if kind == "robots" else ".tdmrep.json")]
        try:
            parse_origin(f"https://{name}")  # validates the host and port
            parts = urlsplit(f"https://{name}")
            host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
            netloc = f"{host}:{parts.port}" if parts.port else str(host)
        except ValueError as exc:
            raise ValueError(f"{path}: file name is not <host>.txt or <host>.tdmrep.json ({exc})") from None
        with open(path, "rb") as handle:  # at most max_bytes + 1: a huge file is not read whole
            body = handle.read(max_bytes + 1)
        truncated = len(body) > max_bytes
        new = [snapshot_from_body(scheme, netloc, body[:max_bytes], fetched_at, status=200, truncated=truncated,
                                  kind=kind) for scheme in ("http", "https")]
        new = [sn for sn in new if (sn.scheme, sn.host) not in present
               or sn.sort_key() not in {o.sort_key() for o in cache.snapshots(sn.scheme, sn.host, kind)}]
        if not new:
            if already is not None:
                already.append(path)
            continue
        snapshots += new
        if kind == "robots":
            count += 1
        elif tdmrep_imported is not None:
            tdmrep_imported.append(path)
    cache.append(snapshots)
    return count, skipped


@robots.command("import")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--cache", "cache_dir", required=True, type=click.Path(file_okay=False), help="Robots cache directory.")
@click.option("--fetched-at", required=True, help="When the files were fetched (ISO date or time; UTC if no zone).")
def import_cmd(directory, cache_dir, fetched_at) -> None:
    """Import saved robots.txt files named <host>.txt, and <host>.tdmrep.json files beside them (each applies to
    http and https of that host)."""
    from curate.robots.cache import CacheError, parse_timestamp

    already: list[Path] = []
    tdmrep: list[Path] = []
    try:
        parse_timestamp(fetched_at)
        count, skipped = import_directory(directory, cache_dir, fetched_at, already=already, tdmrep_imported=tdmrep)
    except (CacheError, ValueError) as exc:
        _fail(str(exc))
        return
    if not count and not already and not tdmrep:
        _fail(f"{directory}: no <host>.txt files to import" + (f" ({len(skipped)} other entries)" if skipped else ""))
    click.echo(f"imported {count} robots.txt files (2 snapshots each: http and https) into {cache_dir}")
    if tdmrep:
        click.echo(f"imported {len(tdmrep)} tdmrep.json files (2 snapshots each: http and https)")
    if already:
        click.echo(f"{len(already)} files already in the cache with the same fetch time and content: not added "
                   f"again", err=True)
    if skipped:
        shown = ", ".join(p.name for p in skipped[:5]) + (" ..." if len(skipped) > 5 else "")
        click.echo(f"skipped {len(skipped)} entries that are not <host>.txt or <host>.tdmrep.json files: {shown}",
                   err=True)


# ---- curate robots check --------------------------------------------------------------------------------
@robots.command("check")
@click.argument("robots_file", type=click.Path(exists=True, dir_okay=False))
@click.argument("urls", nargs=-1, required=True)
@click.option("--agent", "agents", multiple=True, help="User agent to check (repeatable; default: the apertus list).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per URL and agent.")
def check_cmd(robots_file, urls, agents, as_json) -> None:
    """Print allowed/blocked for every URL and agent under ROBOTS_FILE, with the deciding rule and line."""
    from curate.robots.agents import load_agents
    from curate.robots.matcher import RobotsTxt

    parsed = RobotsTxt.parse(Path(robots_file).read_bytes())
    for url in urls:
        for agent in agents or load_agents("apertus"):
            decision = parsed.decide(agent, url)
            # the usage signals of the same group (AIPREF Content-Usage train-ai, Content-Signal ai-train)
            usage = {name: parsed.signal(agent, url, kind, category)
                     for name, kind, category in SIGNAL_CHECKS}
            if as_json:
                signals = {name: {"value": value, "lines": [r.line for r in rules]}
                           for name, (value, rules) in usage.items() if value is not None}
                click.echo(json.dumps({"url": url, **decision.to_dict(), "signals": signals}))
                continue
            verdict = "allowed" if decision.allowed else "blocked"
            why = f"{decision.rule} (line {decision.line})" if decision.rule else "no matching rule"
            for name, (value, rules) in usage.items():
                if value is not None:
                    why += f"; {name} {'refuses' if value == 'n' else 'allows'}: " + ", ".join(
                        f"{r.text} (line {r.line})" for r in rules)
            click.echo(f"{verdict}\t{agent}\t{url}\t{why}")


SIGNAL_CHECKS = (("aipref", "content-usage", "train-ai"), ("content-signal", "content-signal", "ai-train"))

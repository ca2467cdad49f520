"""`curate erase --run DIR (--url U | --doc-id ID | --host H | --text S | --from-file F) --reason R [--dry-run]`,
`curate erase export --run DIR --out FILE`, `curate erase check --list FILE TEXT_OR_-`."""
from __future__ import annotations

import json
import sys

import click


def _fail(msg: str, code: int = 2) -> None:
    click.echo(f"error: {msg}", err=True)
    sys.exit(code)


def _request_options(f):
    f = click.option("--dry-run", is_flag=True, help="List what would be erased; write nothing.")(f)
    f = click.option("--reason", default=None, help="Why (e.g. 'GDPR Art. 17 request #123'); recorded in the log.")(f)
    f = click.option("--from-file", "from_file", default=None, type=click.Path(dir_okay=False),
                     help="Requests, one a line: JSON lines ({\"url\": ..., \"reason\": ...}) or CSV kind,value,reason.")(f)
    f = click.option("--text", default=None, help="Documents whose text contains this (normalised) snippet.")(f)
    f = click.option("--host", default=None, help="Every document of this host (exact, case-insensitive).")(f)
    f = click.option("--doc-id", "doc_id", default=None, help="The document with this id.")(f)
    f = click.option("--url", default=None, help="Documents with exactly this URL.")(f)
    f = click.option("--run", "run_dir", default=None, type=click.Path(file_okay=False), help="Run directory.")(f)
    return f


def _do_request(run_dir, url, doc_id, host, text, from_file, reason, dry_run) -> None:
    from curate.erase import ErasureError, erase, make_request, read_requests

    if not run_dir:
        _fail("--run DIR is required (or a sub-command: export, check)")
    given = [(k, v) for k, v in (("url", url), ("doc_id", doc_id), ("host", host), ("text", text)) if v is not None]
    if len(given) + (from_file is not None) != 1:
        _fail("give exactly one of --url, --doc-id, --host, --text, --from-file")
    try:
        if from_file:
            requests = read_requests(from_file, default_reason=reason)
        else:
            requests = [make_request(given[0][0], given[0][1], reason)]
        res = erase(run_dir, requests, dry_run=dry_run)
    except ErasureError as e:
        _fail(str(e))
    for j in res.resumed:
        click.echo(f"finished interrupted batch {j['batch_id']} ({len(j['requests'])} request(s), "
                   f"{len(j['docs'])} document(s))")
    for r in res.noop:
        click.echo(f"request {r.request_id}: already done ({json.dumps(r.selector, ensure_ascii=False)}); nothing to do")
    j = res.journal
    if j is None:
        return
    verb = "would erase" if res.dry_run else "erased"
    for r in j["requests"]:
        extra = []
        if r["already_erased"]:
            extra.append(f"{len(r['already_erased'])} already erased")
        if r["not_in_shards"]:
            extra.append(f"{len(r['not_in_shards'])} not kept (not in the shards)")
        click.echo(f"request {r['request_id']} {json.dumps(r['selector'], ensure_ascii=False)}: {verb} "
                   f"{len(r['doc_ids'])} document(s)" + (f"; {', '.join(extra)}" if extra else ""))
    if res.dry_run:
        from curate.erase import pending

        if pending(run_dir):
            click.echo("note: an interrupted erasure is pending; the next `curate erase` finishes it first")
        for d in j["docs"]:
            click.echo(f"  {d['doc_id']}  {d['url']}  {d['shard']}:{d['seq_index']}  {d['n_tokens']} tokens")
        click.echo(f"dry run: {len(j['docs'])} document(s) in {len(j['shards'])} shard(s), "
                   f"{len(j['manifests'])} manifest file(s) would be rewritten; nothing written")
    else:
        click.echo(f"{len(j['docs'])} document(s) erased; rewrote or removed {len(j['shards'])} shard(s) and "
                   f"{len(j['manifests'])} manifest file(s); log: {run_dir}/erasure/log.jsonl")


@click.group(invoke_without_command=True)
@_request_options
@click.pass_context
def erase(ctx, run_dir, url, doc_id, host, text, from_file, reason, dry_run):
    """Take documents out of a run's token stream (every shard, merged ones too) and mark their manifest
    rows dropped/erasure, with a log in RUN/erasure/log.jsonl. Resumable; an identical request is a no-op.

    \b
    curate erase --run DIR --url URL --reason R [--dry-run]
    curate erase --run DIR --from-file requests.jsonl --reason R
    curate erase export --run DIR --out removal.jsonl
    curate erase check --list removal.jsonl TEXT_OR_-
    """
    if ctx.invoked_subcommand is None:
        _do_request(run_dir, url, doc_id, host, text, from_file, reason, dry_run)


@erase.command("request")
@_request_options
def request(run_dir, url, doc_id, host, text, from_file, reason, dry_run):
    """The same as `curate erase --run DIR ...`."""
    _do_request(run_dir, url, doc_id, host, text, from_file, reason, dry_run)


@erase.command("export")
@click.option("--run", "run_dir", required=True, type=click.Path(file_okay=False), help="Run directory.")
@click.option("--out", "dest", required=True, type=click.Path(dir_okay=False), help="The removal list to write.")
def export(run_dir, dest):
    """Write the removal list (format curate-removal-list v1, JSON lines; see README, Erasure)."""
    from curate.erase import ErasureError, pending
    from curate.removal_list import export as do_export

    try:
        if pending(run_dir):
            click.echo(f"warning: {run_dir} has an unfinished erasure (erasure/pending/); it is not in the list. "
                       f"Run the same `curate erase` again to finish it.", err=True)
        n = do_export(run_dir, dest)
    except ErasureError as e:
        _fail(str(e))
    click.echo(f"{dest}: {n} erased document(s)")


@erase.command("check")
@click.option("--list", "list_file", required=True, type=click.Path(dir_okay=False), help="A removal list.")
@click.argument("text")
def check(list_file, text):
    """Does TEXT (or stdin, for '-') overlap an erased document? Exit 1 and name it when it does, 0 when not."""
    from curate.removal_list import RemovalListError, check as do_check, load

    try:
        rl = load(list_file)
    except RemovalListError as e:
        _fail(str(e))
    if text == "-":
        text = sys.stdin.read()
    hits = do_check(rl, text)
    if not hits:
        click.echo("no overlap with an erased document")
        return
    for h in hits:
        click.echo(f"overlaps {h['doc_id']} ({h['url']}): {h['windows_matched']} of {h['windows']} window(s)")
    sys.exit(1)

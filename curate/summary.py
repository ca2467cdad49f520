"""The end-of-run summary, computed from the manifests themselves (so it cannot disagree with them)."""
from __future__ import annotations

from rich.console import Console
from rich.table import Table

from curate.manifest import connect


def summary_rows(run_dir) -> list[tuple]:
    con = connect(run_dir)
    return con.execute("""
        SELECT status, stage, reason, documents, tokens FROM (
            SELECT status, coalesce(stage, '-') AS stage, coalesce(reason, '-') AS reason,
                   count(*) AS documents, coalesce(sum(n_tokens), 0)::BIGINT AS tokens
            FROM manifest GROUP BY 1, 2, 3)
        ORDER BY CASE status WHEN 'kept' THEN 0 WHEN 'dropped' THEN 1 ELSE 2 END, stage, reason""").fetchall()


def optout_signal_counts(run_dir, honoured: list[str]) -> dict:
    """Per opt-out signal: documents it removed (the manifest reason it decided) and documents it refused at
    all (``refused_by_signals`` in the optout evidence: several signals may refuse one document)."""
    from curate.robots.policy import SIGNAL_REASONS

    con = connect(run_dir)
    by_reason = dict(con.execute(
        "SELECT reason, count(*) FROM manifest WHERE stage = 'optout' AND status = 'dropped' GROUP BY 1").fetchall())
    refusing = dict(con.execute("""
        SELECT s, count(*) FROM (
            SELECT unnest(from_json(json_extract(detail, '$.optout.refused_by_signals'), '["VARCHAR"]')) AS s
            FROM manifest WHERE stage = 'optout' AND status = 'dropped'
              AND json_extract(detail, '$.optout.refused_by_signals') IS NOT NULL)
        GROUP BY 1""").fetchall())
    removed = {s: sum(by_reason.get(r, 0) for r in SIGNAL_REASONS[s]) for s in honoured}
    for s in honoured:  # a robots-only run records no refused_by_signals: its drops are robots' own
        refusing.setdefault(s, removed[s])
    return {"honoured": list(honoured), "removed": removed, "refused": {s: refusing.get(s, 0) for s in honoured}}


def print_summary(run_dir, console: Console | None = None, title: str = "curate run summary") -> dict:
    if console is None:
        console = Console()
        if not console.is_terminal:
            console = Console(width=120)
    rows = summary_rows(run_dir)
    total = sum(r[3] for r in rows)
    table = Table(title=title, show_footer=True)
    table.add_column("status", footer="documents read")
    table.add_column("stage")
    table.add_column("reason")
    table.add_column("documents", justify="right", footer=f"{total:,}")
    table.add_column("share", justify="right")
    table.add_column("tokens written", justify="right",
                     footer=f"{sum(r[4] for r in rows):,}")
    for status, stage, reason, n, tokens in rows:
        table.add_row(status, stage, reason, f"{n:,}", f"{n / total:.1%}" if total else "-",
                      f"{tokens:,}" if status == "kept" else "")
    console.print(table)
    signals = _recorded_signals(run_dir)
    if signals:
        removed = ", ".join(f"{k} {v:,}" for k, v in signals["removed"].items())
        console.print(f"opt-out signals honoured: {', '.join(signals['honoured'])}; documents removed by each: {removed}")
    by_status: dict[str, int] = {}
    for status, _, _, n, _ in rows:
        by_status[status] = by_status.get(status, 0) + n
    return {"read": total, **by_status, "tokens": sum(r[4] for r in rows)}


def _recorded_signals(run_dir) -> dict | None:
    """The run's opt-out signal record from run.json (None when the run has no optout block)."""
    import json
    from pathlib import Path

    try:
        return json.loads((Path(run_dir) / "run.json").read_text()).get("optout_signals")
    except (OSError, ValueError):
        return None

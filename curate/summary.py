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
    by_status: dict[str, int] = {}
    for status, _, _, n, _ in rows:
        by_status[status] = by_status.get(status, 0) + n
    return {"read": total, **by_status, "tokens": sum(r[4] for r in rows)}

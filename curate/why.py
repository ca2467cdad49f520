"""`curate why`: the decision trail of one document, with the evidence each block recorded."""
from __future__ import annotations

import json

from curate.manifest import connect

STAGE_ORDER = ("input", "optout", "language", "quality", "toxicity", "license", "pii", "tokenize", "erasure")


def lookup(run_dir, key: str) -> list[dict]:
    con = connect(run_dir)
    cur = con.execute("SELECT * FROM manifest WHERE doc_id = ? OR url = ? ORDER BY source_file, source_row", [key, key])
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _optout_lines(ev: dict) -> list[str]:
    lines = [f"    policy: {ev.get('policy')} ({ev.get('selection', '')}), granularity {ev.get('granularity')}, "
             f"looked up {ev.get('looked_up') or ev.get('origin')}"]
    snap = ev.get("snapshot") or {}
    if snap:
        lines.append(f"    robots.txt: {snap.get('final_url') or ev.get('origin')} fetched_at {snap.get('fetched_at')} "
                     f"HTTP {snap.get('status')}{' error ' + snap['error'] if snap.get('error') else ''} "
                     f"sha256 {snap.get('sha256')}")
    for b in ev.get("agents") or []:
        grp = b.get("group")
        grp = ", ".join(grp) if isinstance(grp, (list, tuple)) else grp
        lines.append(f"    robots.txt refuses agent {b.get('agent')}: group [User-agent: {grp}] "
                     f"rule '{b.get('rule')}' at line {b.get('line')}")
    if ev.get("robots") and not ev.get("agents"):
        lines.append(f"    outcome: {ev['robots']}")
    return lines


def explain(row: dict) -> str:
    detail = json.loads(row["detail"] or "{}")
    out = [f"document {row['doc_id']}" + (f"  (run {row['run_id']})" if row.get("run_id") else ""),
           f"  url: {row['url']}", f"  source: {row['source_file']} row {row['source_row']}  dump: {row['dump']}  date: {row['date']}",
           f"  decision: {row['status'].upper()}" + (f" at stage {row['stage']} ({row['reason']})" if row["stage"] else "")]
    if row["status"] == "kept":
        out.append(f"  shard: {row['shard']} sequence {row['seq_index']} ({row['n_tokens']} tokens, text sha256 {row['text_sha256']})")
    out.append("  trail:")
    for stage in sorted(detail, key=lambda s: STAGE_ORDER.index(s) if s in STAGE_ORDER else 99):
        ev = detail[stage]
        verdict = "DROPPED" if stage == row["stage"] and row["status"] != "kept" else "passed"
        if stage == row["stage"] and row["status"] == "quarantined":
            verdict = "QUARANTINED"
        out.append(f"  - {stage}: {verdict}")
        if stage == "optout" and isinstance(ev, dict):
            out.extend(_optout_lines(ev))
        out.append("    evidence: " + json.dumps(ev, ensure_ascii=False, sort_keys=True))
    return "\n".join(out)

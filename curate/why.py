"""`curate why`: the decision trail of one document, with the evidence each block recorded.

Each stage is rendered as readable lines (optout: the robots.txt snapshot and the refusing rules, and the
signal that decided with its source: robots.txt line, tdmrep rule, header or meta tag;
language: code and score; toxicity: score, threshold and how it was set, the scorer and its model's
sha256; license: the license, its category and the snippet; PII: counts by type). `--json` prints the
manifest row with `detail` parsed instead.
"""
from __future__ import annotations

import json

from curate.manifest import connect

STAGE_ORDER = ("input", "optout", "language", "quality", "toxicity", "license", "pii", "tokenize", "erasure")
IND = "      "


def lookup(run_dir, key: str) -> list[dict]:
    con = connect(run_dir)
    cur = con.execute("SELECT * FROM manifest WHERE doc_id = ? OR url = ? ORDER BY run_id, source_file, source_row",
                      [key, key])
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def as_json(row: dict) -> str:
    """The manifest row as one JSON object, `detail` parsed."""
    d = dict(row)
    try:
        d["detail"] = json.loads(d.get("detail") or "{}")
    except ValueError:
        pass
    return json.dumps(d, ensure_ascii=False, sort_keys=True, default=str)


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False, sort_keys=True)
    return str(v)


def _http(snap: dict) -> str:
    """How the fetch went: 'HTTP 200', or the error when no response came (never 'HTTP None')."""
    if snap.get("status") is not None:
        s = f"HTTP {snap['status']}"
        return s + (f" ({snap['error']})" if snap.get("error") else "")
    return f"no HTTP response ({snap.get('error') or 'fetch failed'})"


def _optout_lines(ev: dict) -> list[str]:
    lines = [f"{IND}robots.txt Allow/Disallow: {ev.get('robots') or '?'}; policy {ev.get('policy')} "
             f"({ev.get('selection') or 'default'} snapshot), granularity {ev.get('granularity')}, "
             f"looked up {ev.get('looked_up') or ev.get('origin')}"]
    snap = ev.get("snapshot") or {}
    if snap:
        where = snap.get("final_url") or f"{ev.get('origin') or ''}/robots.txt"
        lines.append(f"{IND}robots.txt: {where} fetched_at {snap.get('fetched_at')}: "
                     f"{_http(snap)}, sha256 {snap.get('sha256')}" + (" (truncated)" if snap.get("truncated") else ""))
    else:
        lines.append(f"{IND}robots.txt: no snapshot of {ev.get('origin') or 'this host'} in the robots cache")
    for b in ev.get("agents") or []:
        grp = b.get("group")
        grp = ", ".join(grp) if isinstance(grp, (list, tuple)) else grp
        lines.append(f"{IND}robots.txt refuses agent {b.get('agent')}: group [User-agent: {grp}] "
                     f"rule '{b.get('rule')}' at line {b.get('line')}")
    lines += _signal_lines(ev)
    for k in sorted(set(ev) - {"robots", "policy", "selection", "granularity", "looked_up", "origin", "snapshot",
                               "agents", *_SIGNAL_KEYS}):
        lines.append(f"{IND}{k}: {_fmt(ev[k])}")
    return lines


_SIGNAL_KEYS = ("decided_by", "refused_by_signals", "tdmrep", "aipref", "content_signal", "noai", "page_errors",
                "signal_errors")
_SIGNAL_NAMES = {"robots": "robots.txt Allow/Disallow", "tdmrep": "TDMRep", "noai": "noai",
                 "aipref": "AIPREF Content-Usage", "content-signal": "Content-Signal"}


def _source(item: dict) -> str:
    """Where a refusing signal was found: the robots.txt line (with its snapshot), the header or the tag."""
    if item.get("source") == "robots.txt":
        snap = item.get("snapshot") or {}
        grp = ", ".join(item.get("group") or [])
        return (f"robots.txt line {item.get('line')} '{item.get('rule')}' [User-agent: {grp}] for "
                f"{', '.join(item.get('agents') or [])} (snapshot fetched_at {snap.get('fetched_at')}, "
                f"sha256 {snap.get('sha256')})")
    if item.get("source") == "header":
        return f"HTTP header '{item.get('header')}'"
    if item.get("source") == "meta":
        return f"meta tag {item.get('tag')}"
    return _fmt(item)


def _signal_lines(ev: dict) -> list[str]:
    lines = []
    if ev.get("decided_by"):
        others = [s for s in ev.get("refused_by_signals") or [] if s != ev["decided_by"]]
        lines.append(f"{IND}decided by signal: {ev['decided_by']} ({_SIGNAL_NAMES.get(ev['decided_by'], '?')})"
                     + (f"; also refused by: {', '.join(others)}" if others else ""))
    for key, label in (("noai", "noai"), ("aipref", "aipref"), ("content_signal", "content-signal")):
        for item in ev.get(key) or []:
            lines.append(f"{IND}{label} refuses: {_source(item)}")
    tdm = ev.get("tdmrep")
    if isinstance(tdm, dict):
        value = tdm.get("tdm-reservation")
        verdict = {1: "reserved (1)", 0: "not reserved (0)"}.get(value, "not declared")
        lines.append(f"{IND}tdmrep: {verdict}" + (f", decided by the {tdm['decided_by']}" if tdm.get("decided_by") else ""))
        wk = tdm.get("well_known") or {}
        snap = wk.get("snapshot") or {}
        if snap:
            rule = wk.get("rule")
            rule_text = (f"rule #{rule.get('index')} location '{rule.get('location')}' tdm-reservation "
                         f"{rule.get('tdm-reservation')}" if rule else "no rule")
            lines.append(f"{IND}  /.well-known/tdmrep.json: {wk.get('state')}, {rule_text}; fetched_at "
                         f"{snap.get('fetched_at')}, {_http(snap)}, sha256 {snap.get('sha256')}"
                         + (f", {wk.get('selection')} snapshot" if wk.get("selection") else ""))
            if wk.get("error"):
                lines.append(f"{IND}  tdmrep.json error: {wk['error']}")
            if wk.get("file_errors"):
                lines.append(f"{IND}  tdmrep.json entry errors: {_fmt(wk['file_errors'])}")
        elif wk.get("state"):
            lines.append(f"{IND}  /.well-known/tdmrep.json: {wk['state']}")
        for level in ("header", "meta"):
            if tdm.get(level):
                lines.append(f"{IND}  {'HTTP header' if level == 'header' else 'meta tag'}: {tdm[level]}")
        for o in tdm.get("overrides") or []:
            lines.append(f"{IND}  overrides {o.get('source')} value {o.get('tdm-reservation')}")
        if tdm.get("tdm-policy"):
            lines.append(f"{IND}  tdm-policy: {tdm['tdm-policy']}")
    if ev.get("signal_errors"):
        lines.append(f"{IND}malformed signal lines in robots.txt (ignored): {_fmt(ev['signal_errors'])}")
    for e in ev.get("page_errors") or []:
        lines.append(f"{IND}page signal error (ignored): {e}")
    return lines


def _language_lines(ev: dict) -> list[str]:
    s = f"{IND}{ev.get('language')} (score {_fmt(ev.get('score'))}"
    if ev.get("model"):
        s += f", model {ev['model']}"
    s += ")"
    if ev.get("read_chars") is not None and ev.get("of") is not None and ev["read_chars"] != ev["of"]:
        s += f", identified on the first {ev['read_chars']} of {ev['of']} characters"
    rest = {k: v for k, v in ev.items() if k not in ("language", "score", "model", "read_chars", "of")}
    return [s] + [f"{IND}{k}: {_fmt(v)}" for k, v in sorted(rest.items())]


def _toxicity_lines(ev: dict) -> list[str]:
    score, thr = ev.get("score"), ev.get("threshold")
    cmp = ">" if isinstance(score, (int, float)) and isinstance(thr, (int, float)) and score > thr else "<="
    lines = [f"{IND}score {_fmt(score)} {cmp} threshold {_fmt(thr)} ({ev.get('rule') or 'rule not recorded'}; "
             f"language {ev.get('language')})"]
    cal = ev.get("calibration") or {}
    if cal.get("note"):
        lines.append(f"{IND}threshold: {cal['note']}")
    sizes = cal.get("sample_sizes")
    if sizes is not None:
        lang = ev.get("language")
        src = (cal.get("source") or {}).get(lang)
        own = f"; {lang}: {sizes.get(lang, 0)}" + (f" ({src})" if src else "") if lang else ""
        lines.append(f"{IND}calibrated on {sum(sizes.values())} sampled documents{own}")
    scorer = ev.get("scorer")
    if scorer or ev.get("model_sha256"):
        lines.append(f"{IND}scorer: {scorer or '?'}" + (f", model sha256 {ev['model_sha256']}" if ev.get("model_sha256") else ""))
    if ev.get("n_chunks"):
        lines.append(f"{IND}max over {ev['n_chunks']} chunk(s) of {ev.get('chunk_chars')} characters; highest: chunk {ev.get('chunk')}")
    if ev.get("top_terms"):
        lines.append(f"{IND}top terms: {_fmt(ev['top_terms'])}")
    if ev.get("categories"):
        lines.append(f"{IND}categories: {_fmt(ev['categories'])}")
    if ev.get("note"):
        lines.append(f"{IND}note: {ev['note']}")
    return lines


def _license_lines(ev: dict) -> list[str]:
    if not ev.get("license") and not ev.get("matches"):
        return [f"{IND}no license notice found"] + [f"{IND}{k}: {_fmt(v)}" for k, v in sorted(ev.items())
                                                     if k != "matches"]
    s = f"{IND}{ev.get('license')} ({ev.get('category') or 'category unknown'})"
    if ev.get("kind"):
        s += f", found as {ev['kind']}"
    if ev.get("start") is not None:
        s += f" at characters {ev['start']}-{ev.get('end')}"
    lines = [s]
    if ev.get("snippet"):
        lines.append(f'{IND}snippet: "{ev["snippet"]}"')
    others = [m for m in ev.get("matches") or [] if m.get("spdx") != ev.get("license")]
    for m in others[:5]:
        lines.append(f"{IND}also: {m.get('spdx')} ({m.get('category')}) \"{m.get('evidence')}\"")
    for k in sorted(set(ev) - {"license", "category", "kind", "start", "end", "snippet", "matches"}):
        lines.append(f"{IND}{k}: {_fmt(ev[k])}")
    return lines


def _pii_lines(ev: dict) -> list[str]:
    if ev.get("skipped"):
        return [f"{IND}not scanned ({ev['skipped']})"]
    counts = ev.get("counts") or {}
    if not counts:
        return [f"{IND}nothing redacted"]
    return [f"{IND}redacted {ev.get('redacted', sum(counts.values()))}: "
            + ", ".join(f"{t} {n}" for t, n in sorted(counts.items()))]


def _erasure_lines(ev: dict) -> list[str]:
    lines = [f"{IND}erased {ev.get('time', '?')} (log: erasure/log.jsonl)"]
    for q in ev.get("requests") or []:
        sel = ", ".join(f"{k} {_fmt(v)}" for k, v in sorted((q.get("selector") or {}).items()))
        lines.append(f"{IND}request {q.get('request_id', '?')}: {sel or 'no selector'}; reason: {q.get('reason', '?')}")
    before = ev.get("before") or {}
    if before:
        lines.append(f"{IND}before: {before.get('status')}" + (
            f", shard {before['shard']} sequence {before['seq_index']} ({before.get('n_tokens')} tokens)"
            if before.get("shard") else ""))
    return lines


def _generic_lines(ev) -> list[str]:
    if isinstance(ev, dict):
        return [f"{IND}{k}: {_fmt(v)}" for k, v in sorted(ev.items())]
    return [f"{IND}{_fmt(ev)}"]


RENDER = {"optout": _optout_lines, "language": _language_lines, "toxicity": _toxicity_lines,
          "license": _license_lines, "pii": _pii_lines, "erasure": _erasure_lines}


def explain(row: dict) -> str:
    detail = json.loads(row["detail"] or "{}")
    out = [f"document {row['doc_id']}" + (f"  (run {row['run_id']})" if row.get("run_id") else ""),
           f"  url: {row['url']}",
           f"  source: {row['source_file']} row {row['source_row']} (0-based)  dump: {row['dump']}  date: {row['date']}",
           f"  decision: {row['status'].upper()}" + (f" at stage {row['stage']} ({row['reason']})" if row["stage"] else "")]
    if row["status"] == "kept":
        out.append(f"  shard: {row['shard']} sequence {row['seq_index']} ({row['n_tokens']} tokens, "
                   f"{row['n_chars']} characters, text sha256 {row['text_sha256']})")
    out.append("  trail:")
    for stage in sorted(detail, key=lambda s: STAGE_ORDER.index(s) if s in STAGE_ORDER else 99):
        ev = detail[stage]
        verdict = "passed"
        if stage == row["stage"] and row["status"] != "kept":
            verdict = "QUARANTINED" if row["status"] == "quarantined" else "DROPPED"
        out.append(f"  - {stage}: {verdict}")
        render = RENDER.get(stage, _generic_lines) if isinstance(ev, dict) else _generic_lines
        try:
            out.extend(render(ev))
        except Exception:  # evidence of an unexpected shape: show it as it is rather than fail
            out.extend(_generic_lines(ev))
    return "\n".join(out)

"""`curate report eu-summary`: the public summary of training content that the EU AI Act (Art. 53(1)(d))
asks of general-purpose model providers, in the structure of the Commission's template (24 July 2025).

Every figure comes from the runs' manifests through DuckDB (one view over all runs' manifest files), plus
what run.json records of each run's configuration (opt-out signals, policy, agents) and the erasure logs.
What curate cannot know (the provider, the models, private/user/synthetic data) comes from options or a
small YAML file (`--info`) and is marked "(given by the user)", or written as "not provided".

Definitions, so the numbers can be re-derived with `curate query`:
- tokens: sum of `n_tokens` of kept rows (what the shards hold); documents: manifest rows.
- domains: the manifest's `host` of kept rows, ranked by tokens (ties by name); the template's top 10% is
  ceil(10% of the number of such hosts); the SME option is min(ceil(5%), 1,000).
- crawl period: the `dump` values and the first and last `date` (its first 10 characters, ISO day) of kept
  rows; the latest date of data collection is that last date as MM/YYYY.
- opt-outs: dropped rows whose reason starts with `optout.`, grouped by reason; each reason is attributed to
  the signal named after `optout.` (robots.txt's unreachable/5xx/status reasons to robots), so reasons added
  later appear without a change here. The sink records no tokens for dropped rows (they are never
  tokenized); documents and characters are given instead.
"""
from __future__ import annotations

import csv
import datetime as dt
import json
import math
import os
from pathlib import Path

from curate import __version__

TEMPLATE = ("Template for the public summary of training content for general-purpose AI models "
            "(Art. 53(1)(d) of Regulation (EU) 2024/1689), European Commission, 24 July 2025")
GIVEN, NOT_PROVIDED = "(given by the user)", "not provided"
INLINE_DOMAINS = 50  # more rows than this go to a CSV beside the summary
SHOWN_WITH_CSV = 10
ROBOTS_REASONS = {"robots", "server_error", "fetch_error", "status", "unreachable"}
SIGNAL_NAMES = {"robots": "robots.txt (RFC 9309)", "tdmrep": "TDMRep (W3C TDM Reservation Protocol)",
                "noai": "noai / noimageai (meta robots, X-Robots-Tag)", "aipref": "IETF AIPREF (Content-Usage)",
                "content-signal": "Content Signals (robots.txt Content-Signal)"}
POLICIES = {"retroactive": "retroactive: the newest robots.txt snapshot is applied to documents of every crawl year",
            "as-of-crawl": "as of crawl: the snapshot in force at each document's crawl date is applied",
            "strictest": "strictest: a document is removed if any snapshot reserves it"}
INFO_KEYS = {
    "provider": "1.1 provider name", "contact": "1.1 provider contact", "representative": "1.1 authorised representative",
    "models": "1.2 versioned model names (list)", "dependencies": "1.2 model dependencies (list)",
    "market_date": "1.2 date placed on the market", "version": "version of this summary", "sme": "SME (true/false)",
    "content_types": "1.3 types of content", "continuous_training": "1.3 continuous training (yes/no)",
    "other_characteristics": "1.3 other characteristics", "public_datasets": "2.1 publicly available datasets (list)",
    "licensed_datasets": "2.2.1 datasets licensed from rightsholders", "private_datasets": "2.2.2 other private datasets",
    "crawlers": "2.3 crawler names (list)", "crawler_purposes": "2.3 crawler purposes",
    "crawler_behaviour": "2.3 crawler behaviour", "user_data": "2.4 user data", "synthetic_data": "2.5 synthetic data",
    "other_sources": "2.6 other sources", "optout_other": "3.1 other measures", "illegal_content_other":
    "3.2 other measures", "other_information": "3.3 other information",
}


class ReportError(Exception):
    """A report cannot be made (no run, a bad --info file); the message names the file."""


def load_info(path: str | None) -> dict:
    if not path:
        return {}
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise ReportError(f"{path}: not readable YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ReportError(f"{path}: expected a mapping of fields (e.g. provider: ..., models: [...])")
    unknown = sorted(set(data) - set(INFO_KEYS))
    if unknown:
        raise ReportError(f"{path}: unknown key {unknown[0]!r}; known: {', '.join(INFO_KEYS)}")
    return data


# -- figures ---------------------------------------------------------------------------------------------

def _runs(paths: list[str]) -> list[tuple[Path, dict]]:
    from curate.manifest import find_runs

    runs = []
    for p in paths:
        if not Path(p).is_dir():
            raise ReportError(f"{p}: no such directory")
        found = find_runs(p)
        if not found:
            raise ReportError(f"{p}: not a curate run (no manifests/ folder); pass the run directory given as --out")
        for r in found:
            if not (r / "run.json").is_file():
                raise ReportError(f"{r}: the run is not finished (no run.json); run the same command again first")
            info = json.loads((r / "run.json").read_text())
            same = next((p2 for p2, i2 in runs if info.get("run_id") and i2.get("run_id") == info.get("run_id")), None)
            if same is not None:  # a copy of a run (or the run twice) holds the same documents: count them once
                import sys

                print(f"warning: {r} is run {info.get('run_id')} again (as {same}); counted once", file=sys.stderr)
                continue
            runs.append((r, info))
    return runs


def _connect(runs: list[tuple[Path, dict]]):
    import duckdb

    from curate.manifest import manifest_files

    files = [f for r, _ in runs for f in manifest_files(r)]
    con = duckdb.connect()
    con.execute("SET python_enable_replacements = false")
    lst = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    con.execute(f"CREATE VIEW manifest AS SELECT * FROM read_parquet([{lst}], union_by_name=true)")
    return con


def _block(info: dict, name: str) -> dict | None:
    for b in (info.get("pipeline") or {}).get("blocks") or []:
        if isinstance(b, dict) and name in b:
            return b[name] or {}
    return None


def _signal(reason: str) -> str:
    sub = reason.split(".", 1)[1] if "." in reason else reason
    return "robots" if sub in ROBOTS_REASONS else sub.replace("_", "-")


def _agents(cfg: dict) -> list[str]:
    agents = cfg.get("agents") or "apertus"
    if isinstance(agents, list):
        return agents
    try:
        from curate.robots.agents import load_agents

        return load_agents(agents)
    except (OSError, ValueError):
        return [f"{agents} (list not readable here)"]


def _erasures(runs) -> dict:
    requests = docs = 0
    for r, _ in runs:
        log = r / "erasure" / "log.jsonl"
        if not log.exists():
            continue
        for line in log.read_text(encoding="utf-8").splitlines():
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if isinstance(e, dict) and e.get("status") == "done":
                requests += 1
                docs += len(e.get("doc_ids") or [])
    return {"log_present": any((r / "erasure" / "log.jsonl").exists() for r, _ in runs),
            "requests": requests, "documents_in_log": docs}


def size_bin(tokens: int) -> str:
    if tokens < 1_000_000_000:
        return "Less than 1 billion tokens"
    if tokens <= 10_000_000_000_000:
        return "1 billion to 10 trillion tokens"
    return "More than 10 trillion tokens"


def figures(runs, con, sme: bool = False, csv_path: Path | None = None) -> dict:
    q = lambda sql: con.execute(sql).fetchall()  # noqa: E731
    docs = dict(q("SELECT status, count(*) FROM manifest GROUP BY 1"))
    read = sum(docs.values())
    (tokens, chars_read) = q("SELECT coalesce(sum(n_tokens) FILTER (WHERE status = 'kept'), 0)::BIGINT, "
                             "coalesce(sum(n_chars), 0)::BIGINT FROM manifest")[0]
    share = lambda a, b: (a / b) if b else 0.0  # noqa: E731
    langs = [{"language": l or "unknown", "tokens": int(t), "share": share(int(t), tokens)} for l, t in q(
        "SELECT language, sum(n_tokens)::BIGINT AS t FROM manifest WHERE status = 'kept' GROUP BY 1 ORDER BY t DESC, 1")]
    dumps = [{"dump": d, "documents": int(n), "tokens": int(t)} for d, n, t in q(
        "SELECT dump, count(*), coalesce(sum(n_tokens), 0)::BIGINT FROM manifest WHERE status = 'kept' "
        "GROUP BY 1 ORDER BY 1 NULLS LAST")]
    first, last = q("SELECT min(left(date, 10)), max(left(date, 10)) FROM manifest WHERE status = 'kept' "
                    "AND regexp_matches(date, '^\\d{4}-\\d{2}-\\d{2}')")[0]
    latest = f"{last[5:7]}/{last[:4]}" if last else None

    # domains: hosts of kept documents by tokens
    (n_domains,) = q("SELECT count(DISTINCT host) FROM manifest WHERE status = 'kept' AND host IS NOT NULL")[0]
    top10 = math.ceil(0.10 * n_domains) if n_domains else 0
    top_sme = min(math.ceil(0.05 * n_domains), 1000) if n_domains else 0
    k = top_sme if sme else top10
    dom_sql = (f"SELECT host AS domain, sum(n_tokens)::BIGINT AS tokens, count(*) AS documents FROM manifest "
               f"WHERE status = 'kept' AND host IS NOT NULL GROUP BY 1 ORDER BY tokens DESC, domain LIMIT {k}")
    csv_file = None
    if k > INLINE_DOMAINS and csv_path is not None:
        rows = q(f"SELECT * FROM ({dom_sql}) LIMIT {SHOWN_WITH_CSV}")
        with open(csv_path, "w", newline="", encoding="utf-8") as f:  # streamed: the list can be long
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["rank", "domain", "tokens", "share_of_tokens", "documents"])
            cur = con.execute(dom_sql)
            rank = 0
            while batch := cur.fetchmany(10000):
                for d, t, n in batch:
                    rank += 1
                    w.writerow([rank, d, t, f"{share(int(t), tokens):.6f}", n])
        csv_file = str(csv_path)
    else:
        rows = q(dom_sql)
    domains = {"total": int(n_domains), "top_10_percent": top10, "sme_option": top_sme, "listed": k,
               "rule": "SME: top 5% or 1,000, whichever is lower" if sme else "top 10% of all domains by tokens",
               "rows": [{"domain": d, "tokens": int(t), "share": share(int(t), tokens), "documents": int(n)}
                        for d, t, n in rows],
               "csv": csv_file}

    # opt-outs
    reasons = [{"reason": r, "signal": _signal(r), "documents": int(n), "characters": int(c),
                "tokens": None if t is None else int(t)} for r, n, c, t in q(
        "SELECT reason, count(*), coalesce(sum(n_chars), 0)::BIGINT, sum(n_tokens)::BIGINT FROM manifest "
        "WHERE status = 'dropped' AND reason LIKE 'optout.%' GROUP BY 1 ORDER BY 1")]
    opt_docs = sum(r["documents"] for r in reasons)
    opt_chars = sum(r["characters"] for r in reasons)
    fetched = q("SELECT min(json_extract_string(detail, '$.optout.snapshot.fetched_at')), "
                "max(json_extract_string(detail, '$.optout.snapshot.fetched_at')) FROM manifest")[0]
    configs = []
    for r, info in runs:
        cfg = _block(info, "optout")
        if cfg is None:
            configs.append({"run_id": info.get("run_id"), "optout": False})
            continue
        configs.append({"run_id": info.get("run_id"), "optout": True,
                        "signals": cfg.get("signals") or ["robots"],  # runs before `signals` honoured robots.txt only
                        "policy": cfg.get("policy"), "granularity": cfg.get("granularity"), "agents": _agents(cfg)})
    optout = {"runs": configs, "reasons": reasons, "documents": opt_docs, "characters": opt_chars,
              "share_of_documents": share(opt_docs, read), "share_of_characters": share(opt_chars, chars_read),
              "tokens_recorded": any(r["tokens"] is not None for r in reasons),
              "robots_snapshots_fetched": {"first": fetched[0], "last": fetched[1]}}

    # other removals, PII redactions
    removed = [{"stage": s, "reason": r, "documents": int(n), "characters": int(c)} for s, r, n, c in q(
        "SELECT stage, reason, count(*), coalesce(sum(n_chars), 0)::BIGINT FROM manifest "
        "WHERE status IN ('dropped', 'quarantined') AND coalesce(stage, '') <> 'optout' GROUP BY 1, 2 ORDER BY 1, 2")]
    pii = {k2: int(v) for k2, v in q(
        "SELECT key, sum(value::BIGINT)::BIGINT FROM manifest, json_each(json_extract(detail, '$.pii.counts')) "
        "WHERE status = 'kept' GROUP BY 1 ORDER BY 1")}
    (pii_docs,) = q("SELECT count(*) FROM manifest WHERE status = 'kept' "
                    "AND coalesce(json_extract(detail, '$.pii.redacted')::BIGINT, 0) > 0")[0]
    tox = [{"scorer": s, "rule": r, "documents_scored": int(n)} for s, r, n in q(
        "SELECT json_extract_string(detail, '$.toxicity.scorer') s, json_extract_string(detail, '$.toxicity.rule') r, "
        "count(*) FROM manifest WHERE s IS NOT NULL GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2")]
    (erased_rows,) = q("SELECT count(*) FROM manifest WHERE stage = 'erasure'")[0]
    measures = []
    for _, info in runs:
        m = {"run_id": info.get("run_id")}
        for name in ("toxicity", "license", "pii", "language"):
            cfg = _block(info, name)
            if cfg is not None:
                m[name] = cfg
        measures.append(m)
    return {
        "documents": {"read": read, "kept": docs.get("kept", 0), "dropped": docs.get("dropped", 0),
                      "quarantined": docs.get("quarantined", 0)},
        "tokens": int(tokens), "characters_read": int(chars_read), "size_bin": size_bin(int(tokens)),
        "languages": langs, "dumps": dumps,
        "crawl_period": {"first_date": first, "last_date": last, "dumps": [d["dump"] for d in dumps if d["dump"]]},
        "latest_collection": latest,
        "domains": domains, "optout": optout,
        "removals": removed, "pii_redactions": pii, "pii_documents_redacted": int(pii_docs), "toxicity": tox,
        "erasure": {**_erasures(runs), "manifest_rows": int(erased_rows)},
        "measures": measures,
        "inputs": [{"run_id": info.get("run_id"), "files": len(info.get("inputs") or []),
                    "documents": sum(int(i.get("documents") or 0) for i in info.get("inputs") or [])}
                   for _, info in runs],
    }


# -- the summary -----------------------------------------------------------------------------------------

def build(run_paths: list[str], info: dict, csv_path: Path | None = None, today: dt.date | None = None) -> dict:
    runs = _runs(run_paths)
    con = _connect(runs)
    fig = figures(runs, con, sme=bool(info.get("sme")), csv_path=csv_path)
    con.close()
    if today is None:  # SOURCE_DATE_EPOCH (as for reproducible builds) pins the "last update" date
        epoch = os.environ.get("SOURCE_DATE_EPOCH")
        now = dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc) if epoch and epoch.isdigit() else \
            dt.datetime.now(dt.timezone.utc)
        today = now.date()
    user = {k: info.get(k) for k in INFO_KEYS if info.get(k) not in (None, "", [])}
    return {
        "template": TEMPLATE,
        "version": str(info.get("version") or 1),
        "version_given_by_user": "version" in user,
        "last_update": today.strftime("%d/%m/%Y"),
        "generated_by": f"curate {__version__}",
        "runs": [{"run_id": i.get("run_id"), "path": str(r), "finished_at": i.get("finished_at")} for r, i in runs],
        "user": user,
        "figures": fig,
    }


def _user(data: dict, key: str) -> str:
    v = data["user"].get(key)
    if v is None:
        return NOT_PROVIDED
    if isinstance(v, list):
        v = ", ".join(map(str, v))
    elif isinstance(v, bool):
        v = "yes" if v else "no"
    return f"{v} {GIVEN}"


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def _table(header: list[str], rows: list[list]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return out


def render_md(data: dict) -> str:
    f = data["figures"]
    d, o, dom = f["documents"], f["optout"], f["domains"]
    cc = [x for x in f["crawl_period"]["dumps"] if str(x).startswith("CC-MAIN-")]
    L = ["# Public summary of training content", "",
         f"Following the {data['template']}.", "",
         f"- **Version of the summary:** {data['version']}" + (f" {GIVEN}" if data["version_given_by_user"] else ""),
         f"- **Last update:** {data['last_update']}",
         f"- Figures computed by {data['generated_by']} from the manifests of run(s) "
         + ", ".join(f"`{r['run_id']}`" for r in data["runs"]) + f": {d['read']:,} documents read, "
         f"{d['kept']:,} kept. Fields marked {GIVEN} were supplied by the provider; \"{NOT_PROVIDED}\" marks "
         "fields curate cannot know that were not supplied.", ""]

    L += ["## 1. General information", "", "### 1.1 Provider identification", "",
          f"- Provider name: {_user(data, 'provider')}", f"- Contact: {_user(data, 'contact')}",
          f"- Authorised representative (providers outside the EU): {_user(data, 'representative')}", "",
          "### 1.2 Model identification", "",
          f"- Versioned model name(s): {_user(data, 'models')}", f"- Model dependencies: {_user(data, 'dependencies')}",
          f"- Date of placement on the Union market: {_user(data, 'market_date')}", "",
          "### 1.3 Modalities, overall training data size and other characteristics", "",
          "- Modality: text",
          f"- Training data size (text): **{f['size_bin']}** ({f['tokens']:,} tokens written to the training shards, "
          f"{d['kept']:,} documents)",
          "- Types of content: " + (_user(data, "content_types") if "content_types" in data["user"] else
                                     "text documents (web pages) read from the runs' inputs"),
          f"- Latest date of data collection: **{f['latest_collection'] or NOT_PROVIDED}**",
          f"- Continuous training (data collection ongoing): {_user(data, 'continuous_training')}",
          "- Linguistic characteristics (share of tokens): "
          + (", ".join(f"{x['language']} {_pct(x['share'])}" for x in f["languages"]) or "no kept text"),
          f"- Other characteristics: {_user(data, 'other_characteristics')}", ""]
    L += _table(["language", "tokens", "share of tokens"],
                [[x["language"], f"{x['tokens']:,}", _pct(x["share"])] for x in f["languages"]]) + [""]

    L += ["## 2. List of data sources", "", "### 2.1 Publicly available datasets", ""]
    inputs = sum(i["files"] for i in f["inputs"])
    L += [f"- Input read by curate: {inputs:,} file(s), {d['read']:,} documents"
          + (f"; the dumps are Common Crawl crawls ({len(cc)}: {cc[0]} to {cc[-1]})" if cc else ""),
          f"- Datasets named by the provider: {_user(data, 'public_datasets')}", ""]
    L += _table(["dump", "documents kept", "tokens"], [[x["dump"] or "unknown", f"{x['documents']:,}", f"{x['tokens']:,}"]
                                                       for x in f["dumps"]]) + [""]
    L += ["### 2.2 Private non-publicly available datasets obtained from third parties", "",
          f"- 2.2.1 Datasets commercially licensed by rightsholders or their representatives: {_user(data, 'licensed_datasets')}",
          f"- 2.2.2 Private datasets obtained from other third parties: {_user(data, 'private_datasets')}", "",
          "### 2.3 Data crawled and scraped from online sources", "",
          f"- Crawler name(s): {_user(data, 'crawlers')}" + (" (the documents come from Common Crawl, crawler CCBot)" if cc else ""),
          f"- Purposes of the crawler(s): {_user(data, 'crawler_purposes')}",
          f"- Crawler behaviour: {_user(data, 'crawler_behaviour')}; reservations applied to the crawled data by curate: "
          "see 3.1",
          f"- Period of data collection: {f['crawl_period']['first_date'] or NOT_PROVIDED} to "
          f"{f['crawl_period']['last_date'] or NOT_PROVIDED} ({len(f['crawl_period']['dumps'])} dump(s))",
          f"- Content: text of {d['kept']:,} web pages from {dom['total']:,} domains (host names)",
          f"- Most relevant domain names: the {dom['rule']}: **{dom['listed']:,} of {dom['total']:,} domains** "
          f"(top 10%: {dom['top_10_percent']:,}; the SME option, top 5% or 1,000 whichever is lower: "
          f"{dom['sme_option']:,}); domains are the documents' host names, ranked by tokens kept.", ""]
    if dom["csv"]:
        L += [f"The full list is in `{os.path.basename(dom['csv'])}` (beside this file); the first "
              f"{len(dom['rows'])} are:", ""]
    L += _table(["rank", "domain", "tokens", "share of tokens", "documents"],
                [[i + 1, x["domain"], f"{x['tokens']:,}", _pct(x["share"]), f"{x['documents']:,}"]
                 for i, x in enumerate(dom["rows"])]) + [""]
    L += ["### 2.4 User data", "", f"- {_user(data, 'user_data')}", "",
          "### 2.5 Synthetic data", "", f"- {_user(data, 'synthetic_data')}", "",
          "### 2.6 Other sources of data", "", f"- {_user(data, 'other_sources')}", ""]

    L += ["## 3. Data processing aspects", "",
          "### 3.1 Respect of reservation of rights from the text and data mining exception or limitation", ""]
    for c in o["runs"]:
        if not c["optout"]:
            L += [f"- Run `{c['run_id']}`: no opt-out block; no reservation of rights was applied by curate", ""]
            continue
        L += [f"- Run `{c['run_id']}`: signals honoured: "
              + ", ".join(SIGNAL_NAMES.get(s, s) for s in c["signals"]),
              f"  - Policy: {POLICIES.get(c['policy'], c['policy'])}; granularity: {c['granularity']}",
              f"  - User agents whose reservations are honoured ({len(c['agents'])}): " + ", ".join(c["agents"])]
    L += ["- When: applied by curate after collection, to every document of the crawl(s) in 2.3, before "
          "tokenization; a removed document has no token in the training shards"]
    snap = o["robots_snapshots_fetched"]
    if snap["first"]:
        L += [f"- robots.txt snapshots used were fetched between {snap['first']} and {snap['last']}"]
    L += [f"- Removed for a reservation of rights: **{o['documents']:,} documents ({_pct(o['share_of_documents'])} of "
          f"documents read)**, {o['characters']:,} characters ({_pct(o['share_of_characters'])} of characters read)"
          + ("" if o["tokens_recorded"] else "; tokens are not recorded for removed documents (they were never "
             "tokenized), so documents and characters are given"),
          f"- Other measures: {_user(data, 'optout_other')}", ""]
    L += _table(["signal", "reason", "documents", "characters", "tokens"],
                [[x["signal"], f"`{x['reason']}`", f"{x['documents']:,}", f"{x['characters']:,}",
                  "not recorded" if x["tokens"] is None else f"{x['tokens']:,}"] for x in o["reasons"]]) + [""]
    L += ["### 3.2 Removal of illegal content", ""]
    for m in f["measures"]:
        parts = []
        if "toxicity" in m:
            t = m["toxicity"]
            parts.append("toxicity: model-based classifier" + (f" with threshold {t['threshold']}" if t.get("threshold")
                         is not None else f", the most toxic {100 * t.get('top_p', 0):g}% removed (thresholds "
                         "calibrated on the run; rule below)"))
        if "license" in m:
            lic = m["license"]
            parts.append("license: web pages under " + ", ".join(lic.get("web_drop") or []) + " licenses removed, code "
                         "kept only under " + ", ".join(lic.get("code_keep") or []) + " licenses")
        if "pii" in m:
            parts.append("personal data: " + ", ".join(m["pii"].get("types") or []) + " replaced by placeholder tokens")
        L += [f"- Run `{m['run_id']}`: " + ("; ".join(parts) if parts else "no filtering blocks")]
    for t in f["toxicity"]:
        L += [f"- Toxicity scorer `{t['scorer']}`, rule: {t['rule']} ({t['documents_scored']:,} documents scored)"]
    L += [f"- Personal data redacted in {f['pii_documents_redacted']:,} kept documents: "
          + (", ".join(f"{k} {v:,}" for k, v in f["pii_redactions"].items()) or "none found")]
    e = f["erasure"]
    if e["log_present"] or e["manifest_rows"]:
        L += [f"- Erasure requests honoured after the run: {e['requests']:,} request(s), {e['manifest_rows']:,} "
              "document(s) removed from the training shards"]
    L += [f"- Other measures: {_user(data, 'illegal_content_other')}", ""]
    L += _table(["stage", "reason", "documents", "characters"],
                [[x["stage"] or "-", f"`{x['reason']}`", f"{x['documents']:,}", f"{x['characters']:,}"]
                 for x in f["removals"]]) + [""]
    if f["pii_redactions"]:
        L += _table(["PII type", "redactions"], [[k, f"{v:,}"] for k, v in f["pii_redactions"].items()]) + [""]
    L += ["### 3.3 Other information", "", f"- {_user(data, 'other_information')}",
          f"- Every document read has a manifest row with its decision and evidence; "
          f"{d['dropped']:,} dropped and {d['quarantined']:,} quarantined documents in total.", ""]
    return "\n".join(L)


def write_eu_summary(run_paths: list[str], out_file: str, info: dict, fmt: str = "md") -> list[str]:
    out = Path(out_file)
    out.parent.mkdir(parents=True, exist_ok=True)
    csv_path = out.with_name(out.stem + ".domains.csv")
    data = build(run_paths, info, csv_path=csv_path)
    text = json.dumps(data, indent=1, ensure_ascii=False) + "\n" if fmt == "json" else render_md(data)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, out)
    written = [str(out)]
    if data["figures"]["domains"]["csv"]:
        written.append(data["figures"]["domains"]["csv"])
    elif csv_path.exists():  # a list that was long before and is short now
        csv_path.unlink()
    return written

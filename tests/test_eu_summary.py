"""`curate report eu-summary`: the Commission's template in order, with figures that agree with `curate query`
on the same run (the expected values come from DuckDB through the CLI, not from the report's code)."""
import json
import math
import re

import pytest

from conftest import run_cli, run_small

HEADINGS = [
    "## 1. General information",
    "### 1.1 Provider identification",
    "### 1.2 Model identification",
    "### 1.3 Modalities, overall training data size and other characteristics",
    "## 2. List of data sources",
    "### 2.1 Publicly available datasets",
    "### 2.2 Private non-publicly available datasets obtained from third parties",
    "### 2.3 Data crawled and scraped from online sources",
    "### 2.4 User data",
    "### 2.5 Synthetic data",
    "### 2.6 Other sources of data",
    "## 3. Data processing aspects",
    "### 3.1 Respect of reservation of rights from the text and data mining exception or limitation",
    "### 3.2 Removal of illegal content",
    "### 3.3 Other information",
]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("eu") / "demo"
    run_cli("demo", "--out", out, "--docs", "300", "--no-progress")
    return out


def query(run, sql):
    proc = run_cli("query", sql, "--manifests", run, "--format", "json")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def one(run, sql):
    (row,) = query(run, sql)
    (v,) = row.values()
    return v


@pytest.fixture(scope="module")
def summary(demo, tmp_path_factory):
    d = tmp_path_factory.mktemp("eu-out")
    md, js = d / "summary.md", d / "summary.json"
    run_cli("report", "eu-summary", "--run", demo, "--out", md, "--provider", "Example AG", "--model", "Demo-1B-v1")
    run_cli("report", "eu-summary", "--run", demo, "--out", js, "--format", "json", "--provider", "Example AG")
    return md.read_text(), json.loads(js.read_text())


def pct(x):
    return f"{100 * x:.2f}%"


def test_template_header_and_headings_in_order(summary):
    md, _ = summary
    assert "**Version of the summary:** 1" in md and re.search(r"\*\*Last update:\*\* \d\d/\d\d/\d{4}", md)
    pos = [md.find("\n" + h + "\n") for h in HEADINGS]
    assert all(p >= 0 for p in pos), [h for h, p in zip(HEADINGS, pos) if p < 0]
    assert pos == sorted(pos)
    assert "Provider name: Example AG (given by the user)" in md
    assert "Versioned model name(s): Demo-1B-v1 (given by the user)" in md
    assert "Contact: not provided" in md and "Date of placement on the Union market: not provided" in md
    for sec in ("### 2.4 User data\n\n- not provided", "### 2.5 Synthetic data\n\n- not provided"):
        assert sec in md


def test_size_languages_and_dates_agree_with_query(demo, summary):
    md, js = summary
    f = js["figures"]
    tokens = one(demo, "SELECT sum(n_tokens) AS t FROM manifest WHERE status = 'kept'")
    assert f["tokens"] == tokens and f["size_bin"] == "Less than 1 billion tokens"
    assert f"**Less than 1 billion tokens** ({tokens:,} tokens" in md and "- Modality: text" in md
    langs = query(demo, "SELECT language, sum(n_tokens) AS t FROM manifest WHERE status = 'kept' "
                        "GROUP BY 1 ORDER BY t DESC, 1")
    assert [(x["language"], x["tokens"]) for x in f["languages"]] == [(r["language"], r["t"]) for r in langs]
    for r in langs:
        assert f"| {r['language']} | {r['t']:,} | {pct(r['t'] / tokens)} |" in md
    last = one(demo, "SELECT max(left(date, 10)) AS d FROM manifest WHERE status = 'kept'")
    first = one(demo, "SELECT min(left(date, 10)) AS d FROM manifest WHERE status = 'kept'")
    assert f["latest_collection"] == f"{last[5:7]}/{last[:4]}" and f"**{last[5:7]}/{last[:4]}**" in md
    assert f"Period of data collection: {first} to {last}" in md
    dumps = [r["dump"] for r in query(demo, "SELECT DISTINCT dump FROM manifest WHERE status = 'kept' ORDER BY 1")]
    assert f["crawl_period"]["dumps"] == dumps


def test_top_domains_agree_with_query(demo, summary):
    md, js = summary
    dom = js["figures"]["domains"]
    n = one(demo, "SELECT count(DISTINCT host) AS n FROM manifest WHERE status = 'kept'")
    k = math.ceil(n / 10)
    rows = query(demo, f"SELECT host, sum(n_tokens) AS t FROM manifest WHERE status = 'kept' GROUP BY 1 "
                       f"ORDER BY t DESC, host LIMIT {k}")
    assert dom["total"] == n and dom["listed"] == k and dom["sme_option"] == min(math.ceil(n * 0.05), 1000)
    assert [(x["domain"], x["tokens"]) for x in dom["rows"]] == [(r["host"], r["t"]) for r in rows]
    assert f"| 1 | {rows[0]['host']} | {rows[0]['t']:,} |" in md  # the top domain, inline (short list)
    assert dom["csv"] is None and "top 5% or 1,000" in md


def signal_of(reason: str) -> str:
    """The signal an optout reason belongs to: its own name, or robots.txt for the robots.txt reasons
    (optout.robots and the status ones: optout.server_error, optout.unreachable...)."""
    sig = reason.removeprefix("optout.").replace("_", "-")
    return sig if sig in ("tdmrep", "noai", "aipref", "content-signal") else "robots"


def test_optout_section_agrees_with_query(demo, summary):
    md, js = summary
    o = js["figures"]["optout"]
    read = one(demo, "SELECT count(*) AS n FROM manifest")
    by_reason = query(demo, "SELECT reason, count(*) AS n, sum(n_chars) AS c FROM manifest "
                            "WHERE status = 'dropped' AND reason LIKE 'optout.%' GROUP BY 1 ORDER BY 1")
    removed = sum(r["n"] for r in by_reason)
    assert o["documents"] == removed and o["share_of_documents"] == pytest.approx(removed / read)
    assert f"**{removed:,} documents ({pct(removed / read)} of documents read)**" in md
    for r in by_reason:
        assert f"| {signal_of(r['reason'])} | `{r['reason']}` | {r['n']:,} | {r['c']:,} | not recorded |" in md
    assert "signals honoured: robots.txt (RFC 9309)" in md and "Policy: retroactive" in md
    assert "GPTBot" in md and "CCBot" in md
    sec31 = md[md.index("### 3.1"):md.index("### 3.2")]
    assert "tokens are not recorded for removed documents" in sec31


def test_removal_measures_and_pii_agree_with_query(demo, summary):
    md, js = summary
    f = js["figures"]
    sec32 = md[md.index("### 3.2"):md.index("### 3.3")]
    for r in query(demo, "SELECT stage, reason, count(*) AS n FROM manifest WHERE status = 'dropped' "
                         "AND stage <> 'optout' GROUP BY 1, 2 ORDER BY 1, 2"):
        assert f"| {r['stage']} | `{r['reason']}` | {r['n']:,} |" in sec32
    pii = query(demo, "SELECT key, sum(value::BIGINT) AS n FROM manifest, "
                      "json_each(json_extract(detail, '$.pii.counts')) WHERE status = 'kept' GROUP BY 1 ORDER BY 1")
    assert f["pii_redactions"] == {r["key"]: r["n"] for r in pii} and pii
    for r in pii:
        assert f"| {r['key']} | {r['n']:,} |" in sec32
    assert "Erasure" not in sec32  # no erasure log in this run


def test_json_has_the_same_numbers_as_markdown(summary):
    md, js = summary
    f = js["figures"]
    assert js["version"] == "1" and re.fullmatch(r"\d\d/\d\d/\d{4}", js["last_update"])
    assert f"{f['documents']['read']:,} documents read, {f['documents']['kept']:,} kept" in md
    assert f"{f['tokens']:,} tokens" in md and f["latest_collection"] in md
    assert f"**{f['optout']['documents']:,} documents ({pct(f['optout']['share_of_documents'])}" in md
    assert js["user"] == {"provider": "Example AG"}


def test_info_yaml_sme_and_several_runs(demo, tmp_path):
    other, _, _ = run_small(tmp_path, [{"id": f"d{i}", "url": f"https://h{i % 3}.example/p{i}", "text": f"hello {i} " * 20}
                                       for i in range(12)], "  - tokenize: {}\n")
    info = tmp_path / "info.yaml"
    info.write_text("provider: Example AG\ncontact: ai@example.org\nmodels: [Demo-1B-v1, Demo-1B-v2]\n"
                    "market_date: 01/2027\nversion: 2\nsme: true\nsynthetic_data: none used\n")
    md = tmp_path / "all.md"
    run_cli("report", "eu-summary", "--run", demo, "--run", other, "--info", info, "--out", md)
    text = md.read_text()
    tokens = one(demo, "SELECT sum(n_tokens) AS t FROM manifest WHERE status = 'kept'") + \
        one(other, "SELECT sum(n_tokens) AS t FROM manifest WHERE status = 'kept'")
    assert f"({tokens:,} tokens written" in text
    assert "**Version of the summary:** 2 (given by the user)" in text
    assert "Versioned model name(s): Demo-1B-v1, Demo-1B-v2 (given by the user)" in text
    assert "### 2.5 Synthetic data\n\n- none used (given by the user)" in text
    n = one(demo, "SELECT count(DISTINCT host) AS n FROM manifest WHERE status = 'kept'") + 3
    assert f"SME: top 5% or 1,000, whichever is lower: **{min(math.ceil(n * 0.05), 1000):,} of {n:,} domains**" in text
    assert "no opt-out block" in text  # the second run has none, and the summary says so
    bad = tmp_path / "bad.yaml"
    bad.write_text("providr: x\n")
    proc = run_cli("report", "eu-summary", "--run", demo, "--info", bad, "--out", tmp_path / "x.md", check=False)
    assert proc.returncode == 2 and "unknown key 'providr'" in proc.stderr and str(bad) in proc.stderr


def test_long_domain_list_goes_to_csv_and_erasures_are_reported(demo, tmp_path, monkeypatch):
    import shutil

    from curate import report

    run = tmp_path / "run"
    shutil.copytree(demo, run, symlinks=True)
    (run / "erasure").mkdir()
    (run / "erasure" / "log.jsonl").write_text(json.dumps(
        {"request_id": "r1", "time": "2026-12-01T12:00:00Z", "reason": "test", "selector": {}, "doc_ids": ["x"],
         "text_sha256": [], "status": "done"}) + "\n")
    monkeypatch.setattr(report, "INLINE_DOMAINS", 2)
    out = tmp_path / "s.md"
    written = report.write_eu_summary([str(run)], str(out), {})
    csv_file = tmp_path / "s.domains.csv"
    assert written == [str(out), str(csv_file)]
    lines = csv_file.read_text().splitlines()
    n = one(demo, "SELECT count(DISTINCT host) AS n FROM manifest WHERE status = 'kept'")
    assert lines[0] == "rank,domain,tokens,share_of_tokens,documents" and len(lines) == 1 + math.ceil(n / 10)
    text = out.read_text()
    assert "s.domains.csv" in text and "Erasure requests honoured after the run: 1 request(s)" in text


def test_not_a_run_is_one_line_error(tmp_path):
    proc = run_cli("report", "eu-summary", "--run", tmp_path, "--out", tmp_path / "x.md", check=False)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "not a curate run" in proc.stderr


def test_new_optout_reasons_and_signals_appear_without_code_changes(demo, tmp_path):
    """Reasons are grouped by their `optout.` prefix: a run whose manifest has optout.tdmrep and
    optout.content_signal rows (hand-edited here) and whose config honours those signals lists them."""
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq

    run = tmp_path / "run"
    shutil.copytree(demo, run, symlinks=True)
    m = sorted((run / "manifests").glob("*.parquet"))[0]
    rows = pq.read_table(m).to_pylist()
    robots = [i for i, r in enumerate(rows) if r["reason"] == "optout.robots"]
    rows[robots[0]]["reason"], rows[robots[1]]["reason"] = "optout.tdmrep", "optout.content_signal"
    pq.write_table(pa.Table.from_pylist(rows, schema=pq.read_schema(m)), m)
    info = json.loads((run / "run.json").read_text())
    for b in info["pipeline"]["blocks"]:
        if "optout" in b:
            b["optout"]["signals"] = ["robots", "tdmrep", "content-signal"]
    (run / "run.json").write_text(json.dumps(info))
    out = tmp_path / "s.md"
    run_cli("report", "eu-summary", "--run", run, "--out", out)
    text = out.read_text()
    assert "signals honoured: robots.txt (RFC 9309), TDMRep (W3C TDM Reservation Protocol), Content Signals" in text
    for r in query(run, "SELECT reason, count(*) AS n FROM manifest WHERE reason LIKE 'optout.%' GROUP BY 1"):
        assert f"| {signal_of(r['reason'])} | `{r['reason']}` | {r['n']:,} |" in text

"""The foundation's promises, on the bundled demo: accounting, shards Megatron reads, determinism, why."""
import hashlib
import json
import re

import numpy as np
import pyarrow.parquet as pq

from conftest import REPO, run_cli
from curate.manifest import COLUMNS, connect
from curate.tokenizer import get_tokenizer


def _manifest(run):
    return connect(run)


def _input_documents(run) -> list[str]:
    """Ids of the documents in the demo's input files, read independently of curate's readers."""
    ids = []
    for p in sorted((run / "input").iterdir()):
        if p.suffix == ".parquet":
            ids += pq.read_table(p, columns=["id"]).column("id").to_pylist()
        elif p.suffix == ".jsonl":
            ids += [json.loads(line)["id"] for line in p.read_text().splitlines() if line.strip()]
    return ids


def test_demo_leaves_outputs_and_summary(demo_run):
    assert (demo_run / "run.json").is_file()
    assert list((demo_run / "manifests").glob("*.parquet"))
    assert list((demo_run / "shards").glob("*.bin")) and list((demo_run / "shards").glob("*.idx"))
    out = (demo_run / "demo.stdout.txt").read_text()
    assert "documents read" in out and "optout.robots" in out and "tokens" in out
    info = json.loads((demo_run / "run.json").read_text())
    assert info["totals"]["documents"] == 6000
    for rel, digest in info["outputs"].items():
        assert hashlib.sha256((demo_run / rel).read_bytes()).hexdigest() == digest, rel
    assert len(info["inputs"]) == 12 and all(len(i["sha256"]) == 64 for i in info["inputs"])
    assert info["versions"]["datatrove"] and info["pipeline"]["name"] == "demo"
    assert not list(demo_run.rglob("*.tmp")), "temporary files left behind"


def test_one_manifest_row_per_document(demo_run):
    con = _manifest(demo_run)
    ids = _input_documents(demo_run)
    n, distinct = con.execute("SELECT count(*), count(DISTINCT doc_id) FROM manifest").fetchone()
    assert n == distinct == len(ids) == len(set(ids)) >= 5000
    assert set(r[0] for r in con.execute("SELECT doc_id FROM manifest").fetchall()) == set(ids)
    cols = [d[0] for d in con.execute("SELECT * FROM manifest LIMIT 0").description]
    assert cols == COLUMNS
    bad = con.execute("SELECT count(*) FROM manifest WHERE status <> 'kept' AND (stage IS NULL OR reason IS NULL)").fetchone()[0]
    assert bad == 0
    stages = {r[0] for r in con.execute("SELECT DISTINCT stage FROM manifest WHERE status = 'dropped'").fetchall()}
    assert {"optout", "toxicity", "license"} <= stages


def test_kept_documents_record_pii_redactions_by_type(demo_run):
    con = _manifest(demo_run)
    rows = con.execute("SELECT detail FROM manifest WHERE status = 'kept'").fetchall()
    counts = {}
    for (d,) in rows:
        for t, c in json.loads(d)["pii"].get("counts", {}).items():
            counts[t] = counts.get(t, 0) + c
    assert {"EMAIL_ADDRESS", "IP_ADDRESS", "IBAN_CODE", "PHONE_NUMBER", "CREDIT_CARD"} <= set(counts), counts
    # the planted values never reach the shards: no e-mail address survives in kept text
    tok = get_tokenizer()
    from curate.megatron import IndexedReader

    for bin_path in sorted((demo_run / "shards").glob("*.bin")):
        r = IndexedReader(bin_path)
        text = "".join(tok.decode(r[i]) for i in range(len(r)))
        assert not re.search(r"[\w.]+@(gmail\.com|bluewin\.ch|gmx\.de|orange\.fr|libero\.it)", text)


def test_megatron_reads_every_shard_and_text_round_trips(demo_run):
    from megatron.core.datasets.indexed_dataset import IndexedDataset

    con = _manifest(demo_run)
    tok = get_tokenizer()
    kept = con.execute("SELECT count(*), sum(n_tokens) FROM manifest WHERE status = 'kept'").fetchone()
    n_seq = n_tok = 0
    for idx in sorted((demo_run / "shards").glob("*.idx")):
        prefix = str(idx)[:-4]
        ds = IndexedDataset(prefix)
        side = pq.read_table(prefix + ".parquet").to_pylist()
        assert len(ds) == len(side)
        expected = dict(con.execute(
            "SELECT doc_id, text_sha256 FROM manifest WHERE shard = ?", [f"shards/{idx.stem}"]).fetchall())
        assert len(expected) == len(ds)
        for i, row in enumerate(side):
            seq = np.asarray(ds[i])
            assert row["seq_index"] == i and seq[0] == 1 and seq[-1] == 2
            text = tok.decode(seq)
            assert hashlib.sha256(text.encode()).hexdigest() == expected[row["doc_id"]]
            n_tok += len(seq)
        n_seq += len(ds)
    assert (n_seq, n_tok) == (kept[0], kept[1])


def _outputs(run):
    files = sorted(p for p in (run / "manifests").rglob("*") if p.is_file())
    files += sorted(p for p in (run / "shards").rglob("*") if p.is_file())
    return {str(p.relative_to(run)): p.read_bytes() for p in files}


def test_same_input_other_task_count_gives_identical_bytes(demo_run, tmp_path):
    out = tmp_path / "again"
    run_cli("run", REPO / "pipelines" / "demo.yaml", "--input", demo_run / "input", "--out", out,
            "--robots-cache", REPO / "robots_cache" / "demo", "--tasks", "3", "--workers", "1", "--no-progress")
    a, b = _outputs(demo_run), _outputs(out)
    assert a.keys() == b.keys()
    differing = [k for k in a if a[k] != b[k]]
    assert not differing, differing


def test_why_names_robots_rule_and_line(demo_run):
    con = _manifest(demo_run)
    doc_id, url = con.execute("SELECT doc_id, url FROM manifest WHERE reason = 'optout.robots' "
                              "ORDER BY doc_id LIMIT 1").fetchone()
    for key in (doc_id, url):
        out = run_cli("why", key, "--manifests", demo_run).stdout
        assert "robots.txt" in out and "DROPPED" in out
        m = re.search(r"refuses agent (\S+): group \[User-agent: [^\]]+\] rule '(Disallow: [^']*)' at line (\d+)", out)
        assert m, out
        assert "sha256" in out and "fetched_at" in out


def test_query_runs_sql_over_the_manifest(demo_run):
    out = run_cli("query", "SELECT status, count(*) AS n FROM manifest GROUP BY status ORDER BY status",
                  "--manifests", demo_run, "--format", "csv").stdout.splitlines()
    assert out[0] == "status,n"
    assert sum(int(line.split(",")[1]) for line in out[1:]) == 6000
    bad = run_cli("query", "SELECT nope FROM manifest", "--manifests", demo_run, check=False)
    assert bad.returncode != 0 and "query failed" in bad.stderr


def test_bundled_robots_snapshot_is_what_the_generator_makes():
    from curate.robots.cache import RobotsCache
    from curate.sample import robots_snapshots

    bundled = sorted((s.to_row() for s in RobotsCache(REPO / "robots_cache" / "demo").load()),
                     key=lambda r: (r["host"], r["scheme"], r["fetched_at"]))
    fresh = sorted((s.to_row() for s in robots_snapshots()), key=lambda r: (r["host"], r["scheme"], r["fetched_at"]))
    assert bundled == fresh
    statuses = {r["status"] for r in bundled} | {r["error"] for r in bundled}
    assert {200, 404, 503, "connection_refused"} <= statuses
    hosts = {r["host"] for r in bundled}
    assert len(hosts) >= 40


def test_demo_sample_is_synthetic_and_covers_what_it_promises(demo_run):
    con = _manifest(demo_run)
    hosts, dumps = con.execute("SELECT count(DISTINCT host), count(DISTINCT dump) FROM manifest").fetchone()
    assert hosts >= 40 and dumps == 12
    assert all(h.endswith(".example") for (h,) in con.execute("SELECT DISTINCT host FROM manifest").fetchall())
    years = {d[:4] for (d,) in con.execute("SELECT DISTINCT date FROM manifest").fetchall()}
    assert {str(y) for y in range(2013, 2025)} <= years
    truth = [json.loads(line) for line in (demo_run / "input.truth.jsonl").read_text().splitlines()]
    planted = {p for t in truth for p in t["planted"]}
    assert {"email", "ipv4", "ipv6", "iban", "phone", "card", "toxic", "CC-BY-NC-SA-4.0", "CC-BY-ND-4.0",
            "code:MIT", "code:GPL-3.0-or-later"} <= planted
    # every planted NC/ND notice that got past the opt-out is dropped by the license stage
    by_id = {t["id"]: t["planted"] for t in truth}
    rows = con.execute("SELECT doc_id, stage, reason FROM manifest WHERE status <> 'quarantined'").fetchall()
    for doc_id, stage, reason in rows:
        p = by_id[doc_id]
        if ("CC-BY-NC-SA-4.0" in p or "CC-BY-ND-4.0" in p) and stage not in ("optout", "toxicity"):
            assert stage == "license" and reason in ("license.non_commercial", "license.no_derivatives"), (doc_id, p)
        if "code:GPL-3.0-or-later" in p and stage not in ("optout", "toxicity"):
            assert reason == "license.not_permissive", (doc_id, p)


def test_planted_toxic_passages_are_the_toxicity_drops(demo_run):
    truth = {json.loads(line)["id"]: json.loads(line)["planted"]
             for line in (demo_run / "input.truth.jsonl").read_text().splitlines()}
    con = _manifest(demo_run)
    rows = con.execute("SELECT doc_id, stage, detail FROM manifest WHERE status <> 'quarantined' "
                       "AND coalesce(stage, '') <> 'optout'").fetchall()
    reached = [(d, s, json.loads(x)) for d, s, x in rows]
    dropped = {d for d, s, _ in reached if s == "toxicity"}
    toxic = {d for d, _, _ in reached if "toxic" in truth[d]}
    # ~3% of the documents carry a planted passage and the block drops the top 5% per language: every
    # planted document is dropped, and each one scores above every unplanted document of its language
    assert toxic <= dropped and len(toxic) > 50
    by_lang: dict = {}
    for d, _, x in reached:
        ev = x["toxicity"]
        by_lang.setdefault(ev["language"], ([], []))[d in toxic].append(ev["score"])
    for lang, (clean, planted) in by_lang.items():
        assert not planted or min(planted) > max(clean), lang
    ev = next(x["toxicity"] for d, s, x in reached if s == "toxicity")
    assert ev["score"] > ev["threshold"] and "top" in ev["rule"] and ev["calibration"]["sample_sizes"]
    assert ev["scorer"] == "curate-toxicity-ft/default" and len(ev["model_sha256"]) == 64
    cal = json.loads((demo_run / "calibration" / "toxicity.json").read_text())
    assert cal["top_p"] == 0.05 and set(cal["thresholds"]) >= {"en", "de", "fr", "it"}

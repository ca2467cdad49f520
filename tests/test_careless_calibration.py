"""Toxicity calibration on small or empty samples (issue 13, item 1): the run completes, the fallback is
the documented one (calibration_table) and it is recorded in the manifest and warned about."""
import json

import pyarrow as pa
import pyarrow.parquet as pq

from conftest import REPO, run_cli
from curate.calibrate import in_sample
from curate.manifest import connect
from curate.toxicity.thresholds import NO_THRESHOLD, calibration_table

TOXIC = "You are a stupid idiot. Shut up, moron. You worthless piece of shit."


def test_parquet_without_url_column_completes(tmp_path):
    inp = tmp_path / "nourl.parquet"
    pq.write_table(pa.Table.from_pylist([{"text": f"hello world {i}", "id": f"d{i}"} for i in range(20)]), inp)
    out = tmp_path / "out"
    proc = run_cli("run", REPO / "pipelines" / "demo.yaml", "--input", inp, "--out", out, "--no-progress")
    assert "no threshold" in proc.stderr
    rows = connect(out).execute("SELECT status, reason FROM manifest").fetchall()
    assert rows == [("quarantined", "input.missing_url")] * 20
    cal = json.loads((out / "calibration" / "toxicity.json").read_text())
    assert cal["thresholds"] == {"*": NO_THRESHOLD} and cal["source"] == {"*": "none"}
    assert json.loads((out / "run.json").read_text())["totals"]["documents"] == 20


def test_apertus_on_20_documents_keeps_all_with_the_reason(tmp_path):
    ids = [f"d{i}" for i in range(20)]
    sampled = [d for d in ids if in_sample(d, 0.05)]
    assert len(sampled) == 1  # the 5% sample of 20 documents: one clean document scoring 0.0
    toxic = next(d for d in ids if d not in sampled)
    docs = [{"id": d, "url": f"https://a.example/{d}",
             "text": f"The council met on {d} to discuss cycling lanes. " + (TOXIC if d == toxic else "")} for d in ids]
    inp = tmp_path / "small.jsonl"
    inp.write_text("".join(json.dumps(x) + "\n" for x in docs))
    out = tmp_path / "out"
    proc = run_cli("run", REPO / "pipelines" / "apertus.yaml", "--input", inp, "--out", out,
                   "--robots-cache", REPO / "robots_cache" / "demo", "--no-progress")
    assert "warning: toxicity calibration: 1 sampled document" in proc.stderr
    rows = dict(connect(out).execute("SELECT doc_id, detail FROM manifest WHERE status = 'kept'").fetchall())
    assert toxic in rows  # a threshold of 0.0 calibrated on one document would have dropped it
    ev = json.loads(rows[toxic])["toxicity"]
    assert ev["score"] > 0 and ev["threshold"] == NO_THRESHOLD
    assert ev["calibration"]["note"].startswith("no calibration sample") and ev["calibration"]["source"] == {"*": "none"}


def test_small_languages_use_the_pooled_threshold_with_a_warning():
    scores = {"en": [i / 300 for i in range(300)], "rm": [0.9, 0.95, 0.99]}
    cal = calibration_table(scores, top_p=0.05, min_docs=200)
    assert set(cal["thresholds"]) == {"en", "*"}  # rm is judged by the pooled threshold
    assert cal["source"] == {"en": "own", "rm": "pooled", "*": "pooled"}
    assert len(cal["warnings"]) == 1 and "rm (3)" in cal["warnings"][0]
    pooled = sorted(scores["en"] + scores["rm"])
    assert sum(s > cal["thresholds"]["*"] for s in pooled) == int(0.05 * len(pooled))
    empty = calibration_table({}, top_p=0.05)
    assert empty["thresholds"] == {"*": NO_THRESHOLD} and "no document reached" in empty["note"]

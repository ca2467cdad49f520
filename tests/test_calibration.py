"""Toxicity calibration: thresholds from a deterministic sha256(doc_id) sample, recorded with the sample size."""
import json
import shutil

import pyarrow as pa
import pyarrow.parquet as pq

from conftest import run_cli, run_small
from curate.calibrate import in_sample
from curate.manifest import connect


def test_calibration_scores_exactly_the_sample(tmp_path):
    adjectives = ["stupid", "worthless", "pathetic", "dumb", "useless", "ugly", "lazy", "filthy", "disgusting", "miserable"]
    nouns = ["idiot", "moron", "loser", "jerk", "fool", "clown", "bastard"]

    def text(i):  # every tenth document abusive, each with its own insult, so the top scores do not tie
        k = i // 10
        abuse = f"You {adjectives[k % 10]} {nouns[k % 7]}." if i % 10 == 0 else ""
        return f"Document {i}: the council met to discuss the new cycling lanes. {abuse}"

    docs = [{"text": text(i), "id": f"d{i}", "url": f"https://a.example/{i}"} for i in range(300)]
    out, _, _ = run_small(tmp_path, docs, "  - language: {}\n  - toxicity: {top_p: 0.05, sample_fraction: 0.3}\n"
                                          "  - tokenize: {}\n")
    expected = {d["id"] for d in docs if in_sample(d["id"], 0.3)}
    assert 50 < len(expected) < 130
    scored = set(pq.read_table(next((out / "calibration" / "scores").glob("*.parquet"))).column("doc_id").to_pylist())
    assert scored == expected
    cal = json.loads((out / "calibration" / "toxicity.json").read_text())
    assert sum(cal["sample_sizes"].values()) == len(expected) and cal["sample"]["fraction"] == 0.3
    rows = connect(out).execute("SELECT status, stage, detail FROM manifest").fetchall()
    assert len(rows) == 300
    dropped = [json.loads(d)["toxicity"] for s, st, d in rows if st == "toxicity"]
    assert dropped and all(t["score"] > t["threshold"] for t in dropped)
    assert all(t["calibration"]["sample_sizes"] == cal["sample_sizes"] for t in dropped)
    assert len(dropped) <= 0.05 * 300 + 1


def test_main_pass_reuses_the_calibration_scores(tmp_path):
    """The main pass takes a sampled document's score from the calibration pass instead of scoring it again:
    a score planted in calibration/scores/<stem>.parquet is the one the manifest records."""
    docs = [{"text": f"Document {i}: the council met to discuss the new cycling lanes.", "id": f"d{i}",
             "url": f"https://a.example/{i}"} for i in range(60)]
    out, inp, pipe = run_small(tmp_path, docs, "  - toxicity: {top_p: 0.05, sample_fraction: 1.0}\n  - tokenize: {}\n")
    scores = next((out / "calibration" / "scores").glob("*.parquet"))
    table = pq.read_table(scores).to_pylist()
    assert {r["doc_id"] for r in table} == {d["id"] for d in docs}
    for r in table:  # plant a score no scorer gives these texts
        if r["doc_id"] == "d7":
            r["score"] = 0.987654
    again = tmp_path / "again"  # a run whose calibration is already done (as after a resume)
    shutil.copytree(out / "calibration", again / "calibration")
    planted = again / "calibration" / "scores" / scores.name
    pq.write_table(pa.Table.from_pylist(table, schema=pq.read_schema(scores)), planted)
    run_cli("run", pipe, "--input", inp, "--out", again, "--no-progress")
    detail = json.loads(connect(again).execute("SELECT detail FROM manifest WHERE doc_id = 'd7'").fetchone()[0])
    assert detail["toxicity"]["score"] == 0.987654
    first = json.loads(connect(out).execute("SELECT detail FROM manifest WHERE doc_id = 'd7'").fetchone()[0])
    assert first["toxicity"]["score"] != 0.987654


def test_calibration_scores_in_batches_what_the_scorer_gives_each_document(tmp_path):
    """The calibration pass scores its sample in batches (and across batch boundaries); every score and
    detail equals the shipped scorer's score of that document alone."""
    from curate.toxicity import FastTextToxicityScorer

    docs = [{"text": f"Document {i}: the council met. " + ("You stupid idiot! " if i % 9 == 0 else "") * (i % 4 + 1)
             + "More about cycling lanes. " * (i % 150), "id": f"d{i}", "url": f"https://a.example/{i}"}
            for i in range(150)]
    out, _, _ = run_small(tmp_path, docs, "  - toxicity: {top_p: 0.05, sample_fraction: 1.0}\n  - tokenize: {}\n")
    table = pq.read_table(next((out / "calibration" / "scores").glob("*.parquet"))).to_pylist()
    assert len(table) == 150  # more than one batch of 64
    scorer = FastTextToxicityScorer()
    text = {d["id"]: d["text"] for d in docs}
    for r in table:
        score, detail = scorer.score_document(text[r["doc_id"]], r["language"])
        assert r["score"] == score and json.loads(r["detail"]) == json.loads(json.dumps(detail, sort_keys=True))

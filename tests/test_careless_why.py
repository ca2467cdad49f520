"""`curate why` renders each stage as readable lines, raw JSON only with --json (issue 13, "pleasant")."""
import json

from conftest import run_cli, run_small
from curate.why import explain

BASE = {"run_id": "r1", "doc_id": "d1", "url": "https://a.example/x", "source_file": "in.jsonl", "source_row": 0,
        "dump": None, "date": None, "shard": None, "seq_index": None, "n_tokens": None, "n_chars": 0,
        "text_sha256": None}


def _row(status, stage, reason, detail):
    return {**BASE, "status": status, "stage": stage, "reason": reason, "detail": json.dumps(detail)}


def test_toxicity_license_pii_lines():
    detail = {
        "toxicity": {"score": 0.91, "threshold": 0.42, "rule": "top 5.00% of en", "language": "en",
                     "scorer": "curate-toxicity-ft/default", "model_sha256": "ab" * 32,
                     "calibration": {"sample_sizes": {"en": 300, "de": 20}, "source": {"en": "own"}}},
        "license": {"license": "CC-BY-NC-4.0", "category": "non-commercial", "kind": "cc-link",
                    "snippet": "creativecommons.org/licenses/by-nc/4.0", "start": 10, "end": 48, "matches": []},
        "pii": {"counts": {"EMAIL_ADDRESS": 2, "IBAN_CODE": 1}, "redacted": 3},
    }
    out = explain(_row("dropped", "toxicity", "toxicity.top_percent", detail))
    assert "toxicity: DROPPED" in out and "score 0.91 > threshold 0.42 (top 5.00% of en" in out
    assert "calibrated on 320 sampled documents; en: 300 (own)" in out
    assert f"scorer: curate-toxicity-ft/default, model sha256 {'ab' * 32}" in out
    assert "CC-BY-NC-4.0 (non-commercial)" in out and 'snippet: "creativecommons.org/licenses/by-nc/4.0"' in out
    assert "redacted 3: EMAIL_ADDRESS 2, IBAN_CODE 1" in out
    assert "{" not in out  # no raw JSON in the readable form


def test_optout_without_response_or_snapshot_says_so():
    failed = {"optout": {"robots": "fetch_error", "policy": "retroactive", "origin": "https://a.example",
                         "snapshot": {"status": None, "error": "connection_refused", "fetched_at": "2025-01-15",
                                      "sha256": "e3", "final_url": None}}}
    out = explain(_row("kept", None, None, failed))
    assert "HTTP None" not in out and "no HTTP response (connection_refused)" in out
    none = {"optout": {"robots": "no_snapshot", "policy": "retroactive", "origin": "https://b.example"}}
    out = explain(_row("kept", None, None, none))
    assert "no snapshot of https://b.example in the robots cache" in out and "HTTP" not in out


def test_json_only_with_the_flag(tmp_path):
    doc = {"id": "d0", "url": "https://a.example/", "text": "Write to me at alice.smith@gmail.com today"}
    out, _, _ = run_small(tmp_path, [doc], "  - pii: {}\n  - tokenize: {}\n")
    text = run_cli("why", "d0", "--manifests", out).stdout
    assert "redacted 1: EMAIL_ADDRESS 1" in text and "evidence:" not in text and '{"' not in text
    row = json.loads(run_cli("why", "d0", "--manifests", out, "--json").stdout)
    assert row["doc_id"] == "d0" and row["detail"]["pii"]["counts"] == {"EMAIL_ADDRESS": 1}

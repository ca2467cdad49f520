"""`curate why` on an erased document shows the request that removed it and where its tokens were."""
import json

from curate.why import explain


def test_why_renders_the_erasure_evidence():
    detail = {"optout": {"allowed": True},
              "erasure": {"time": "2026-12-01T10:00:00Z",
                          "requests": [{"request_id": "r1abc", "reason": "GDPR Art. 17 ticket 42",
                                        "selector": {"url": "https://example.org/a"}}],
                          "before": {"status": "kept", "stage": None, "reason": None, "n_tokens": 812,
                                     "shard": "shards/x.bin", "seq_index": 3}}}
    row = {"doc_id": "d1", "run_id": "run", "url": "https://example.org/a", "source_file": "in.parquet",
           "source_row": 0, "dump": "CC-MAIN-2024-10", "date": "2024-03-01", "status": "dropped",
           "stage": "erasure", "reason": "erasure.request", "detail": json.dumps(detail)}
    text = explain(row)
    assert "- erasure: DROPPED" in text
    assert "request r1abc: url https://example.org/a; reason: GDPR Art. 17 ticket 42" in text
    assert "before: kept, shard shards/x.bin sequence 3 (812 tokens)" in text

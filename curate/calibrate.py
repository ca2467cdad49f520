"""Toxicity calibration: the per-language thresholds that drop the top p% are estimated before the main
pass, on a deterministic sample of the documents that reach the toxicity block.

The sample is chosen by a hash of the doc_id (the same document is in or out whatever the task split),
each task writes the scores of its files, and the thresholds come from all of them, sorted. The result
(`calibration/toxicity.json`) states the sample size per language and is recorded in the manifest.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from curate.blocks.base import FILE_END, is_live

SCHEMA = pa.schema([("doc_id", pa.string()), ("language", pa.string()), ("score", pa.float64()),
                    ("detail", pa.string())])


def in_sample(doc_id: str, fraction: float) -> bool:
    if fraction >= 1.0:
        return True
    h = int.from_bytes(hashlib.sha256(doc_id.encode("utf-8")).digest()[:8], "big")
    return h < fraction * 2**64


class CalibrationSampler(PipelineStep):
    """Scores the sampled live documents and writes `calibration/scores/<stem>.parquet` per input file."""

    name = "toxicity scoring"
    type = "calibration"

    def __init__(self, out_dir: str, fraction: float, model: str | None, chunk_chars: int,
                 scorer_options: dict | None = None):
        super().__init__()
        self.out_dir, self.fraction, self.model, self.chunk_chars = out_dir, fraction, model, chunk_chars
        # the toxicity block's scorer keys (model, device, batch_size, encoder, head): the same scorer as the main pass
        self.scorer_options = scorer_options if scorer_options is not None else {"model": model}
        self.batch_size = int(self.scorer_options.get("batch_size") or 64)

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        from curate.toxicity import scorer_from_config

        scorer = None
        folder = Path(self.out_dir) / "calibration" / "scores"
        folder.mkdir(parents=True, exist_ok=True)
        rows: list[dict] = []
        batch: list = []  # sampled documents not scored yet: scored together, as the toxicity block does

        def score_batch():
            nonlocal scorer
            if not batch:
                return
            scorer = scorer or scorer_from_config(self.scorer_options)
            langs = [doc.metadata.get("language") or "en" for doc in batch]
            with self.track_time():
                results = scorer.score_documents([doc.text for doc in batch], langs, chunk_chars=self.chunk_chars)
            for doc, lang, (score, detail) in zip(batch, langs, results):
                rows.append({"doc_id": doc.id, "language": lang, "score": float(score),
                             "detail": json.dumps(detail, sort_keys=True)})
            batch.clear()

        for doc in data:
            end = doc.metadata.get(FILE_END)
            if end is not None:
                score_batch()
                path = folder / f"{end['file'].stem}.parquet"
                pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), str(path) + ".tmp")
                os.replace(str(path) + ".tmp", path)
                rows = []
                continue
            if is_live(doc) and in_sample(doc.id, self.fraction):
                batch.append(doc)
                if len(batch) >= self.batch_size:
                    score_batch()
        if False:
            yield


def thresholds_from_scores(out_dir: str, top_p: float, sample_max: int, min_docs: int = 200) -> dict:
    """Merge every task's sample (sorted, capped per language by hash order) into thresholds.

    Never raises on a small or empty sample: see `curate.toxicity.thresholds.calibration_table` for the
    fallbacks (languages below `min_docs` use the pooled threshold; too few pooled scores: no threshold,
    every document kept, `note` says why)."""
    from curate.toxicity.thresholds import calibration_table

    folder = Path(out_dir) / "calibration" / "scores"
    tables = [pq.read_table(p, columns=["doc_id", "language", "score"]) for p in sorted(folder.glob("*.parquet"))]
    rows = pa.concat_tables(tables).to_pylist() if tables else []
    rows.sort(key=lambda r: hashlib.sha256(r["doc_id"].encode()).hexdigest())
    by_lang: dict[str, list[float]] = {}
    for r in rows:
        lst = by_lang.setdefault(r["language"], [])
        if len(lst) < sample_max:
            lst.append(r["score"])
    return calibration_table(by_lang, top_p=top_p, min_docs=min_docs)


def load_scores(out_dir: str, stem: str) -> dict[str, tuple[float, dict]]:
    """The calibration scores of one input file (doc_id -> (score, detail)), so the main pass does not
    score the sampled documents a second time."""
    path = Path(out_dir) / "calibration" / "scores" / f"{stem}.parquet"
    if not path.exists():
        return {}
    t = pq.read_table(path).to_pydict()
    return {d: (s, json.loads(x)) for d, s, x in zip(t["doc_id"], t["score"], t["detail"])}

"""The sink: per input file, Megatron shards for kept documents, a sidecar (doc_id, seq_index), and the
manifest with exactly one row per document read.

Everything is written under a temporary name and renamed when the file is complete; a completion marker
(`.curate/done/<stem>.json`) is written last, so partial outputs never count as finished.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from curate.blocks.base import FILE_END, KEPT, state
from curate.checksum import sha256_file
from curate.manifest import SCHEMA, dumps_detail
from curate.megatron import IndexedWriter

ROW_GROUP = 8192
SIDECAR_SCHEMA = pa.schema([("doc_id", pa.string()), ("seq_index", pa.int64())])
DONE_DIR = ".curate/done"


class _ParquetStream:
    """Writes rows in fixed-size row groups to `<path>.tmp`, renamed on close (deterministic bytes)."""

    def __init__(self, path: Path, schema: pa.Schema):
        self.path, self.schema = path, schema
        self.tmp = Path(str(path) + ".tmp")
        self.writer = pq.ParquetWriter(self.tmp, schema, compression="zstd", write_statistics=True)
        self.rows: list[dict] = []

    def add(self, row: dict) -> None:
        self.rows.append(row)
        if len(self.rows) >= ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        if self.rows:
            self.writer.write_table(pa.Table.from_pylist(self.rows, schema=self.schema))
            self.rows = []

    def close(self) -> Path:
        self._flush()
        self.writer.close()
        os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        try:
            self.writer.close()
        finally:
            self.tmp.unlink(missing_ok=True)


class ShardManifestWriter(PipelineStep):
    name = "sink"
    type = "writer"

    def __init__(self, out_dir: str, run_id: str, progress: bool = True):
        super().__init__()
        self.out_dir = str(out_dir)
        self.run_id = run_id
        self.progress = progress

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        out = Path(self.out_dir)
        for sub in ("manifests", "shards", DONE_DIR):
            (out / sub).mkdir(parents=True, exist_ok=True)
        bar = None
        if self.progress:
            from tqdm import tqdm

            bar = tqdm(desc=f"task {rank:03d}", unit="doc", file=sys.stderr, dynamic_ncols=True, mininterval=1.0,
                       position=rank if world_size <= 8 else None, leave=world_size == 1)
        cur = None
        try:
            for doc in data:
                end = doc.metadata.get(FILE_END)
                if end is not None:
                    if cur is None:  # a file with no records still gets an (empty) manifest
                        cur = _FileOutputs(out, end["file"].stem, self.run_id)
                    cur.finish(end["file"], end["rows"])
                    cur = None
                    continue
                if cur is None:
                    cur = _FileOutputs(out, doc.metadata["_stem"], self.run_id)
                cur.add(doc)
                self.stat_update(state(doc)["status"])
                if bar is not None:
                    bar.update(1)
        except BaseException:
            if cur is not None:
                cur.abort()
            raise
        finally:
            if bar is not None:
                bar.close()
        if False:
            yield


class _FileOutputs:
    def __init__(self, out: Path, stem: str, run_id: str):
        self.out, self.stem, self.run_id = out, stem, run_id
        self.manifest = _ParquetStream(out / "manifests" / f"{stem}.parquet", SCHEMA)
        self.shard: IndexedWriter | None = None
        self.sidecar: _ParquetStream | None = None
        self.counts = {"kept": 0, "dropped": 0, "quarantined": 0}
        self.n_tokens = 0

    def add(self, doc) -> None:
        st = state(doc)
        meta = doc.metadata
        n_tokens = shard = seq_index = None
        if st["status"] == KEPT:
            tokens = meta.pop("tokens")
            if self.shard is None:
                self.shard = IndexedWriter(self.out / "shards" / self.stem)
                self.sidecar = _ParquetStream(self.out / "shards" / f"{self.stem}.parquet", SIDECAR_SCHEMA)
            seq_index = self.shard.add(tokens)
            self.sidecar.add({"doc_id": doc.id, "seq_index": seq_index})
            n_tokens = int(len(tokens))
            self.n_tokens += n_tokens
            shard = f"shards/{self.stem}"
        self.counts[st["status"]] += 1
        text = doc.text or ""
        self.manifest.add({
            "run_id": self.run_id,
            "doc_id": doc.id,
            "url": meta.get("url"),
            "host": meta.get("host"),
            "dump": meta.get("dump"),
            "date": meta.get("date"),
            "source_file": meta.get("source_file"),
            "source_row": meta.get("source_row"),
            "status": st["status"],
            "stage": st["stage"],
            "reason": st["reason"],
            "detail": dumps_detail(st["detail"]),
            "language": meta.get("language"),
            "n_chars": len(text),
            "n_tokens": n_tokens,
            "shard": shard,
            "seq_index": seq_index,
            "text_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest() if text else None,
        })

    def finish(self, f, rows: int) -> None:
        if rows != sum(self.counts.values()):  # accounting must hold: one manifest row per document read
            raise RuntimeError(f"{f.name}: read {rows} documents but {sum(self.counts.values())} reached the sink")
        outputs = {}
        if self.shard is not None:
            for p in self.shard.close():
                outputs[str(p.relative_to(self.out))] = sha256_file(p)
            p = self.sidecar.close()
            outputs[str(p.relative_to(self.out))] = sha256_file(p)
        p = self.manifest.close()
        outputs[str(p.relative_to(self.out))] = sha256_file(p)
        marker = {
            "run_id": self.run_id, "source_file": f.name, "input_sha256": sha256_file(f.path), "input_bytes": os.path.getsize(f.path),
            "documents": rows, **self.counts, "tokens": self.n_tokens, "outputs": outputs,
        }
        done = self.out / DONE_DIR / f"{self.stem}.json"
        tmp = done.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(marker, sort_keys=True, indent=1))
        os.replace(tmp, done)

    def abort(self) -> None:
        """Close and remove every temporary file of this input file (nothing of it counts as written)."""
        if self.shard is not None:
            self.shard.abort()
        for stream in (self.sidecar, self.manifest):
            if stream is not None:
                stream.abort()

"""`curate merge OUT`: the per-file shards of a finished run merged into one Megatron shard per dump.

Output: `OUT/merged/<dump>.bin|.idx` plus the sidecar `OUT/merged/<dump>.parquet` (doc_id, seq_index).
The dump of a sequence is the manifest `dump` of its document (null -> "unknown"). Order: by source file
index, then by the sequence's index in its per-file shard, so the result does not depend on the tasks.

The manifests' `shard`/`seq_index` of kept documents are rewritten (atomically, one row per document still)
to point into the merged shards; the per-file shards and their sidecars stay as they are. They are the
merge's source: each per-file sidecar says which document every sequence holds, so merging again gives the
same bytes. run.json gets the new checksums (in `outputs`) and a `merged` section; the per-file completion
markers get the new manifest checksums, so a later `curate run` of the same run keeps them right.
"""
from __future__ import annotations

import json
import os
import re
from collections import defaultdict, deque
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curate.checksum import sha256_file
from curate.manifest import SCHEMA
from curate.megatron import INT32, IndexedReader, write_index
from curate.sink import DONE_DIR, ROW_GROUP, SIDECAR_SCHEMA

MERGED = "merged"
ORDER = "source file index, then sequence index in the per-file shard"


class MergeError(Exception):
    """The run cannot be merged (unfinished, or its files disagree); nothing was changed."""


def dump_name(dump: str | None) -> str:
    """File name of a dump's merged shard."""
    if dump is None or str(dump).strip() == "":
        return "unknown"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(dump).strip())


def merge_run(out: str | os.PathLike) -> dict:
    """Merge the shards of finished run OUT per dump; returns run.json's new `merged` section."""
    out = Path(out)
    info_path = out / "run.json"
    if not info_path.exists():
        raise MergeError(f"{out}: no run.json; finish the run first (run the same `curate run` command again)")
    info = json.loads(info_path.read_text())
    manifests = sorted((out / "manifests").glob("*.parquet"), key=_file_index)
    if not manifests:
        raise MergeError(f"{out}/manifests: no manifest files")

    # 1. every sequence of every per-file shard, with its dump, in the merge order
    # dump file name -> [(per-file shard prefix, sequence index there, doc_id, manifest file, manifest row)]
    plan: dict[str, list[tuple[Path, int, str, Path, int]]] = defaultdict(list)
    tables: dict[Path, pa.Table] = {}
    dumps_seen: dict[str, str | None] = {}
    for mpath in manifests:
        table = pq.read_table(mpath)
        tables[mpath] = table
        stem = mpath.stem
        prefix = out / "shards" / stem
        side_path = prefix.with_suffix(".parquet")
        cols = table.select(["doc_id", "status", "dump"]).to_pydict()
        kept = defaultdict(deque)  # doc_id -> manifest rows of kept documents, in order
        for i, (doc_id, status) in enumerate(zip(cols["doc_id"], cols["status"])):
            if status == "kept":
                kept[doc_id].append(i)
        if not side_path.exists():
            if any(kept.values()):
                raise MergeError(f"{mpath}: kept documents but no shard sidecar {side_path}")
            continue
        side = pq.read_table(side_path).to_pydict()
        for seq, doc_id in zip(side["seq_index"], side["doc_id"]):
            if not kept.get(doc_id):  # no longer kept (e.g. erased later): not merged
                continue
            row = kept[doc_id].popleft()
            name = dump_name(cols["dump"][row])
            if dumps_seen.setdefault(name, cols["dump"][row]) != cols["dump"][row] and name != "unknown":
                raise MergeError(f"dumps {dumps_seen[name]!r} and {cols['dump'][row]!r} map to the same file name {name}")
            plan[name].append((prefix, int(seq), doc_id, mpath, row))
        left = [d for d, rows in kept.items() if rows]
        if left:
            raise MergeError(f"{mpath}: kept document {left[0]!r} has no sequence in {side_path}")

    # 2. the merged shards (temporary names, renamed when complete)
    (out / MERGED).mkdir(exist_ok=True)
    pointers: dict[Path, dict[int, tuple[str, int]]] = defaultdict(dict)
    section: dict = {"order": ORDER, "dumps": {}}
    outputs: dict[str, str] = {}
    for name in sorted(plan):
        prefix = out / MERGED / name
        n_tokens = _write_merged(prefix, plan[name])
        rows = [{"doc_id": doc_id, "seq_index": i} for i, (_, _, doc_id, _, _) in enumerate(plan[name])]
        _write_parquet(prefix.with_suffix(".parquet"), rows, SIDECAR_SCHEMA)
        for i, (_, _, _, mpath, row) in enumerate(plan[name]):
            pointers[mpath][row] = (f"{MERGED}/{name}", i)
        files = {}
        for suffix in (".bin", ".idx", ".parquet"):
            rel = f"{MERGED}/{name}{suffix}"
            files[rel] = outputs[rel] = sha256_file(out / rel)
        section["dumps"][name] = {"dump": dumps_seen[name], "sequences": len(plan[name]), "tokens": n_tokens,
                                  "files": files}
    for stale in (out / MERGED).iterdir():  # shards of dumps no longer present (e.g. all erased)
        if stale.name.split(".")[0] not in plan and stale.suffix in (".bin", ".idx", ".parquet"):
            stale.unlink()

    # 3. manifests: new pointers for kept rows, one row per document as before
    new_sha: dict[str, str] = {}
    for mpath, table in tables.items():
        shard = table.column("shard").to_pylist()
        seq = table.column("seq_index").to_pylist()
        for row, (s, i) in pointers.get(mpath, {}).items():
            shard[row], seq[row] = s, i
        table = table.set_column(table.schema.get_field_index("shard"), "shard", pa.array(shard, pa.string()))
        table = table.set_column(table.schema.get_field_index("seq_index"), "seq_index", pa.array(seq, pa.int64()))
        _write_parquet(mpath, table.cast(SCHEMA), SCHEMA)
        new_sha[str(mpath.relative_to(out))] = sha256_file(mpath)

    # 4. checksums: completion markers, then run.json
    for marker in sorted((out / DONE_DIR).glob("*.json")):
        m = json.loads(marker.read_text())
        changed = {k: new_sha[k] for k in m.get("outputs", {}) if k in new_sha}
        if changed:
            m["outputs"].update(changed)
            _write_text(marker, json.dumps(m, sort_keys=True, indent=1))
    info["outputs"] = dict(sorted({**{k: v for k, v in info.get("outputs", {}).items()
                                      if not k.startswith(MERGED + "/")}, **new_sha, **outputs}.items()))
    info["merged"] = section
    _write_text(info_path, json.dumps(info, indent=1, sort_keys=True, default=str))
    return section


def _write_merged(prefix: Path, seqs: list) -> int:
    """Copy the sequences' tokens into `<prefix>.bin`, write `.idx`; contiguous runs are copied at once."""
    lengths: list[int] = []
    bin_tmp, idx_tmp = Path(f"{prefix}.bin.tmp"), Path(f"{prefix}.idx.tmp")
    readers: dict[Path, IndexedReader] = {}
    with open(bin_tmp, "wb") as fout:
        run_src, run_start, run_end = None, 0, 0  # a run of consecutive sequences of one per-file shard
        for src, seq, *_ in seqs:
            r = readers.get(src) or readers.setdefault(src, _reader(src))
            lengths.append(int(r.lengths[seq]))
            if src == run_src and seq == run_end:
                run_end += 1
                continue
            _copy(fout, readers.get(run_src), run_start, run_end)
            run_src, run_start, run_end = src, seq, seq + 1
        _copy(fout, readers.get(run_src), run_start, run_end)
        fout.flush()
        os.fsync(fout.fileno())
    write_index(idx_tmp, lengths)
    os.replace(bin_tmp, f"{prefix}.bin")
    os.replace(idx_tmp, f"{prefix}.idx")
    return int(np.sum(np.asarray(lengths, dtype=np.int64)))


def _reader(prefix: Path) -> IndexedReader:
    r = IndexedReader(prefix)
    if r.dtype.itemsize != INT32:
        raise MergeError(f"{prefix}.idx: token dtype {r.dtype} (curate writes int32)")
    return r


def _copy(fout, reader: IndexedReader | None, start: int, end: int) -> None:
    if reader is None or end <= start:
        return
    with open(reader.prefix + ".bin", "rb") as fin:
        reader.copy_sequences(fin, fout, start, end, MergeError)


def _write_parquet(path: Path, rows, schema: pa.Schema) -> None:
    """Same writer settings as the sink (zstd, statistics, fixed row groups): deterministic bytes."""
    table = rows if isinstance(rows, pa.Table) else pa.Table.from_pylist(rows, schema=schema)
    tmp = Path(f"{path}.tmp")
    with pq.ParquetWriter(tmp, schema, compression="zstd", write_statistics=True) as w:
        if table.num_rows == 0:
            w.write_table(table)
        for off in range(0, table.num_rows, ROW_GROUP):
            w.write_table(table.slice(off, ROW_GROUP))
    os.replace(tmp, path)


def _write_text(path: Path, text: str) -> None:
    tmp = Path(f"{path}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _file_index(p: Path) -> tuple[int, str]:
    head = p.stem.split("_", 1)[0]
    return (int(head) if head.isdigit() else 1 << 62, p.stem)



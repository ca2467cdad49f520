"""`curate verify OUT`: re-check a finished run directory against its own record, end to end.

Checks (each failure names the file and, where it applies, the row, sequence or doc id):
1. checksums: every output in run.json (`outputs`: manifests, per-file shards, sidecars, merged files) is
   hashed again; files under manifests/, shards/, merged/ that run.json does not record are failures.
   Inputs are hashed where they still are (their path as the run saw it, from `.curate/sha256.json`, or
   OUT/input/): a changed input is a failure, an input that moved is a warning (it cannot be checked).
2. manifests (DuckDB over all files): one row per doc id (an id in two input files only warns), rows per
   input = documents read (run.json `inputs`), status counts and tokens = run.json `totals`, run_id,
   per-status invariants, detail is JSON.
3. shards, per-file (`shards/`) and merged (`merged/`): the .idx header (magic, version, int32 dtype,
   counts), its sizes, pointers and document indices against the .bin size; megatron-core's
   `IndexedDataset` opens it and agrees (when megatron-core is importable); sequences are `<s> ... </s>`
   with ids inside the vocabulary.
4. sequences against manifests: every kept row points at an existing (shard, seq_index); the sidecar
   lists the same (doc_id, seq_index) in order; the sequence's tokens decoded with the run's tokenizer
   hash (sha256 of the UTF-8 text) to the row's `text_sha256` and its length is the row's `n_tokens`.
   The sink hashes the final text (after PII redaction) and tokenizes that same text; tekken is byte-level
   BPE and the PII markers are single special ids, so decoding is exact and the hash must match.
   After `curate merge` the kept rows point into merged/; a per-file shard is then checked against the
   kept rows of its own manifest, in row order.
5. erasures (`OUT/erasure/log.jsonl`, entries with status `done`): each erased doc's manifest row is
   `dropped`/`erasure`; no sidecar names an erased doc id; no sequence decodes to an erased text_sha256.

Memory stays bounded: manifests are read by DuckDB (which spills to disk) as streams of record batches
ordered by (shard, seq_index); shards are memory-mapped; sidecars are read by record batch.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import groupby
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from curate.checksum import sha256_file
from curate.megatron import DTYPE_CODES, MAGIC, VERSION

OUTPUT_DIRS = ("manifests", "shards", "merged")
OUTPUT_SUFFIXES = (".parquet", ".bin", ".idx")
ERASURE_LOG = "erasure/log.jsonl"
PER_SHARD = 8  # sequence-level failures listed per shard; the rest are counted
MAX_PER_KIND = 20  # failures listed per (check, file); the rest are counted
BATCH = 8192
HEADER = len(MAGIC) + 8 + 1 + 8 + 8


class VerifyError(Exception):
    """OUT is not something verify can check (not a run directory, no run.json)."""


@dataclass
class Result:
    failures: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    suppressed: dict = field(default_factory=dict)
    checked: dict = field(default_factory=dict)
    seconds: float = 0.0
    _listed: dict = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return not self.failures and not self.suppressed

    def fail(self, check: str, file: str | None, message: str, **where) -> None:
        key = f"{check}:{file}"
        self._listed[key] = self._listed.get(key, 0) + 1
        if self._listed[key] > MAX_PER_KIND:
            self.suppressed[key] = self.suppressed.get(key, 0) + 1
            return
        self.failures.append({"check": check, "file": file, **{k: v for k, v in where.items() if v is not None},
                              "message": message})

    def warn(self, check: str, file: str | None, message: str) -> None:
        self.warnings.append({"check": check, "file": file, "message": message})

    def count(self, what: str, n: int = 1) -> None:
        self.checked[what] = self.checked.get(what, 0) + n

    def to_dict(self) -> dict:
        return {"ok": self.ok, "failures": self.failures,
                "more_failures": [{"check": k.split(":", 1)[0], "file": k.split(":", 1)[1], "count": n}
                                  for k, n in sorted(self.suppressed.items())],
                "warnings": self.warnings, "checked": self.checked, "seconds": round(self.seconds, 3)}


class _Progress:
    """A tqdm bar on stderr when it is a terminal (as the run's bars); nothing otherwise."""

    def __init__(self, enabled: bool):
        self.enabled = enabled and sys.stderr.isatty()
        self.bar = None

    def start(self, desc: str, total: int, unit: str, scale: bool = False) -> None:
        self.close()
        if self.enabled:
            from tqdm import tqdm

            self.bar = tqdm(desc=desc, total=total, unit=unit, unit_scale=scale, unit_divisor=1024 if scale else 1000,
                            file=sys.stderr, dynamic_ncols=True, mininterval=1.0, leave=False)

    def update(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _sha256(path: Path, progress: _Progress) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 22):
            h.update(block)
            progress.update(len(block))
    return h.hexdigest()


# -- 1. checksums ---------------------------------------------------------------------------------------

def _input_candidates(out: Path, name: str) -> list[Path]:
    """Where an input may still be: the absolute paths the run hashed (its hash cache), then OUT/input/."""
    found: list[Path] = []
    cache = out / ".curate" / "sha256.json"
    if cache.exists():
        try:
            table = json.loads(cache.read_text())
        except ValueError:
            table = {}
        found += [Path(p) for p in sorted(table) if p.replace(os.sep, "/").endswith("/" + name)]
    found.append(out / "input" / name)
    seen: set = set()
    return [p for p in found if p.is_file() and not (str(p) in seen or seen.add(str(p)))]


def check_checksums(out: Path, info: dict, res: Result, progress: _Progress, inputs: bool = True) -> None:
    outputs: dict = info.get("outputs") or {}
    present = {rel: out / rel for rel in outputs if (out / rel).is_file()}
    todo = [(rel, sha) for rel, sha in sorted(outputs.items())]
    in_paths = []
    if inputs:
        for rec in info.get("inputs") or []:
            cands = _input_candidates(out, rec["file"])
            if not cands:
                res.warn("input", rec["file"], "input not found where the run read it (moved?); its sha256 is not checked")
            in_paths.append((rec, cands))
    total = sum(p.stat().st_size for p in present.values())
    total += sum(c.stat().st_size for _, cands in in_paths for c in cands[:1])
    progress.start("verify sha256", total, "B", scale=True)
    for rel, sha in todo:
        if rel not in present:
            res.fail("checksum", rel, "recorded in run.json but missing")
            continue
        got = _sha256(present[rel], progress)
        res.count("files hashed")
        if got != sha:
            res.fail("checksum", rel, f"sha256 {got[:16]}... differs from run.json's {sha[:16]}...")
    for rec, cands in in_paths:
        if not cands:
            continue
        got = [(c, _sha256(c, progress) if i == 0 else sha256_file(c)) for i, c in enumerate(cands)]
        res.count("inputs hashed")
        if not any(s == rec["sha256"] for _, s in got):
            res.fail("input", str(cands[0]), f"input {rec['file']} changed: sha256 {got[0][1][:16]}... differs from "
                                             f"run.json's {rec['sha256'][:16]}...")
    progress.close()
    for sub in OUTPUT_DIRS:  # files the record does not know of: an untracked edit or a crashed write
        base = out / sub
        if not base.is_dir():
            continue
        for p in sorted(base.rglob("*")):
            if not p.is_file():
                continue
            rel = str(p.relative_to(out)).replace(os.sep, "/")
            if p.name.endswith(".tmp"):
                res.warn("checksum", rel, "temporary file left by an interrupted write")
            elif p.suffix in OUTPUT_SUFFIXES and rel not in outputs:
                res.fail("checksum", rel, "not recorded in run.json's outputs")
    for marker in sorted((out / ".curate" / "done").glob("*.json")):
        try:
            m = json.loads(marker.read_text())
        except ValueError:
            res.warn("marker", str(marker.relative_to(out)), "completion marker is not JSON")
            continue
        stale = [k for k, v in (m.get("outputs") or {}).items() if k in outputs and outputs[k] != v]
        if stale:  # a rerun rebuilds run.json from the markers; it would bring the old checksum back
            res.warn("marker", str(marker.relative_to(out)), f"checksum of {stale[0]} differs from run.json's")


# -- 2. manifests -----------------------------------------------------------------------------------------

def _connect(out: Path, tmp: str):
    import duckdb

    from curate.manifest import manifest_files

    files = manifest_files(out)
    con = duckdb.connect()
    con.execute("SET python_enable_replacements = false")
    con.execute(f"SET temp_directory = '{tmp}'")  # large sorts spill here instead of growing memory
    lst = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    con.execute(f"CREATE VIEW m AS SELECT * FROM read_parquet([{lst}], union_by_name=true, filename=true, "
                f"file_row_number=true)")
    return con


@lru_cache(maxsize=4096)  # called per row with a handful of distinct files: resolve() once each
def _rel(out: Path, filename: str) -> str:
    try:
        return str(Path(filename).resolve().relative_to(out.resolve())).replace(os.sep, "/")
    except ValueError:
        return filename


def _stream(con, sql: str):
    """Rows of a query as tuples, one record batch at a time."""
    for batch in con.sql(sql).to_arrow_reader(BATCH):
        cols = [c.to_pylist() for c in batch.columns]
        yield from zip(*cols)


def _unreadable_manifests(out: Path, res: Result) -> None:
    """Parquet files under manifests/ that are not readable manifests (the query view skips them)."""
    from curate.manifest import REQUIRED

    for p in sorted((out / "manifests").rglob("*.parquet")):
        try:
            names = set(pq.read_schema(p).names)
        except Exception as e:  # truncated, not parquet
            res.fail("manifest", str(p.relative_to(out)), f"not readable as Parquet ({type(e).__name__}: "
                     f"{str(e).splitlines()[0] if str(e) else ''})")
            continue
        missing = [c for c in REQUIRED if c not in names]
        if missing:
            res.fail("manifest", str(p.relative_to(out)), f"not a manifest (no column {missing[0]})")


def check_manifests(out: Path, info: dict, con, res: Result) -> None:
    q = lambda sql: con.execute(sql).fetchall()  # noqa: E731
    (n_rows,) = q("SELECT count(*) FROM m")[0]
    res.count("manifest rows", n_rows)
    # The sink writes one row per document read: an id twice in one manifest file is damage. The same id in
    # two input files is two documents read whose inputs share an id (e.g. one corpus given as jsonl and
    # parquet): consistent, but `why`/`erase --doc-id` will match both, so it is a warning.
    shared = 0
    for doc_id, n, n_files, where in q(
            "SELECT doc_id, count(*), count(DISTINCT filename), list(filename || ':' || file_row_number "
            "ORDER BY filename, file_row_number)[1:3] FROM m GROUP BY doc_id HAVING count(*) > 1 "
            f"ORDER BY count(*) > count(DISTINCT filename) DESC, doc_id LIMIT {10 * MAX_PER_KIND}"):
        rows = ", ".join(_rel(out, w.rsplit(':', 1)[0]) + ' row ' + w.rsplit(':', 1)[1] for w in where)
        first = _rel(out, where[0].rsplit(":", 1)[0])
        if n > n_files:
            res.fail("manifest", first, f"{n} rows for one document (rows at {rows})", doc_id=doc_id)
        elif shared < 5:
            shared += 1
            res.warn("manifest", first, f"doc id {doc_id!r} is in {n_files} input files (rows at {rows}); the inputs "
                                        "share ids")
        else:
            shared += 1
    if shared > 5:
        res.warn("manifest", None, f"{shared - 5} more doc ids (at least) are in several input files")
    run_id = info.get("run_id")
    rules = [
        ("doc_id IS NULL", "no doc_id"),
        (f"run_id IS DISTINCT FROM '{run_id}'", f"run_id differs from run.json's {run_id}"),
        ("status NOT IN ('kept', 'dropped', 'quarantined') OR status IS NULL", "status is not kept|dropped|quarantined"),
        ("status = 'kept' AND (shard IS NULL OR seq_index IS NULL OR n_tokens IS NULL)", "kept but no shard, seq_index or n_tokens"),
        ("status = 'kept' AND reason IS NOT NULL", "kept with a reason"),
        ("status IN ('dropped', 'quarantined') AND reason IS NULL", "dropped/quarantined without a reason"),
        ("status IN ('dropped', 'quarantined') AND (shard IS NOT NULL OR seq_index IS NOT NULL)",
         "not kept but points at a shard sequence"),
        ("detail IS NOT NULL AND NOT json_valid(detail)", "detail is not JSON"),
    ]
    for cond, msg in rules:
        for fn, row, doc_id, status in q(f"SELECT filename, file_row_number, doc_id, status FROM m WHERE {cond} "
                                        f"ORDER BY filename, file_row_number LIMIT {MAX_PER_KIND + 1}"):
            res.fail("manifest", _rel(out, fn), f"{msg} (status {status})", row=row, doc_id=doc_id)
    # accounting: rows per input = documents read; totals = run.json's
    per_file = dict(q("SELECT source_file, count(*) FROM m GROUP BY 1"))
    for rec in info.get("inputs") or []:
        got = per_file.pop(rec["file"], 0)
        if got != rec.get("documents"):
            res.fail("accounting", "run.json", f"input {rec['file']}: {rec.get('documents')} documents read, "
                                               f"{got} manifest rows")
    for name, n in sorted(per_file.items(), key=lambda kv: str(kv[0])):
        res.fail("accounting", "run.json", f"{n} manifest rows name source file {name!r}, which run.json does not list")
    got = dict(q("SELECT status, count(*) FROM m GROUP BY 1"))
    (tokens,) = q("SELECT coalesce(sum(n_tokens), 0)::BIGINT FROM m WHERE status = 'kept'")[0]
    totals = info.get("totals") or {}
    expect = {"documents": n_rows, "kept": got.get("kept", 0), "dropped": got.get("dropped", 0),
              "quarantined": got.get("quarantined", 0), "tokens": tokens}
    for k, v in expect.items():
        if k in totals and totals[k] != v:
            res.fail("accounting", "run.json", f"totals.{k} is {totals[k]:,}, the manifests give {v:,}")


# -- 3. shards ---------------------------------------------------------------------------------------------

@dataclass
class Shard:
    rel: str  # "shards/<stem>" or "merged/<dump>"
    prefix: Path
    n: int = 0
    lengths: np.ndarray | None = None
    pointers: np.ndarray | None = None
    tokens: np.ndarray | None = None
    ok: bool = False


def shard_prefixes(out: Path) -> list[str]:
    rels = set()
    for sub in ("shards", "merged"):
        if (out / sub).is_dir():
            for p in (out / sub).rglob("*"):
                if p.suffix in (".bin", ".idx") and p.is_file():
                    rels.add(str(p.relative_to(out).with_suffix("")).replace(os.sep, "/"))
    return sorted(rels)


def open_shard(out: Path, rel: str, res: Result) -> Shard:
    """Our own reading of the .idx/.bin pair, every header field and size checked (nothing trusted)."""
    s = Shard(rel, out / rel)
    idx, binf = Path(f"{s.prefix}.idx"), Path(f"{s.prefix}.bin")
    for p in (idx, binf):
        if not p.is_file():
            res.fail("shard", f"{rel}{p.suffix}", "missing (its pair exists)")
            return s
    size = idx.stat().st_size
    with open(idx, "rb") as f:
        head = f.read(HEADER)
    if len(head) < HEADER or head[: len(MAGIC)] != MAGIC:
        res.fail("shard", f"{rel}.idx", "not a Megatron index (bad magic or short header)", offset=0)
        return s
    version = int.from_bytes(head[9:17], "little")
    code = head[17]
    n = int.from_bytes(head[18:26], "little")
    n_docs = int.from_bytes(head[26:34], "little")
    if version != VERSION:
        res.fail("shard", f"{rel}.idx", f"version {version}, Megatron reads 1", offset=9)
        return s
    if code != 4:
        res.fail("shard", f"{rel}.idx", f"dtype code {code} ({DTYPE_CODES.get(code)}), curate writes int32 (4)", offset=17)
        return s
    if n_docs != n + 1:
        res.fail("shard", f"{rel}.idx", f"document count {n_docs}, expected sequences + 1 = {n + 1}", offset=26)
        return s
    want = HEADER + 4 * n + 8 * n + 8 * (n + 1)
    if size != want:
        res.fail("shard", f"{rel}.idx", f"{size} bytes, the header's {n} sequences need {want}")
        return s
    mm = np.memmap(idx, dtype=np.uint8, mode="r").view(np.ndarray)
    lengths = np.frombuffer(mm, dtype="<i4", count=n, offset=HEADER)
    pointers = np.frombuffer(mm, dtype="<i8", count=n, offset=HEADER + 4 * n)
    doc_idx = np.frombuffer(mm, dtype="<i8", count=n + 1, offset=HEADER + 12 * n)
    if n and lengths.min() < 2:
        i = int(np.argmin(lengths))
        res.fail("shard", f"{rel}.idx", f"sequence length {int(lengths[i])} (at least <s></s>)", sequence=i,
                 offset=HEADER + 4 * i)
        return s
    expect = np.zeros(n, dtype=np.int64)
    if n:
        expect[1:] = np.cumsum(lengths[:-1].astype(np.int64)) * 4
    bad = np.flatnonzero(pointers != expect)
    if bad.size:
        i = int(bad[0])
        res.fail("shard", f"{rel}.idx", f"byte offset {int(pointers[i])} of sequence {i}, the lengths of the sequences before "
                 f"it give {int(expect[i])} (a length or this offset is wrong)",
                 sequence=i, offset=HEADER + 4 * n + 8 * i)
        return s
    bad = np.flatnonzero(doc_idx != np.arange(n + 1))
    if bad.size:
        i = int(bad[0])
        res.fail("shard", f"{rel}.idx", f"document index {i} is {int(doc_idx[i])}, expected {i}",
                 offset=HEADER + 12 * n + 8 * i)
        return s
    total = int(lengths.sum(dtype=np.int64)) * 4
    if binf.stat().st_size != total:
        res.fail("shard", f"{rel}.bin", f"{binf.stat().st_size} bytes, the index says {total}")
        return s
    s.n, s.lengths, s.pointers, s.ok = n, lengths, pointers, True
    # a plain ndarray view of the map: slicing a memmap subclass costs more than decoding a short sequence
    s.tokens = np.memmap(binf, dtype="<i4", mode="r").view(np.ndarray) if total else np.zeros(0, "<i4")
    return s


def megatron_check(s: Shard, res: Result) -> None:
    """megatron-core's own reader opens the pair and sees what we see."""
    if not s.ok or s.n == 0:
        return
    from megatron.core.datasets.indexed_dataset import IndexedDataset

    try:
        ds = IndexedDataset(str(s.prefix))
        same = (len(ds) == s.n and np.array_equal(ds.sequence_lengths, s.lengths)
                and np.array_equal(ds.index.sequence_pointers, s.pointers)
                and np.array_equal(np.asarray(ds[0]), s.tokens[: s.lengths[0]])
                and np.array_equal(np.asarray(ds[s.n - 1]), s.tokens[int(s.pointers[-1]) // 4:]))
        if not same:
            res.fail("megatron", f"{s.rel}.idx", "megatron-core's IndexedDataset reads other lengths, offsets or tokens")
        res.count("shards read by megatron-core")
    except Exception as e:  # anything megatron-core raises means Megatron-LM cannot train on it
        res.fail("megatron", f"{s.rel}.idx", f"megatron-core's IndexedDataset cannot read it: {type(e).__name__}: {e}")


# -- 4. sequences -----------------------------------------------------------------------------------------

class _Decoder:
    """sha256 of a sequence's text: tekken ids back to UTF-8 bytes (PII marker ids to their strings)."""

    def __init__(self, name: str):
        from curate.tokenizer import ID_MARKERS, get_tokenizer, tekken_path

        self.path = tekken_path(f"{name}.json")
        tok = get_tokenizer(self.path)
        self.bpe, self.offset, self.vocab = tok._bpe, tok._offset, tok.vocab_size
        self.markers = {k: v.encode() for k, v in ID_MARKERS.items()}

    def sha(self, ids: np.ndarray) -> tuple[str | None, str | None]:
        """(sha256 hex, None) or (None, what is wrong with the ids)."""
        if ids[0] != 1 or ids[-1] != 2:
            return None, "does not start with <s> and end with </s>"
        body = ids[1:-1]
        if body.size == 0:
            return hashlib.sha256(b"").hexdigest(), None
        if int(body.max()) >= self.vocab or int(body.min()) < 0:
            return None, "token id outside the vocabulary"
        if int(body.min()) >= self.offset:  # the common case: no PII marker inside
            return hashlib.sha256(self.bpe.decode_bytes((body - self.offset).tolist())).hexdigest(), None
        h = hashlib.sha256()
        special = np.flatnonzero(body < self.offset)
        start = 0
        for j in special.tolist():
            if j > start:
                h.update(self.bpe.decode_bytes((body[start:j] - self.offset).tolist()))
            m = self.markers.get(int(body[j]))
            if m is None:
                return None, f"special id {int(body[j])} inside the text"
            h.update(m)
            start = j + 1
        if start < body.size:
            h.update(self.bpe.decode_bytes((body[start:] - self.offset).tolist()))
        return h.hexdigest(), None


def _sidecar_rows(path: Path):
    pf = pq.ParquetFile(path)
    for batch in pf.iter_batches(batch_size=BATCH, columns=["doc_id", "seq_index"]):
        yield from zip(batch.column(0).to_pylist(), batch.column(1).to_pylist())


class _Peek:
    def __init__(self, it):
        self.it, self.head, self.done = iter(it), None, False
        self.next()

    def next(self):
        cur = self.head
        try:
            self.head = next(self.it)
        except StopIteration:
            self.head, self.done = None, True
        return cur


def check_sequences(out: Path, s: Shard, expected, keyed: bool, dec: _Decoder, erased: "Erased", res: Result,
                    progress: _Progress) -> None:
    """Walk the shard's sequences, its sidecar and the manifest rows meant to be in it, in step.

    `expected` yields (seq_index, doc_id, text_sha256, n_tokens, manifest file, row); with `keyed` False the
    seq_index is not the manifest's (a per-file shard after a merge) and the row order gives it."""
    budget = {"left": PER_SHARD, "more": 0}

    def fail(check, file, message, **where):  # one shifted row makes every later one differ: list a few
        if budget["left"] > 0 or check == "erasure":
            budget["left"] -= 1
            res.fail(check, file, message, **where)
        else:
            budget["more"] += 1

    side_rel = f"{s.rel}.parquet"
    side_path = out / side_rel
    if not side_path.is_file():
        fail("sidecar", side_rel, "missing")
        sides = _Peek(())
    else:
        try:
            sides = _Peek(_sidecar_rows(side_path))
        except Exception as e:
            fail("sidecar", side_rel, f"unreadable: {e}")
            sides = _Peek(())
    if not keyed:
        expected = ((i, *row[1:]) for i, row in enumerate(expected))
    exp = _Peek(expected)
    pos = 0  # position in the sidecar
    last_side, shift = -1, 0
    for i in range(s.n):
        side_doc = None
        while not sides.done and (sides.head[1] is None or sides.head[1] < i):
            d, q = sides.next()
            fail("sidecar", side_rel, f"row {pos} has seq_index {q} after {last_side} (out of order or repeated)",
                     row=pos, doc_id=d)
            if d in erased.doc_ids:
                fail("erasure", side_rel, "erased document is still in the sidecar", row=pos, doc_id=d)
            pos += 1
        if not sides.done and sides.head[1] == i:
            side_doc, _ = sides.next()
            if pos - i != shift:  # reported where the shift starts, not on every row after it
                fail("sidecar", side_rel, f"row {pos} holds sequence {i}: the rows before it do not match the "
                         "shard's sequences one to one", row=pos, doc_id=side_doc, sequence=i)
                shift = pos - i
            last_side = i
            pos += 1
        else:
            fail("sidecar", side_rel, f"no row for sequence {i}", sequence=i)
        row = None
        while not exp.done and exp.head[0] < i:
            q, d, *_rest, fn, r = exp.next()
            fail("manifest", _rel(out, fn), f"kept row points at {s.rel} sequence {q} twice or out of order",
                     row=r, doc_id=d, sequence=q)
        if not exp.done and exp.head[0] == i:
            row = exp.next()
        ids = s.tokens[int(s.pointers[i]) // 4: int(s.pointers[i]) // 4 + int(s.lengths[i])]
        digest, problem = dec.sha(ids)
        res.count("sequences decoded")
        progress.update(1)
        if problem:
            fail("tokens", f"{s.rel}.bin", f"sequence {i} {problem}", sequence=i, offset=int(s.pointers[i]),
                     doc_id=side_doc)
        if side_doc is not None and side_doc in erased.doc_ids:
            fail("erasure", side_rel, "erased document is still in the sidecar", sequence=i, doc_id=side_doc)
        if digest is not None and digest in erased.text_sha256:
            fail("erasure", f"{s.rel}.bin", "sequence decodes to an erased text (sha256 "
                     f"{digest[:16]}... in {ERASURE_LOG})", sequence=i, offset=int(s.pointers[i]), doc_id=side_doc)
        if row is None:
            fail("manifest", f"{s.rel}.bin", "no kept manifest row for this sequence", sequence=i, doc_id=side_doc)
            continue
        _, doc_id, text_sha, n_tokens, fn, r = row
        mrel = _rel(out, fn)
        if side_doc is not None and side_doc != doc_id:
            fail("sidecar", side_rel, f"sequence {i} is {side_doc!r} in the sidecar, {doc_id!r} in {mrel} row {r}",
                     sequence=i, doc_id=doc_id)
        if digest is not None and digest != (text_sha or hashlib.sha256(b"").hexdigest()):
            fail("text", f"{s.rel}.bin", f"sequence {i} decodes to sha256 {digest[:16]}..., {mrel} row {r} records "
                     f"{str(text_sha)[:16]}...", sequence=i, offset=int(s.pointers[i]), doc_id=doc_id)
        if n_tokens != int(s.lengths[i]):
            fail("manifest", mrel, f"n_tokens {n_tokens}, sequence {i} of {s.rel} has {int(s.lengths[i])}",
                     row=r, doc_id=doc_id, sequence=i)
    while not sides.done:
        d, q = sides.next()
        fail("sidecar", side_rel, f"row {pos} names sequence {q}, the shard has {s.n}", row=pos, doc_id=d)
        if d in erased.doc_ids:
            fail("erasure", side_rel, "erased document is still in the sidecar", row=pos, doc_id=d)
        pos += 1
    while not exp.done:
        q, d, *_rest, fn, r = exp.next()
        fail("manifest", _rel(out, fn), f"kept row points at {s.rel} sequence {q}, which does not exist"
                 if keyed else f"kept document has no sequence in {s.rel}", row=r, doc_id=d, sequence=q if keyed else None)
    if budget["more"]:
        res.fail("shard", f"{s.rel}.bin", f"{budget['more']} more mismatch(es) between this shard, its sidecar and the "
                 "manifests (the first ones are listed above)")


def _sidecar_only(out: Path, rel: str, erased: "Erased", res: Result) -> None:
    """A shard whose .idx/.bin cannot be read: still look for erased doc ids in its sidecar."""
    p = out / f"{rel}.parquet"
    if p.is_file() and erased.doc_ids:
        for k, (d, _) in enumerate(_sidecar_rows(p)):
            if d in erased.doc_ids:
                res.fail("erasure", f"{rel}.parquet", "erased document is still in the sidecar", row=k, doc_id=d)


# -- 5. erasures -------------------------------------------------------------------------------------------

@dataclass
class Erased:
    doc_ids: set = field(default_factory=set)
    text_sha256: set = field(default_factory=set)
    requests: int = 0


def read_erasures(out: Path, res: Result) -> Erased:
    er = Erased()
    log = out / ERASURE_LOG
    if not log.exists():
        return er
    with open(log, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                e = json.loads(line)
                ids, shas = list(e.get("doc_ids") or []), list(e.get("text_sha256") or [])
            except (ValueError, AttributeError, TypeError):
                res.fail("erasure", ERASURE_LOG, f"line {n} is not an erasure record (JSON object)", row=n)
                continue
            if e.get("status") != "done":
                res.warn("erasure", ERASURE_LOG, f"line {n}: request {e.get('request_id')} has status "
                                                 f"{e.get('status')!r}, not done; not checked")
                continue
            er.requests += 1
            er.doc_ids.update(ids)
            er.text_sha256.update(x for x in shas if x)
    res.count("erasure requests", er.requests)
    res.count("erased documents", len(er.doc_ids))
    return er


def check_erased_rows(out: Path, con, er: Erased, res: Result) -> None:
    if not er.doc_ids:
        return
    import pyarrow as pa

    ids = pa.table({"doc_id": pa.array(sorted(er.doc_ids), pa.string())})
    con.register("erased_ids", ids)
    for doc_id, fn, row, status, stage in con.execute(
            "SELECT e.doc_id, m.filename, m.file_row_number, m.status, m.stage FROM erased_ids e "
            "LEFT JOIN m USING (doc_id) WHERE m.doc_id IS NULL OR m.status IS DISTINCT FROM 'dropped' "
            "OR m.stage IS DISTINCT FROM 'erasure' ORDER BY e.doc_id").fetchall():
        if fn is None:
            res.fail("erasure", ERASURE_LOG, "erased document has no manifest row", doc_id=doc_id)
        else:
            res.fail("erasure", _rel(out, fn), f"erased document's row is {status}/{stage}, not dropped/erasure",
                     row=row, doc_id=doc_id)
    con.unregister("erased_ids")


# -- the whole ---------------------------------------------------------------------------------------------

def load_run(out: str | os.PathLike) -> tuple[Path, dict]:
    out = Path(out)
    if not out.is_dir():
        raise VerifyError(f"{out}: no such directory")
    if not (out / "run.json").is_file():
        raise VerifyError(f"{out}: not a finished curate run (no run.json); pass the run directory given as --out")
    try:
        info = json.loads((out / "run.json").read_text())
    except ValueError as e:
        raise VerifyError(f"{out}/run.json: not JSON ({e})") from None
    if not isinstance(info, dict) or "outputs" not in info:
        raise VerifyError(f"{out}/run.json: not a curate run record (no 'outputs')")
    if not (out / "manifests").is_dir():
        raise VerifyError(f"{out}: no manifests/ folder; not a curate run directory")
    return out, info


def _tokenizer_name(info: dict) -> str:
    for block in (info.get("pipeline") or {}).get("blocks") or []:
        if isinstance(block, dict) and "tokenize" in block:
            return (block["tokenize"] or {}).get("tokenizer") or "tekken_240718"
    return "tekken_240718"


def verify(out: str | os.PathLike, progress: bool = False, inputs: bool = True, megatron: bool | None = None) -> Result:
    """All checks on run directory OUT. `megatron=None`: use megatron-core when it is importable."""
    t0 = time.monotonic()
    out, info = load_run(out)
    res = Result()
    bar = _Progress(progress)
    try:
        check_checksums(out, info, res, bar, inputs=inputs)
        erased = read_erasures(out, res)
        _unreadable_manifests(out, res)
        import duckdb

        with tempfile.TemporaryDirectory(prefix="curate-verify-") as tmp:
            try:
                con = _connect(out, tmp)
            except FileNotFoundError as e:  # no readable manifest at all: nothing below can be checked
                res.fail("manifest", "manifests", str(e))
                con = None
            if con is not None:
                try:
                    check_manifests(out, info, con, res)
                    check_erased_rows(out, con, erased, res)
                    _check_shards(out, info, con, erased, res, bar, megatron)
                except duckdb.Error as e:  # a manifest whose footer reads but whose data does not
                    res.fail("manifest", "manifests", "manifests unreadable, checks stopped: "
                             + str(e).splitlines()[0])
                finally:
                    con.close()
    finally:
        bar.close()
    res.seconds = time.monotonic() - t0
    return res


def _check_shards(out: Path, info: dict, con, erased: Erased, res: Result, bar: _Progress, megatron: bool | None) -> None:
    if megatron is None:
        import importlib.util

        megatron = importlib.util.find_spec("megatron") is not None and \
            importlib.util.find_spec("megatron.core") is not None
    if megatron:
        import warnings

        with warnings.catch_warnings():  # its optional-kernel warnings are not about our shards
            warnings.simplefilter("ignore")
            try:
                import megatron.core.datasets.indexed_dataset  # noqa: F401
            except Exception as e:
                res.warn("megatron", None, f"megatron-core not usable ({type(e).__name__}: {e}); only our own reader checked")
                megatron = False
    res.checked["megatron-core"] = bool(megatron)
    dec = _Decoder(_tokenizer_name(info))
    recorded = {os.path.basename(n): sha for n, sha in (info.get("decision_files") or [])}
    name = os.path.basename(dec.path)
    if name in recorded and sha256_file(dec.path) != recorded[name]:
        res.warn("tokenizer", dec.path, "the installed tokenizer file differs from the run's; text checks may fail")

    shards: dict[str, Shard] = {}
    for rel in shard_prefixes(out):
        s = open_shard(out, rel, res)
        shards[rel] = s
        res.count("shards")
        if s.ok and megatron:
            megatron_check(s, res)
        if not s.ok:
            _sidecar_only(out, rel, erased, res)
    for p in sorted(x for sub in ("shards", "merged") if (out / sub).is_dir() for x in (out / sub).rglob("*.parquet")):
        rel = str(p.relative_to(out).with_suffix("")).replace(os.sep, "/")
        if rel not in shards:
            res.fail("sidecar", f"{rel}.parquet", "sidecar without its shard (.bin/.idx)")
    bar.start("verify sequences", sum(s.n for s in shards.values()), "seq")

    # kept rows by the shard they point at, in sequence order (DuckDB sorts, spilling when large)
    targeted: set[str] = set()
    rows = _stream(con, "SELECT shard, seq_index, doc_id, text_sha256, n_tokens, filename, file_row_number FROM m "
                        "WHERE status = 'kept' AND shard IS NOT NULL AND seq_index IS NOT NULL "
                        "ORDER BY shard, seq_index, filename, file_row_number")
    for shard, group in groupby(rows, key=lambda r: r[0]):
        targeted.add(shard)
        group = (r[1:] for r in group)
        s = shards.get(shard)
        if s is None or not s.ok:  # one line for all its rows: the shard's own failure says why
            q, d, _, _, fn, r = next(group)
            n = 1 + sum(1 for _ in group)
            res.fail("manifest", _rel(out, fn), f"{n} kept row(s) point at shard {shard}, which is "
                     + ("missing" if s is None else "unreadable") + " (first shown)", row=r, doc_id=d, sequence=q)
            continue
        _guarded(s, res, check_sequences, out, s, group, True, dec, erased, res, bar)
    # per-file shards no row points at any more (after a merge): their own manifest's kept rows, in order
    rest = [rel for rel, s in shards.items() if rel not in targeted and s.ok]
    per_file = {rel for rel in rest if rel.startswith("shards/")}
    if per_file:
        rows = _stream(con, "SELECT filename, 0, doc_id, text_sha256, n_tokens, filename, file_row_number FROM m "
                            "WHERE status = 'kept' ORDER BY filename, file_row_number")
        for fn, group in groupby(rows, key=lambda r: r[0]):
            rel = "shards/" + str(Path(_rel(out, fn)).relative_to("manifests").with_suffix("")).replace(os.sep, "/") \
                if _rel(out, fn).startswith("manifests/") else None
            if rel in per_file:
                per_file.discard(rel)
                rest.remove(rel)
                _guarded(shards[rel], res, check_sequences, out, shards[rel], (r[1:] for r in group), False, dec,
                         erased, res, bar)
    for rel in rest:  # nothing should be in these
        _guarded(shards[rel], res, check_sequences, out, shards[rel], iter(()), True, dec, erased, res, bar)
    bar.close()


def _guarded(s: Shard, res: Result, fn, *args) -> None:
    import duckdb

    try:
        fn(*args)
    except duckdb.Error:
        raise
    except Exception as e:  # e.g. a sidecar whose later row group is corrupt
        res.fail("shard", s.rel, f"could not be checked to the end: {type(e).__name__}: {e}")


def format_result(out, res: Result) -> str:
    lines = []
    for f in res.failures:
        where = ", ".join(f"{k} {f[k]}" for k in ("row", "sequence", "offset", "doc_id") if k in f)
        lines.append(f"FAIL [{f['check']}] {f['file'] or '-'}{' (' + where + ')' if where else ''}: {f['message']}")
    for k, n in sorted(res.suppressed.items()):
        check, file = k.split(":", 1)
        lines.append(f"FAIL [{check}] {file}: {n} more like the above")
    for w in res.warnings:
        lines.append(f"warning [{w['check']}] {w['file'] or '-'}: {w['message']}")
    c = res.checked
    summary = (f"{c.get('manifest rows', 0):,} manifest rows, {c.get('shards', 0)} shards, "
               f"{c.get('sequences decoded', 0):,} sequences decoded, {c.get('files hashed', 0)} outputs and "
               f"{c.get('inputs hashed', 0)} inputs hashed"
               + (", megatron-core reader" if c.get("megatron-core") else "")
               + (f", {c.get('erasure requests', 0)} erasure requests" if c.get("erasure requests") else "")
               + f" in {res.seconds:.1f} s")
    n_fail = len(res.failures) + sum(res.suppressed.values())
    lines.append(f"{out}: " + ("OK: every check holds" if res.ok else f"FAILED: {n_fail} problem(s)") + f" ({summary})")
    return "\n".join(lines)

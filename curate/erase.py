"""Erasure: documents taken out of a finished run's token stream after the fact, with a record of why.

A request selects documents by `url`, `doc_id`, `host` (exact, case-insensitive) or `text` (a snippet the
document's text contains, both normalised as in `curate.removal_list.normalise`; the text is the one in the
shards, i.e. after PII redaction, decoded from the document's sequence). Every selected document that is
kept leaves every shard that holds it (per-file `shards/` and, when the run was merged, `merged/`): those
shards and their sidecars are rewritten without its sequence (the other sequences' bytes unchanged, later
sequences renumbered), and its manifest row becomes `dropped` / `erasure` / `erasure.request`, the earlier
evidence kept in `detail` beside the request's. Selected documents that were not kept are reported, not
changed.

Files (outside manifests/, as DESIGN.md asks):
- `erasure/log.jsonl`: append-only, one line per request once it is done (`request_id`, `time`, `reason`,
  `selector`, `doc_ids`, `text_sha256`, `status`, ...).
- `erasure/pending/<batch>.json`: the journal of a batch being applied (planned changes, then the staged
  files with their sha256); its presence means "not finished, run the same command again".
- `erasure/docs/<batch>.jsonl`: the removal-list entries (window hashes, no text) of the batch's documents.

Atomicity: every new file is first written under `<target>.erase-<batch>.tmp`; the journal records them
(state `staged`), then they are renamed into place, run.json last, then the log lines are appended and the
journal removed. A kill at any point is completed by the next `curate erase` (any request), which first
finishes pending journals. Request id = sha256 of the normalised selector and reason: an identical request
again is a no-op.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curate.checksum import sha256_file
from curate.manifest import SCHEMA, dumps_detail
from curate.megatron import INT32, IndexedReader, write_index
from curate.removal_list import normalise, windows
from curate.sink import DONE_DIR, ROW_GROUP, SIDECAR_SCHEMA

KINDS = ("url", "doc_id", "host", "text")
ERASURE_DIR = "erasure"
LOG = f"{ERASURE_DIR}/log.jsonl"
PENDING = f"{ERASURE_DIR}/pending"
DOCS = f"{ERASURE_DIR}/docs"
MERGED = "merged"
MIN_TEXT_CHARS = 16  # a shorter snippet would match half the corpus ("the ")
STAGE, REASON = "erasure", "erasure.request"
CRASH_ENV = "CURATE_ERASE_CRASH_AT"
CRASH_POINTS = ("planned", "staging", "staged", "renaming", "renamed", "logged")


class ErasureError(Exception):
    """A request or run that cannot be processed; the message names the file (and line)."""


def _crash(step: str) -> None:
    """Test hook: die like `kill -9` at a named step."""
    if os.environ.get(CRASH_ENV) == step:
        os._exit(137)


def erase_time() -> str:
    """UTC now, or SOURCE_DATE_EPOCH when set (reproducible runs and tests)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    t = dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc) if epoch else dt.datetime.now(dt.timezone.utc)
    return t.isoformat(timespec="seconds")


# ---------------------------------------------------------------- requests

@dataclass(frozen=True)
class Request:
    kind: str
    value: str
    reason: str
    where: str = field(default="", compare=False)  # "file:line" for messages

    @property
    def selector(self) -> dict:
        return {self.kind: self.value}

    @property
    def request_id(self) -> str:
        key = json.dumps({"selector": self.selector, "reason": self.reason}, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def make_request(kind: str, value, reason, where: str = "") -> Request:
    at = f"{where}: " if where else ""
    kind = (kind or "").strip().lower().replace("-", "_")
    if kind not in KINDS:
        raise ErasureError(f"{at}unknown request kind {kind!r} (one of {', '.join(KINDS)})")
    if not isinstance(value, str) or not value.strip():
        raise ErasureError(f"{at}empty {kind}")
    if not isinstance(reason, str) or not reason.strip():
        raise ErasureError(f"{at}a reason is required (--reason, or a 'reason' field)")
    value = value.strip()
    if kind == "host":
        value = value.lower().rstrip(".")
    elif kind == "text":
        value = normalise(value)
        if len(value) < MIN_TEXT_CHARS:
            raise ErasureError(f"{at}text snippet {value!r} is shorter than {MIN_TEXT_CHARS} characters "
                               f"after normalisation; it would match too much")
    return Request(kind, value, " ".join(reason.split()), where)


def read_requests(path: str | os.PathLike, default_reason: str | None = None) -> list[Request]:
    """One request a line: JSON lines (`{"url": ..., "reason": ...}`, one of url/doc_id/host/text) or CSV
    with a header `kind,value,reason`. A line without a reason takes `default_reason`."""
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ErasureError(f"{path}: no such file") from None
    except UnicodeDecodeError as e:
        raise ErasureError(f"{path}: not UTF-8 ({e})") from None
    first = next((ln for ln in raw.splitlines() if ln.strip()), "")
    out: list[Request] = []
    if first.lstrip().startswith("{"):
        for n, line in enumerate(raw.splitlines(), 1):
            if not line.strip():
                continue
            where = f"{path}:{n}"
            try:
                obj = json.loads(line)
            except ValueError as e:
                raise ErasureError(f"{where}: not a JSON object ({e})") from None
            if not isinstance(obj, dict):
                raise ErasureError(f"{where}: not a JSON object")
            kinds = [k for k in obj if k.replace("-", "_") in KINDS]
            unknown = [k for k in obj if k not in kinds and k != "reason"]
            if len(kinds) != 1 or unknown:
                raise ErasureError(f"{where}: needs exactly one of {', '.join(KINDS)} and a reason "
                                   f"(got {', '.join(obj) or 'nothing'})")
            out.append(make_request(kinds[0], obj[kinds[0]], obj.get("reason") or default_reason, where))
    else:
        rows = csv.reader(io.StringIO(raw))
        try:
            head = [h.strip().lower() for h in next(rows)]
        except StopIteration:
            head = []
        if "kind" not in head or "value" not in head:
            raise ErasureError(f"{path}:1: neither JSON lines nor CSV with a header kind,value,reason "
                               f"(header: {','.join(head)!r})")
        ik, iv, ir = head.index("kind"), head.index("value"), head.index("reason") if "reason" in head else None
        for n, row in enumerate(rows, 2):
            if not any(c.strip() for c in row):
                continue
            where = f"{path}:{n}"
            if len(row) != len(head):
                raise ErasureError(f"{where}: {len(row)} fields, the header has {len(head)}")
            reason = (row[ir].strip() if ir is not None else "") or default_reason
            out.append(make_request(row[ik], row[iv], reason, where))
    if not out:
        raise ErasureError(f"{path}: no requests")
    return out


# ---------------------------------------------------------------- run files

def run_info(out: Path) -> dict:
    p = Path(out) / "run.json"
    if not p.exists():
        raise ErasureError(f"{out}: not a finished curate run (no run.json); pass the run directory given as --out")
    try:
        return json.loads(p.read_text())
    except ValueError as e:
        raise ErasureError(f"{p}: not JSON ({e})") from None


def read_log(out: Path) -> list[dict]:
    """The log's entries. A last line without its newline is a write cut short by a kill: not an entry."""
    p = Path(out) / LOG
    if not p.exists():
        return []
    data = p.read_text(encoding="utf-8")
    lines = data.split("\n")
    entries = []
    for n, line in enumerate(lines[:-1], 1):  # lines[-1] is "" or a torn tail
        if not line.strip():
            continue
        try:
            entries.append(json.loads(line))
        except ValueError as e:
            raise ErasureError(f"{p}:{n}: not JSON ({e})") from None
    return entries


def _append_log(out: Path, entries: list[dict]) -> None:
    p = out / LOG
    p.parent.mkdir(parents=True, exist_ok=True)
    if p.exists():
        data = p.read_bytes()
        if data and not data.endswith(b"\n"):  # a torn tail from a kill: drop it, its request is redone
            with open(p, "r+b") as f:
                f.truncate(data.rfind(b"\n") + 1)
    with open(p, "a", encoding="utf-8") as f:
        f.write("".join(json.dumps(e, sort_keys=True, ensure_ascii=False) + "\n" for e in entries))
        f.flush()
        os.fsync(f.fileno())


def committed_documents(out: Path) -> list[dict]:
    """Removal-list entries of every committed batch, in log order, one per document."""
    out = Path(out)
    batches: list[str] = []
    for e in read_log(out):
        b = e.get("batch_id")
        if b and b not in batches:
            batches.append(b)
    seen: set = set()
    docs = []
    for b in batches:
        p = out / DOCS / f"{b}.jsonl"
        if not p.exists():
            continue
        for line in p.read_text(encoding="utf-8").splitlines():
            d = json.loads(line)
            key = (d["doc_id"], d.get("text_sha256"))
            if key not in seen:
                seen.add(key)
                docs.append(d)
    return docs


def _write_parquet(path: Path, table: pa.Table, schema: pa.Schema) -> None:
    """The sink's and merge's writer settings (zstd, statistics, fixed row groups): same rows, same bytes."""
    with pq.ParquetWriter(path, schema, compression="zstd", write_statistics=True) as w:
        if table.num_rows == 0:
            w.write_table(table)
        for off in range(0, table.num_rows, ROW_GROUP):
            w.write_table(table.slice(off, ROW_GROUP))


def _write_bytes(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _tmp(target: Path, batch: str) -> Path:
    return target.with_name(f"{target.name}.erase-{batch}.tmp")


# ---------------------------------------------------------------- planning

def _sql_list(files: list[str]) -> str:
    return ", ".join("'" + f.replace("'", "''") + "'" for f in files)


def _dump_name(dump) -> str:
    from curate.merge import dump_name

    return dump_name(dump)


ROW_COLS = ["doc_id", "url", "host", "dump", "status", "stage", "reason", "shard", "seq_index", "n_tokens",
            "text_sha256"]


def _matches(out: Path, requests: list[Request], manifests: list[str], merged: bool) -> list[tuple[int, dict]]:
    """(request index, manifest row) for every row a request selects. Reads only the columns it needs."""
    import duckdb

    con = duckdb.connect()
    cols = ", ".join(ROW_COLS)
    con.execute(f"CREATE VIEW m AS SELECT filename, file_row_number, {cols} FROM read_parquet([{_sql_list(manifests)}], "
                f"filename=true, file_row_number=true, union_by_name=true)")
    keyed = [(i, r) for i, r in enumerate(requests) if r.kind != "text"]
    found: list[tuple[int, dict]] = []
    sel = f"SELECT r.i, m.filename, m.file_row_number, {', '.join('m.' + c for c in ROW_COLS)} FROM m JOIN req r ON "
    if keyed:
        req = pa.table({"i": [i for i, _ in keyed], "kind": [r.kind for _, r in keyed], "value": [r.value for _, r in keyed]})
        con.register("req", req)
        q = " UNION ALL ".join([
            sel + "r.kind = 'url' AND m.url = r.value",
            sel + "r.kind = 'doc_id' AND m.doc_id = r.value",
            sel + "r.kind = 'host' AND lower(m.host) = r.value"])
        found += _fetch(con, q)
        con.unregister("req")
    texts = [(i, r) for i, r in enumerate(requests) if r.kind == "text"]
    if texts:
        hits = _text_hits(out, texts, merged)  # (request index, shard, doc_id)
        if hits:
            req = pa.table({"i": [h[0] for h in hits], "shard": [h[1] for h in hits], "doc_id": [h[2] for h in hits]})
            con.register("req", req)
            found += _fetch(con, sel + "m.doc_id = r.doc_id AND m.shard = r.shard")
    return sorted(found, key=lambda t: (t[0], t[1]["filename"], t[1]["file_row_number"]))


def _fetch(con, q: str) -> list[tuple[int, dict]]:
    cur = con.execute(q)
    names = [d[0] for d in cur.description]
    return [(row[0], dict(zip(names[1:], row[1:]))) for row in cur.fetchall()]


def _text_hits(out: Path, texts: list[tuple[int, Request]], merged: bool) -> list[tuple[int, str, str]]:
    """Decode every sequence once and test each snippet (the only pass that reads the whole run): the
    shards the manifests point to, i.e. the merged ones after `curate merge` (per-file ones may be gone)."""
    from curate.tokenizer import get_tokenizer

    tok = get_tokenizer()
    hits = []
    folder = MERGED if merged else "shards"
    for side in sorted((out / folder).glob("*.parquet")):
        prefix = side.with_suffix("")
        if not Path(str(prefix) + ".idx").exists():
            continue
        reader = IndexedReader(prefix)
        doc_ids = pq.read_table(side, columns=["doc_id"]).column("doc_id").to_pylist()
        for seq, doc_id in enumerate(doc_ids):
            text = normalise(tok.decode(reader[seq]))
            for i, r in texts:
                if r.value in text:
                    hits.append((i, f"{folder}/{side.stem}", doc_id))
    return hits


def plan(out: str | os.PathLike, requests: list[Request]) -> dict:
    """What the requests change, read-only: the journal of the batch before anything is staged."""
    from curate.manifest import manifest_files

    out = Path(out).resolve()
    info = run_info(out)
    try:
        manifests = manifest_files(out)
    except FileNotFoundError as e:
        raise ErasureError(str(e)) from None
    merged = bool(info.get("merged")) and (out / MERGED).is_dir()
    found = _matches(out, requests, manifests, merged)
    time = erase_time()
    ids = [r.request_id for r in requests]
    batch = hashlib.sha256(" ".join(ids).encode()).hexdigest()[:16]

    per_request = [{"request_id": r.request_id, "selector": r.selector, "reason": r.reason, "doc_ids": [],
                    "text_sha256": [], "already_erased": [], "not_in_shards": []} for r in requests]
    docs: dict[tuple[str, int], dict] = {}  # (manifest, row) -> the erased document
    for i, row in found:
        manifest = str(Path(row["filename"]).resolve().relative_to(out))
        key = (manifest, int(row["file_row_number"]))
        entry = per_request[i]
        if row["status"] == "kept":
            d = docs.setdefault(key, {"manifest": manifest, "row": key[1], "stem": Path(manifest).stem,
                                      "requests": [], **{c: row[c] for c in ROW_COLS}})
            if requests[i].request_id not in [q["request_id"] for q in d["requests"]]:
                d["requests"].append({"request_id": requests[i].request_id, "reason": requests[i].reason,
                                      "selector": requests[i].selector})
                entry["doc_ids"].append(row["doc_id"])
                entry["text_sha256"].append(row["text_sha256"])
        elif row["stage"] == STAGE:
            entry["already_erased"].append(row["doc_id"])
        else:
            entry["not_in_shards"].append(row["doc_id"])
    doc_list = [docs[k] for k in sorted(docs)]

    # which sequence of which shard each erased document is: per-file sidecars always, merged ones if any
    shards: dict[str, list[int]] = defaultdict(list)
    by_stem: dict[str, list[dict]] = defaultdict(list)
    by_dump: dict[str, list[dict]] = defaultdict(list)
    for d in doc_list:
        by_stem[d["stem"]].append(d)
        by_dump[_dump_name(d["dump"])].append(d)
    for stem, ds in sorted(by_stem.items()):
        if merged and not (out / "shards" / f"{stem}.parquet").exists():
            continue  # per-file shards removed after the merge: the merged ones are all there is
        _locate(out, f"shards/{stem}", ds, shards, "per_file")
    if merged:
        for name, ds in sorted(by_dump.items()):
            if (out / MERGED / f"{name}.idx").exists():
                _locate(out, f"{MERGED}/{name}", ds, shards, "merged")
    for d in doc_list:
        if d["shard"] and d["shard"] not in shards:
            raise ErasureError(f"{out / d['manifest']}: kept document {d['doc_id']!r} points to {d['shard']}, "
                               f"which has no sidecar or index")

    # manifests to rewrite: those with erased rows, and those with rows later in a rewritten shard
    rewrite = {d["manifest"] for d in doc_list}
    if shards:
        import duckdb

        con = duckdb.connect()
        t = pa.table({"shard": list(shards), "first": [min(v) for v in shards.values()]})
        con.register("aff", t)
        for (f,) in con.execute(f"SELECT DISTINCT m.filename FROM read_parquet([{_sql_list(manifests)}], filename=true) m "
                                f"JOIN aff a ON m.shard = a.shard AND m.seq_index > a.first").fetchall():
            rewrite.add(str(Path(f).resolve().relative_to(out)))
    return {"format": "curate-erasure-journal", "version": 1, "batch_id": batch, "time": time, "state": "planned",
            "requests": per_request, "docs": doc_list,
            "shards": {k: sorted(v) for k, v in sorted(shards.items())}, "manifests": sorted(rewrite), "files": []}


def _locate(out: Path, shard: str, ds: list[dict], shards: dict, key: str) -> None:
    side = out / f"{shard}.parquet"
    if not side.exists():
        raise ErasureError(f"{side}: missing (the sidecar of {shard}, which holds kept documents)")
    ids = pq.read_table(side, columns=["doc_id"]).column("doc_id").to_pylist()
    where: dict[str, list[int]] = defaultdict(list)
    wanted = {d["doc_id"] for d in ds}
    for i, doc_id in enumerate(ids):
        if doc_id in wanted:
            where[doc_id].append(i)
    for d in ds:
        if not where.get(d["doc_id"]):
            raise ErasureError(f"{side}: kept document {d['doc_id']!r} has no sequence in it")
        seq = where[d["doc_id"]].pop(0)
        if d["shard"] == shard and d["seq_index"] != seq:
            raise ErasureError(f"{out / d['manifest']}: {d['doc_id']!r} points to {shard}:{d['seq_index']}, "
                               f"its sidecar says {seq}")
        d[key] = [shard, seq]
        shards[shard].append(seq)


# ---------------------------------------------------------------- staging

def _write_journal(out: Path, journal: dict) -> Path:
    p = out / PENDING / f"{journal['batch_id']}.json"
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    _write_bytes(tmp, json.dumps(journal, sort_keys=True, indent=1, ensure_ascii=False).encode("utf-8"))
    os.replace(tmp, p)
    return p


def _shard_without(out: Path, shard: str, remove: list[int], batch: str) -> tuple[list[tuple[Path, Path]], int, int]:
    """Stage `<shard>.bin/.idx/.parquet` without the sequences `remove`; returns (tmp, target) pairs, the
    sequences and tokens left. Kept sequences are copied as contiguous byte ranges (same bytes)."""
    prefix = out / shard
    reader = IndexedReader(prefix)
    if reader.dtype.itemsize != INT32:
        raise ErasureError(f"{prefix}.idx: token dtype {reader.dtype} (curate writes int32)")
    n = len(reader)
    keep = np.ones(n, dtype=bool)
    keep[np.asarray(remove, dtype=np.int64)] = False
    targets = [Path(f"{prefix}.bin"), Path(f"{prefix}.idx"), Path(f"{prefix}.parquet")]
    tmps = [_tmp(t, batch) for t in targets]
    lengths = reader.lengths[keep]
    with open(targets[0], "rb") as fin, open(tmps[0], "wb") as fout:
        i = 0
        while i < n:  # copy each run of kept sequences at once
            if not keep[i]:
                i += 1
                continue
            j = i
            while j < n and keep[j]:
                j += 1
            reader.copy_sequences(fin, fout, i, j, ErasureError)
            i = j
        fout.flush()
        os.fsync(fout.fileno())
    write_index(tmps[1], lengths)
    side = pq.read_table(targets[2]).filter(pa.array(keep))
    side = pa.table({"doc_id": side.column("doc_id"), "seq_index": pa.array(np.arange(side.num_rows, dtype=np.int64))},
                    schema=SIDECAR_SCHEMA)
    _write_parquet(tmps[2], side, SIDECAR_SCHEMA)
    return list(zip(tmps, targets)), int(keep.sum()), int(lengths.sum(dtype=np.int64))


def _removal_entries(out: Path, journal: dict) -> list[dict]:
    """Window hashes of each erased document's text, decoded from its per-file sequence before it goes."""
    from curate.tokenizer import get_tokenizer

    tok = get_tokenizer()
    readers: dict[str, IndexedReader] = {}
    entries = []
    for d in journal["docs"]:
        shard, seq = d.get("per_file") or d["merged"]
        r = readers.get(shard) or readers.setdefault(shard, IndexedReader(out / shard))
        text = tok.decode(r[seq])
        n_words, wins = windows(text)
        entries.append({"doc_id": d["doc_id"], "url": d["url"], "text_sha256": d["text_sha256"],
                        "decoded_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
                        "request_ids": [q["request_id"] for q in d["requests"]], "erased_at": journal["time"],
                        "n_words": n_words, "windows": wins})
    return entries


def _manifest_without(out: Path, rel: str, journal: dict, tmp: Path) -> None:
    table = pq.read_table(out / rel)
    erased = {d["row"]: d for d in journal["docs"] if d["manifest"] == rel}
    removed = journal["shards"]
    cols = {c: table.column(c).to_pylist() for c in ("status", "stage", "reason", "detail", "n_tokens", "shard",
                                                      "seq_index")}
    for i in range(table.num_rows):
        d = erased.get(i)
        if d is not None:
            try:
                detail = json.loads(cols["detail"][i] or "{}")
            except ValueError:
                detail = {"unparsed": cols["detail"][i]}
            detail[STAGE] = {"time": journal["time"], "requests": d["requests"],
                             "before": {c: cols[c][i] for c in ("status", "stage", "reason", "n_tokens", "shard",
                                                                "seq_index")}}
            cols["status"][i], cols["stage"][i], cols["reason"][i] = "dropped", STAGE, REASON
            cols["detail"][i] = dumps_detail(detail)
            cols["n_tokens"][i] = cols["shard"][i] = cols["seq_index"][i] = None  # as the sink writes a dropped row
            continue
        s, q = cols["shard"][i], cols["seq_index"][i]
        if s in removed and q is not None:
            k = bisect_left(removed[s], q)
            if k < len(removed[s]) and removed[s][k] == q:
                raise ErasureError(f"{out / rel}: row {i} points to {s}:{q}, a sequence being erased for another row")
            cols["seq_index"][i] = q - k
    types = {f.name: f.type for f in SCHEMA}
    for c, v in cols.items():
        table = table.set_column(table.schema.get_field_index(c), c, pa.array(v, types[c]))
    _write_parquet(tmp, table.cast(SCHEMA), SCHEMA)


def stage(out: Path, journal: dict) -> dict:
    """Write every new file under its temporary name; returns the journal in state `staged`."""
    batch = journal["batch_id"]
    files: list[dict] = []  # rename order: data, manifests, markers, run.json last
    new_sha: dict[str, str] = {}
    delete: list[str] = []
    left: dict[str, tuple[int, int]] = {}

    def add(tmp: Path, target: Path) -> None:
        rel = str(target.relative_to(out))
        new_sha[rel] = sha256_file(tmp)
        files.append({"target": rel, "tmp": str(tmp.relative_to(out)), "sha256": new_sha[rel]})

    # the removal-list entries first: they need the sequences still in the shards
    docs_target = out / DOCS / f"{batch}.jsonl"
    docs_target.parent.mkdir(parents=True, exist_ok=True)
    entries = _removal_entries(out, journal)
    docs_tmp = _tmp(docs_target, batch)
    _write_bytes(docs_tmp, "".join(json.dumps(e, sort_keys=True, ensure_ascii=False) + "\n" for e in entries).encode("utf-8"))
    add(docs_tmp, docs_target)
    _crash("staging")
    for shard, remove in journal["shards"].items():
        pairs, n_seq, n_tok = _shard_without(out, shard, remove, batch)
        left[shard] = (n_seq, n_tok)
        if n_seq == 0:  # as the sink and `curate merge` do: no shard files for a file or dump without kept documents
            for tmp, target in pairs:
                tmp.unlink()
                delete.append(str(target.relative_to(out)))
                files.append({"target": str(target.relative_to(out)), "delete": True})
            continue
        for tmp, target in pairs:
            add(tmp, target)
    for rel in journal["manifests"]:
        target = out / rel
        tmp = _tmp(target, batch)
        _manifest_without(out, rel, journal, tmp)
        add(tmp, target)

    # per-file completion markers: counts and checksums, so a later `curate run` of the run keeps them
    erased_by_stem: dict[str, list[dict]] = defaultdict(list)
    for d in journal["docs"]:
        erased_by_stem[d["stem"]].append(d)
    stems = sorted(set(erased_by_stem) | {Path(r).stem for r in journal["manifests"]})
    for stem in stems:
        marker = out / DONE_DIR / f"{stem}.json"
        if not marker.exists():
            continue
        m = json.loads(marker.read_text())
        ds = erased_by_stem.get(stem, [])
        m["kept"] -= len(ds)
        m["dropped"] += len(ds)
        m["tokens"] -= sum(int(d["n_tokens"] or 0) for d in ds)
        m["outputs"] = {k: new_sha.get(k, v) for k, v in m.get("outputs", {}).items() if k not in delete}
        tmp = _tmp(marker, batch)
        _write_bytes(tmp, json.dumps(m, sort_keys=True, indent=1).encode())
        add(tmp, marker)

    # run.json: checksums, totals, the merged section, an erasure summary
    info = run_info(out)
    n_docs = len(journal["docs"])
    outputs = {k: v for k, v in info.get("outputs", {}).items() if k not in delete}
    outputs.update({k: v for k, v in new_sha.items() if not k.startswith(ERASURE_DIR + "/") and not k.startswith(".curate/")})
    info["outputs"] = dict(sorted(outputs.items()))
    totals = info.get("totals") or {}
    for k, delta in (("kept", -n_docs), ("dropped", n_docs), ("tokens", -sum(int(d["n_tokens"] or 0) for d in journal["docs"]))):
        if k in totals:
            totals[k] += delta
    merged = info.get("merged") or {}
    for name in list(merged.get("dumps", {})):
        shard = f"{MERGED}/{name}"
        if shard not in left:
            continue
        if left[shard][0] == 0:
            del merged["dumps"][name]
            continue
        sec = merged["dumps"][name]
        sec["sequences"], sec["tokens"] = left[shard]
        sec["files"] = {k: new_sha.get(k, v) for k, v in sec.get("files", {}).items()}
    prior = info.get(STAGE) or {}
    info[STAGE] = {"log": LOG, "requests": prior.get("requests", 0) + len(journal["requests"]),
                   "documents": prior.get("documents", 0) + n_docs, "last": journal["time"]}
    run_json = out / "run.json"
    tmp = _tmp(run_json, batch)
    _write_bytes(tmp, json.dumps(info, indent=1, sort_keys=True, default=str).encode())
    add(tmp, run_json)
    journal = {**journal, "state": "staged", "files": files}
    _write_journal(out, journal)
    return journal


# ---------------------------------------------------------------- commit

def commit(out: Path, journal: dict) -> None:
    """Rename the staged files into place (run.json last), append the log, drop the journal. Safe to repeat
    after a kill: a file already renamed is recognised by its sha256."""
    for k, f in enumerate(journal["files"]):
        target = out / f["target"]
        if f.get("delete"):
            target.unlink(missing_ok=True)
        else:
            tmp = out / f["tmp"]
            if tmp.exists():
                os.replace(tmp, target)
            elif not target.exists() or sha256_file(target) != f["sha256"]:
                raise ErasureError(f"{out / PENDING / (journal['batch_id'] + '.json')}: {f['tmp']} is gone and "
                                   f"{f['target']} is not the staged file; the run changed under the erasure")
        if k == 0:
            _crash("renaming")
    _crash("renamed")
    logged = {e.get("request_id") for e in read_log(out)}
    entries = [{**r, "time": journal["time"], "batch_id": journal["batch_id"], "status": "done",
                "shards_rewritten": sorted(journal["shards"])}
               for r in journal["requests"] if r["request_id"] not in logged]
    if entries:
        _append_log(out, entries)
    _crash("logged")
    (out / PENDING / f"{journal['batch_id']}.json").unlink(missing_ok=True)


def pending(out: Path) -> list[dict]:
    d = Path(out) / PENDING
    if not d.is_dir():
        return []
    out_ = []
    for p in sorted(d.glob("*.json")):
        try:
            out_.append(json.loads(p.read_text()))
        except ValueError as e:
            raise ErasureError(f"{p}: not JSON ({e}); it is the journal of an unfinished erasure") from None
    return out_


def _clean_tmps(out: Path, batch: str) -> None:
    for sub in ("shards", MERGED, "manifests", DONE_DIR, DOCS, "."):
        d = out / sub
        if d.is_dir():
            for p in d.glob(f"*.erase-{batch}.tmp"):
                p.unlink()


def finish(out: Path, journal: dict) -> dict:
    """Take a journal from wherever it stopped to done."""
    if journal["state"] == "planned":  # nothing renamed yet: staging again gives the same files
        _clean_tmps(out, journal["batch_id"])
        journal = stage(out, journal)
        _crash("staged")
    commit(out, journal)
    return journal


@dataclass
class Result:
    resumed: list[dict]
    noop: list[Request]
    journal: dict | None
    dry_run: bool = False


def erase(out: str | os.PathLike, requests: list[Request], dry_run: bool = False) -> Result:
    """Apply the requests as one batch (one pass over the manifests); finishes any interrupted batch first."""
    out = Path(out).resolve()
    if not out.is_dir():
        raise ErasureError(f"{out}: no such run directory")
    run_info(out)
    if dry_run:
        return _erase(out, requests, True)
    import fcntl

    (out / ERASURE_DIR).mkdir(exist_ok=True)
    with open(out / ERASURE_DIR / "lock", "w") as lock:  # two erasures of one run at once would interleave renames
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ErasureError(f"{out}: another curate erase is running on this run ({ERASURE_DIR}/lock)") from None
        return _erase(out, requests, False)


def _erase(out: Path, requests: list[Request], dry_run: bool) -> Result:
    resumed = []
    if not dry_run:
        for j in pending(out):
            resumed.append(finish(out, j))
    done = {e.get("request_id") for e in read_log(out)}
    unique: dict[str, Request] = {}
    for r in requests:
        unique.setdefault(r.request_id, r)
    if dry_run:
        for j in pending(out):  # an unfinished batch counts as what will happen
            done |= {r["request_id"] for r in j["requests"]}
    todo = [r for r in unique.values() if r.request_id not in done]
    noop = [r for r in unique.values() if r.request_id in done]
    if not todo:
        return Result(resumed, noop, None, dry_run)
    journal = plan(out, todo)
    if dry_run:
        return Result(resumed, noop, journal, True)
    _write_journal(out, journal)
    _crash("planned")
    journal = finish(out, journal)
    return Result(resumed, noop, journal)

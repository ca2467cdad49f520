"""The published removal list: which erased documents a model's output must not reproduce, as hashes of
normalised overlapping word windows (no text). Format `curate-removal-list` version 1, JSON lines:

- line 1, the header: `{"format": "curate-removal-list", "version": 1, "normalisation": ..., "window_words": 50,
  "stride_words": 25, "hash": "sha256", "hash_hex_chars": 16, "run_id": ..., "documents": N, "created": ...}`
- then one line per erased document: `{"doc_id", "url", "text_sha256", "request_ids", "erased_at", "n_words",
  "windows": [16-hex-char prefixes of sha256]}`.

Normalisation: Unicode NFKC, then lower-case (Python `str.lower`), then split into words on runs of
whitespace (Python `str.split()` with no argument); words are joined by one space (U+0020) and UTF-8 encoded.
Windows: the words [s, s+50) for s = 0, 25, 50, ... while s + 50 <= n; when n > 50 and the last of these
does not end at n, also [n-50, n); a document of n <= 50 words has one window, all of its words.
The hash of a window is the first 16 hex characters of sha256 of its UTF-8 bytes.

Applying it: normalise the candidate text the same way and hash every run of 50 consecutive words (stride 1),
and every run of n words for each n < 50 that some listed document has; a hash found in a document's
`windows` means the text overlaps it. Any 75 consecutive words of an erased document, its first or last 50
words, or the whole of a document shorter than 50 words are always found.
"""
from __future__ import annotations

import hashlib
import json
import os
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

FORMAT = "curate-removal-list"
VERSION = 1
WINDOW = 50
STRIDE = 25
HEX_CHARS = 16
NORMALISATION = ("NFKC, then lower-case (Python str.lower), then words = str.split() (runs of whitespace), "
                 "joined by one space, UTF-8")


class RemovalListError(Exception):
    """A removal list that cannot be read (names the file and line)."""


def normalise(text: str) -> str:
    """The text as matching sees it: NFKC, lower-case, whitespace runs collapsed to one space, trimmed."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def words(text: str) -> list[str]:
    return normalise(text).split(" ") if text.strip() else []


def window_hash(ws: list[str]) -> str:
    return hashlib.sha256(" ".join(ws).encode("utf-8")).hexdigest()[:HEX_CHARS]


def windows(text: str) -> tuple[int, list[str]]:
    """(number of words, the document's window hashes in order, duplicates removed)."""
    w = words(text)
    n = len(w)
    if n == 0:
        return 0, []
    if n <= WINDOW:
        return n, [window_hash(w)]
    starts = list(range(0, n - WINDOW + 1, STRIDE))
    if starts[-1] + WINDOW != n:  # the tail, so a document's last words are covered too
        starts.append(n - WINDOW)
    seen: dict[str, None] = {}
    for s in starts:
        seen.setdefault(window_hash(w[s:s + WINDOW]))
    return n, list(seen)


def header(run_id: str | None, documents: int, created: str) -> dict:
    return {"format": FORMAT, "version": VERSION, "normalisation": NORMALISATION, "window_words": WINDOW,
            "stride_words": STRIDE, "tail_window": True, "hash": "sha256", "hash_hex_chars": HEX_CHARS,
            "run_id": run_id, "documents": documents, "created": created}


def export(run_dir: str | os.PathLike, dest: str | os.PathLike) -> int:
    """Write the removal list of every committed erasure of the run to `dest`; returns the document count."""
    from curate.erase import committed_documents, erase_time, run_info

    run_dir = Path(run_dir)
    info = run_info(run_dir)
    docs = committed_documents(run_dir)
    dest = Path(dest)
    tmp = dest.with_name(dest.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps(header(info.get("run_id"), len(docs), erase_time()), sort_keys=True) + "\n")
        for d in docs:
            entry = {k: d.get(k) for k in ("doc_id", "url", "text_sha256", "request_ids", "erased_at", "n_words",
                                           "windows")}
            f.write(json.dumps(entry, sort_keys=True, ensure_ascii=False) + "\n")
    os.replace(tmp, dest)
    return len(docs)


@dataclass
class RemovalList:
    header: dict
    docs: list[dict]
    by_hash: dict[str, list[int]] = field(default_factory=dict)
    lengths: set[int] = field(default_factory=set)


def load(path: str | os.PathLike) -> RemovalList:
    path = Path(path)
    if not path.is_file():
        raise RemovalListError(f"{path}: no such file")
    docs: list[dict] = []
    head = None
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as e:
                raise RemovalListError(f"{path}:{n}: not JSON ({e})") from None
            if head is None:
                if obj.get("format") != FORMAT:
                    raise RemovalListError(f"{path}:{n}: not a {FORMAT} header (format={obj.get('format')!r})")
                if obj.get("version") != VERSION or obj.get("window_words") != WINDOW or obj.get("hash_hex_chars") != HEX_CHARS:
                    raise RemovalListError(f"{path}:{n}: unsupported version/parameters "
                                           f"(version {obj.get('version')}, window {obj.get('window_words')}, "
                                           f"{obj.get('hash_hex_chars')} hex chars)")
                head = obj
                continue
            if not isinstance(obj.get("windows"), list) or not isinstance(obj.get("n_words"), int):
                raise RemovalListError(f"{path}:{n}: a document line needs 'windows' (list) and 'n_words' (int)")
            docs.append(obj)
    if head is None:
        raise RemovalListError(f"{path}: empty (no header line)")
    rl = RemovalList(head, docs)
    by_hash: dict[str, list[int]] = defaultdict(list)
    for i, d in enumerate(docs):
        for h in d["windows"]:
            by_hash[h].append(i)
        if 0 < d["n_words"] < WINDOW:
            rl.lengths.add(d["n_words"])
    rl.lengths.add(WINDOW)
    rl.by_hash = dict(by_hash)
    return rl


def check(rl: RemovalList, text: str) -> list[dict]:
    """The listed documents the text overlaps, most matched windows first: doc_id, url, windows matched
    (distinct windows of the document found in the text) and the document's window count."""
    w = words(text)
    hits: dict[int, set[str]] = defaultdict(set)
    for length in sorted(rl.lengths):
        for s in range(0, len(w) - length + 1):
            h = window_hash(w[s:s + length])
            for i in rl.by_hash.get(h, ()):
                if length == WINDOW or rl.docs[i]["n_words"] == length:  # a short document matches only whole
                    hits[i].add(h)
    out = [{"doc_id": rl.docs[i].get("doc_id"), "url": rl.docs[i].get("url"), "windows_matched": len(hs),
            "windows": len(rl.docs[i]["windows"])} for i, hs in hits.items()]
    return sorted(out, key=lambda r: (-r["windows_matched"], str(r["doc_id"])))

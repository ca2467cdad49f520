"""robots.txt history: Common Crawl robotstxt WARCs and Wayback Machine CDX exports into the robots cache.

``curate robots import-warc FILE... --cache DIR`` and ``curate robots import-cdx CDX.json... --raw DIR --cache
DIR`` (registered on the `robots` group here, as `curate.rank` registers ``rank``). curate never
downloads these files; the README says how to.

Each capture becomes a time-stamped snapshot (dated by ``WARC-Date`` or the CDX timestamp), so the
``as-of-crawl`` policy sees the site's history. What a capture becomes follows the live fetcher
(`curate.robots.fetch`), using its redirect rules (`is_redirect`, `next_hop`, `url_key`):

- the HTTP status is recorded; the body is kept as it is, HTML included (the fetcher does not judge content
  types either: an HTML page at 200 parses to no rules), cut at ``max_bytes`` (``truncated``; a record with a
  ``WARC-Truncated`` header is truncated too);
- a 3xx with a Location is followed, as the fetcher follows it, to the capture of the target URL nearest in
  time (within ``redirect_window``, either side: the crawler may have had the target cached) in the files of
  the same import. The snapshot then has the target's status and body, ``final_url`` the target and
  ``redirects`` the hops. Loops, too many hops and non-http targets become the fetcher's error codes. A
  target that was not captured leaves the snapshot at the 3xx (the policy's "redirect not resolved" rule);
  the summary counts these.

Collapsing duplicates (Common Crawl fetches a host many times per crawl). A capture's identity is
``(status, error, body sha256)``. Per origin, captures and the snapshots already in the cache are put in time
order (ties by identity); a capture is added only when the entry before it in that order has a different
identity. So each run of identical captures keeps its earliest one: a host whose body changed between 2017
and 2024 gets two snapshots, not one per fetch, and importing the same files again adds nothing (every
capture then follows an identical snapshot or is one). Snapshots are never removed: an import of an older
crawl that starts a run earlier adds that earlier snapshot and leaves the later one in place. Redirects
are resolved within one import only, so import the WARCs of one crawl together.

Streaming: records are decompressed one gzip member at a time, in small reads, and parsed by warcio as they
come, into a temporary SQLite work file (captures and bodies, each distinct body once); the second pass reads it
back per origin in time order and appends snapshots to the cache in bounded batches. Memory does not grow
with the size or number of input files (the robots cache itself is loaded as `RobotsCache` always loads).

Broken input is counted by kind and reported, never fatal: ``bad_gzip`` (corrupt member or data between
members), ``truncated_gzip`` (file ends inside a member), ``short_record`` (fewer bytes than its
Content-Length), ``bad_record`` (not a WARC record; an uncompressed WARC, which has no gzip member to resume
at, stops there), ``missing_header`` (no WARC-Target-URI or WARC-Date), ``bad_date``, ``no_http_response``
(a response record without an HTTP status line), ``not_http_uri``, ``not_robots_uri`` (a response for a URL
other than ``/robots.txt`` that no redirect led to). Records other than ``response`` (request, warcinfo,
metadata, revisit: a revisit repeats an earlier capture) are read and skipped.

CDX exports are read whole (one short row per capture). A row becomes a capture with its raw file (see
`raw_file_names`); a 2xx row without one is ``missing_raw_file`` and listed; a row of another status without
one is imported with an empty body (the policy decides those statuses without the body). A raw file whose
SHA-1 is not the row's digest is imported and counted. Other CDX errors: ``bad_row``, ``not_robots_uri``,
``no_status`` (revisit rows have ``-``). A ``redirect`` field, when the export has one, is the Location.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import sqlite3
import tempfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from itertools import groupby
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Iterator
from urllib.parse import urlsplit

import click
from warcio.archiveiterator import ArchiveIterator
from warcio.recordloader import ArcWarcRecordLoader

from curate.robots.cache import (
    MIN_BODY_BYTES,
    CacheError,
    RobotsCache,
    Snapshot,
    normalize_netloc,
    parse_timestamp,
    snapshot_from_body,
)
from curate.robots.cli import _fail, robots
from curate.robots.fetch import MAX_REDIRECTS, classify_error, is_redirect, next_hop, url_key

__all__ = ["ImportSummary", "import_cdx", "import_warcs", "raw_file_names"]

_READ = 64 * 1024
_GZIP_MAGIC = b"\x1f\x8b\x08"
_BATCH_ROWS = 5000  # snapshots per cache part file ...
_BATCH_BYTES = 64 * 1024 * 1024  # ... or fewer, when their bodies add up to this
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
DEFAULT_REDIRECT_WINDOW = 86400.0  # seconds either side of a redirect to look for its target's capture


@dataclass
class ImportSummary:
    """What an import did. ``errors`` counts broken input by kind (see the module docstring)."""

    records: int = 0  # WARC records (every type) or CDX rows read
    captures: int = 0  # robots.txt responses / CDX rows that could become a snapshot
    redirect_targets: int = 0  # non-robots.txt records used as a redirect's target
    added: int = 0
    duplicates: int = 0  # captures collapsed into an earlier identical capture or snapshot
    unresolved_redirects: int = 0  # redirects whose target was not captured: kept as the 3xx
    digest_mismatches: int = 0  # CDX raw files whose SHA-1 is not the row's digest (imported anyway)
    errors: Counter = field(default_factory=Counter)
    missing: list[str] = field(default_factory=list)  # CDX rows without a raw file: "timestamp original"
    parts: list[Path] = field(default_factory=list)

    def line(self, kind: str = "records") -> str:
        """The one-line summary the commands print."""
        errors = sum(self.errors.values())
        detail = ", ".join(f"{k}: {v}" for k, v in sorted(self.errors.items()))
        text = (f"{self.records} {kind} read, {self.captures} captures, {self.added} snapshots added, "
                f"{self.duplicates} duplicates collapsed, {errors} errors" + (f" ({detail})" if detail else ""))
        if self.redirect_targets:
            text += f", {self.redirect_targets} redirect targets used"
        if self.unresolved_redirects:
            text += f", {self.unresolved_redirects} redirects not captured (kept as 3xx)"
        if self.digest_mismatches:
            text += f", {self.digest_mismatches} raw files not matching their CDX digest (imported)"
        return text


# ------------------------------------------------------------------------------------------------------
# The work file: every capture (metadata) and every distinct body, on disk
# ------------------------------------------------------------------------------------------------------
class _Work:
    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path)
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("PRAGMA temp_store=FILE")  # sorts spill to disk: bounded memory
        self.db.execute(
            "CREATE TABLE rec (id INTEGER PRIMARY KEY, key TEXT NOT NULL, url TEXT NOT NULL, t INTEGER NOT NULL,"
            " status INTEGER, location TEXT, error TEXT, sha TEXT NOT NULL, truncated INTEGER NOT NULL,"
            " robots INTEGER NOT NULL, scheme TEXT, host TEXT)"
        )
        self.db.execute("CREATE TABLE used (id INTEGER PRIMARY KEY)")  # records a redirect led to
        self.db.execute("CREATE TABLE body (sha TEXT PRIMARY KEY, data BLOB NOT NULL)")
        # The empty body: what a refused redirect records (as the fetcher does), captured or not.
        self.db.execute("INSERT INTO body VALUES (?, ?)", (hashlib.sha256(b"").hexdigest(), b""))

    def add(self, url: str, key: str, when: datetime, status: int | None, location: str | None,
            error: str | None, body: bytes, truncated: bool, origin: tuple[str, str] | None) -> None:
        sha = hashlib.sha256(body).hexdigest()
        if origin is not None:  # the robots.txt URL as the fetcher writes it (its final_url before any redirect)
            url = f"{origin[0]}://{origin[1]}/robots.txt"
        self.db.execute("INSERT OR IGNORE INTO body VALUES (?, ?)", (sha, body))
        self.db.execute(
            "INSERT INTO rec (key, url, t, status, location, error, sha, truncated, robots, scheme, host)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (key, url, _micros(when), status, location, error, sha, int(truncated), int(origin is not None),
             origin[0] if origin else None, origin[1] if origin else None),
        )

    def index(self) -> None:
        self.db.execute("CREATE INDEX rec_key ON rec (key, t)")
        self.db.execute("CREATE INDEX rec_origin ON rec (robots, scheme, host, t)")
        self.db.commit()

    def body(self, sha: str) -> bytes:
        return self.db.execute("SELECT data FROM body WHERE sha = ?", (sha,)).fetchone()[0]


def _micros(moment: datetime) -> int:
    delta = moment - _EPOCH  # exact integer arithmetic: a float would round some microseconds
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def _from_micros(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def _key_text(url: str) -> str:
    return "\x00".join(url_key(url))  # raises ValueError for a non-http(s) URL


def _robots_origin(url: str) -> tuple[str, str] | None:
    """``(scheme, host)`` when ``url`` is an origin's ``/robots.txt``, else None."""
    parts = urlsplit(url)
    if parts.path != "/robots.txt" or parts.query:
        return None
    scheme = parts.scheme.lower()
    return scheme, normalize_netloc(scheme, parts.netloc)


def _read_capped(stream, max_bytes: int) -> tuple[bytes, bool]:
    """At most ``max_bytes`` of ``stream`` (True when more was there), read in small chunks."""
    chunks, size = [], 0
    while size <= max_bytes:
        data = stream.read(min(_READ, max_bytes + 1 - size))
        if not data:
            return b"".join(chunks), False
        chunks.append(data)
        size += len(data)
    return b"".join(chunks)[:max_bytes], True


# ------------------------------------------------------------------------------------------------------
# Pass 2: resolve redirects, collapse duplicates, append to the cache
# ------------------------------------------------------------------------------------------------------
@dataclass
class _Resolved:
    t: int
    status: int | None
    error: str | None
    sha: str
    truncated: bool
    final_url: str | None
    redirects: int

    @property
    def identity(self) -> tuple:
        return (self.status, self.error, self.sha)


def _resolve(work: _Work, row: tuple, window_us: int, summary: ImportSummary) -> _Resolved:
    """One capture as the fetcher would have recorded it, following redirects through other captures."""
    _id, url, t, status, location, error, sha, truncated = row
    start, redirects, seen = t, 0, {url_key(url)}
    while error is None and is_redirect(status, location):
        try:
            target = next_hop(url, location, seen, redirects, MAX_REDIRECTS)
        except Exception as exc:  # the fetcher's refusal codes: bad_redirect, redirect_loop, too_many_redirects
            return _Resolved(start, None, classify_error(exc), hashlib.sha256(b"").hexdigest(), False, url, redirects)
        hop = work.db.execute(
            "SELECT id, url, t, status, location, error, sha, truncated FROM rec WHERE key = ? AND t BETWEEN ? AND ?"
            " ORDER BY abs(t - ?), id LIMIT 1",
            (_key_text(target), t - window_us, t + window_us, t),
        ).fetchone()
        if hop is None:
            summary.unresolved_redirects += 1
            break  # not captured: the snapshot stays at this 3xx (the policy's unresolved-redirect rule)
        # A separate table: pass 2 reads rec through an open cursor, which must not see rec change.
        work.db.execute("INSERT OR IGNORE INTO used VALUES (?)", (hop[0],))
        redirects += 1
        _id, url, t, status, location, error, sha, truncated = hop
    return _Resolved(start, status, error, sha, bool(truncated), url, redirects)


def _existing(cache: RobotsCache, scheme: str, host: str) -> list[tuple[int, tuple]]:
    """(time, identity) of the origin's robots.txt snapshots already in the cache, in time order."""
    out = []
    for snap in cache.snapshots(scheme, host):
        if getattr(snap, "kind", "robots") != "robots":  # other files of the origin (tdmrep.json) are not history
            continue
        out.append((_micros(snap.fetched_at), (snap.status, snap.error, snap.sha256)))
    return out


def _collapse_into(work: _Work, cache: RobotsCache, summary: ImportSummary, max_bytes: int,
                   window_s: float) -> None:
    work.index()
    window_us = int(window_s * 1_000_000)
    present = cache.hosts() if cache.path.is_dir() and cache.part_files() else set()
    writer = RobotsCache(cache.path)  # never loaded: the parts it writes stay out of memory
    batch: list[Snapshot] = []
    batch_bytes = 0
    # One cursor over every capture in (origin, time) order (the index, no sort in memory), one origin at a time.
    cursor = work.db.cursor().execute(
        "SELECT scheme, host, id, url, t, status, location, error, sha, truncated FROM rec"
        " WHERE robots = 1 ORDER BY robots, scheme, host, t, id")
    for (scheme, host), group in groupby(cursor, key=lambda row: (row[0], row[1])):
        rows = [row[2:] for row in group]  # one origin's captures (tens per crawl)
        resolved = sorted((_resolve(work, row, window_us, summary) for row in rows),
                          key=lambda r: (r.t, _order(r.identity)))
        history = _existing(cache, scheme, host) if (scheme, host) in present else []
        previous: tuple | None = None
        position = 0
        for capture in resolved:
            # The entry just before this capture in time order, counting snapshots already cached.
            while position < len(history) and (history[position][0], _order(history[position][1])) <= (
                    capture.t, _order(capture.identity)):
                previous = history[position][1]
                position += 1
            if capture.identity == previous:
                summary.duplicates += 1
                continue
            previous = capture.identity
            body = work.body(capture.sha)
            snap = snapshot_from_body(scheme, host, body, _from_micros(capture.t), status=capture.status,
                                      error=capture.error, final_url=capture.final_url,
                                      redirects=capture.redirects, truncated=capture.truncated,
                                      max_bytes=max_bytes)
            batch.append(snap)
            batch_bytes += len(snap.body)
            summary.added += 1
            if len(batch) >= _BATCH_ROWS or batch_bytes >= _BATCH_BYTES:
                summary.parts.append(writer.append(batch))
                batch, batch_bytes = [], 0
    if batch:
        summary.parts.append(writer.append(batch))
    summary.redirect_targets = work.db.execute(
        "SELECT count(*) FROM rec WHERE robots = 0 AND id IN (SELECT id FROM used)").fetchone()[0]
    unused = work.db.execute(
        "SELECT count(*) FROM rec WHERE robots = 0 AND id NOT IN (SELECT id FROM used)").fetchone()[0]
    if unused:
        summary.errors["not_robots_uri"] += unused


def _order(identity: tuple) -> tuple:
    status, error, sha = identity
    return (-1 if status is None else status, error or "", sha)


# ------------------------------------------------------------------------------------------------------
# WARC input
# ------------------------------------------------------------------------------------------------------
class _Broken(Exception):
    """The input stream itself is broken here (``code``); reading resumes at the next gzip member."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class _WarcStream(io.RawIOBase):
    """The decompressed bytes of one gzip member of a WARC file at a time, for warcio to parse as an
    uncompressed WARC, streaming (`_READ` bytes of output per read, so memory stays bounded).

    Common Crawl compresses each record on its own; reading a member to its end (``b""``) before moving on
    with `next_member` keeps a broken or short record from swallowing the next one. A corrupt member raises
    `_Broken` (``bad_gzip``) and the next member is found by its gzip header; a file that ends inside a member
    raises ``truncated_gzip``; bytes between members are skipped and counted (``bad_gzip``). A file that does
    not start with a gzip header is one "member" read as it is (an uncompressed WARC)."""

    def __init__(self, handle: BinaryIO, errors: Counter) -> None:
        self.handle, self.errors = handle, errors
        self.gzip = handle.read(len(_GZIP_MAGIC)) == _GZIP_MAGIC
        handle.seek(0)
        self.pending = b""  # compressed bytes read from the file and not yet decompressed
        self.at_eof = False
        self.decomp: Any = None  # the current member's decompressor; None between members
        self.in_member = False
        self.resyncing = False  # after a corrupt member: the bytes skipped are part of it, not counted again
        self.started = False
        self.deferred: _Broken | None = None  # a break found while filling a read, raised by the next one

    def readable(self) -> bool:
        return True

    def _refill(self) -> bool:
        data = self.handle.read(_READ)
        if not data:
            self.at_eof = True
            return False
        self.pending += data
        return True

    def next_member(self) -> bool:
        """Finish the current member (its unread rest is decompressed and dropped) and start the next one;
        False at the end of the file."""
        if not self.gzip:
            first, self.started = not self.started, True
            return first
        while self.in_member or self.deferred is not None:  # the rest of a member whose record was not parsed
            try:
                if not self.read(_READ):
                    break
            except _Broken as exc:
                self.errors[exc.code] += 1
        while len(self.pending) < len(_GZIP_MAGIC) and not self.at_eof:
            self._refill()
        if not self.pending:
            return False
        if not self.pending.startswith(_GZIP_MAGIC):
            if not self.resyncing:
                self.errors["bad_gzip"] += 1  # bytes that are not a gzip member
            found = self.pending.find(_GZIP_MAGIC, 1)
            while found < 0 and not self.at_eof:
                self.pending = self.pending[-(len(_GZIP_MAGIC) - 1):]
                self._refill()
                found = self.pending.find(_GZIP_MAGIC, 1)
            if found < 0:
                self.pending = b""
                return False
            self.pending = self.pending[found:]
        self.resyncing = False
        self.decomp, self.in_member = zlib.decompressobj(wbits=31), True
        return True

    def read(self, size: int = -1) -> bytes:
        if not self.gzip:
            return self.handle.read(_READ if size is None or size < 0 else size)
        size = _READ if size is None or size <= 0 else min(size, _READ)
        if self.deferred is not None:
            broken, self.deferred = self.deferred, None
            raise broken
        # Full reads up to the member's end: warcio mis-detects the format when a member's first read is tiny.
        out, got = [], 0
        while got < size:
            try:
                piece = self._read_some(size - got)
            except _Broken as exc:
                if out:  # hand over what came before the break; the next read raises it
                    self.deferred = exc
                    break
                raise
            if not piece:
                break
            out.append(piece)
            got += len(piece)
        return b"".join(out)

    def _read_some(self, size: int) -> bytes:
        while self.in_member:
            if not self.pending and not self._refill():
                piece = self.decomp.decompress(b"", size)  # zlib may still hold output for input it has
                if piece:
                    return piece
                self.in_member = False
                raise _Broken("truncated_gzip")
            try:
                piece = self.decomp.decompress(self.pending, size)  # bounded output: no decompression bomb
            except zlib.error:
                self.in_member, self.resyncing = False, True
                self.pending = self.pending[1:]  # the next gzip header is somewhere after this point
                raise _Broken("bad_gzip") from None
            if self.decomp.eof:
                self.pending, self.in_member = self.decomp.unused_data, False
            else:
                self.pending = self.decomp.unconsumed_tail
            if piece:
                return piece
        return b""


class _Loader(ArcWarcRecordLoader):
    """warcio's record loader, except that a response without a WARC-Target-URI is read (and then reported
    as ``missing_header``) instead of failing inside warcio."""

    def load_http_headers(self, rec_type, uri, stream, length):  # type: ignore[no-untyped-def]
        if uri is None:
            return None
        return super().load_http_headers(rec_type, uri, stream, length)


def _warc_records(path: Path, errors: Counter) -> Iterator:
    """Every record warcio can read from one WARC file, member by member; what it cannot read is counted."""
    with open(path, "rb") as handle:
        stream = _WarcStream(handle, errors)
        while stream.next_member():
            records = ArchiveIterator(stream)
            records.loader = _Loader()
            try:
                yield from records
            except _Broken as exc:
                errors[exc.code] += 1
            except Exception:  # warcio raises several types for what is not a WARC record
                errors["bad_record"] += 1  # an uncompressed WARC stops here: it has no member to resume at


def _read_warc_file(path: Path, work: _Work, summary: ImportSummary, max_bytes: int) -> None:
    errors = summary.errors
    for record in _warc_records(path, errors):
        summary.records += 1
        if record.rec_type != "response":
            continue  # request, warcinfo, metadata: nothing to import
        url = (record.rec_headers.get_header("WARC-Target-URI") or "").strip().strip("<>")
        date_text = record.rec_headers.get_header("WARC-Date")
        if not url or not date_text:
            errors["missing_header"] += 1
            continue
        try:
            when = parse_timestamp(date_text)
        except ValueError:
            errors["bad_date"] += 1
            continue
        try:
            key = _key_text(url)
            origin = _robots_origin(url)
        except (ValueError, CacheError):
            errors["not_http_uri"] += 1
            continue
        http = record.http_headers
        if http is None or not (http.get_statuscode() or "").isdigit():
            errors["no_http_response"] += 1
            continue
        status = int(http.get_statuscode())
        location = http.get_header("Location")
        error = None
        try:
            try:
                body, truncated = _read_capped(record.content_stream(), max_bytes)
            except _Broken:
                raise
            except Exception:  # bad chunked or content encoding: what the fetcher records as decode_error
                body, truncated, error = b"", False, "decode_error"
            while record.raw_stream.read(_READ):  # the rest of a long body, to check the record's length
                pass
        except _Broken as exc:  # the file broke inside this record (the stream goes on at the next member)
            errors[exc.code] += 1
            continue
        if getattr(record.raw_stream, "limit", 0) > 0:
            errors["short_record"] += 1  # fewer bytes than its Content-Length: a cut record
            continue
        truncated = truncated or record.rec_headers.get_header("WARC-Truncated") is not None
        if origin is not None:
            summary.captures += 1
        work.add(url, key, when, status, location, error, body, truncated, origin)


def import_warcs(files: Iterable[str | os.PathLike], cache_dir: str | os.PathLike, max_bytes: int = MIN_BODY_BYTES,
                 redirect_window: float = DEFAULT_REDIRECT_WINDOW) -> ImportSummary:
    """Import Common Crawl robotstxt WARC files into the cache (see the module docstring)."""
    return _import("warc", files, lambda path, work, summary: _read_warc_file(path, work, summary, max_bytes),
                   cache_dir, max_bytes, redirect_window)


def _import(kind: str, files, read, cache_dir, max_bytes: int, redirect_window: float) -> ImportSummary:
    """Read every file into a temporary work database (`read(path, work, summary)`), then collapse the
    captures into the cache: memory stays bounded whatever the inputs' size."""
    summary = ImportSummary()
    cache = RobotsCache(cache_dir)
    with tempfile.TemporaryDirectory(prefix=f"curate-import-{kind}-") as tmp:
        work = _Work(Path(tmp) / "work.sqlite")
        try:
            for path in files:
                read(Path(path), work, summary)
            _collapse_into(work, cache, summary, max_bytes, redirect_window)
        finally:
            work.db.close()
    return summary


# ------------------------------------------------------------------------------------------------------
# Wayback Machine CDX input
# ------------------------------------------------------------------------------------------------------
def raw_file_names(timestamp: str, host: str, digest: str | None) -> list[str]:
    """Names a CDX row's raw file may have in the raw directory, in the order tried: ``<timestamp>_<host>.txt``
    (``host`` as the cache keys it: lower-case, no default port; a non-default port as ``_<port>``), then the
    row's digest as ``<digest>.txt`` or ``<digest>``."""
    names = [f"{timestamp}_{host.replace(':', '_')}.txt"]
    if digest and "/" not in digest:
        names += [f"{digest}.txt", digest]
    return names


def _cdx_time(timestamp: str) -> datetime:
    """A CDX timestamp (``YYYYMMDDhhmmss``, shorter forms padded as the Wayback Machine pads them)."""
    if not timestamp.isdigit() or not 4 <= len(timestamp) <= 14:
        raise ValueError(f"bad CDX timestamp {timestamp!r}")
    full = timestamp + "0101000000"[len(timestamp) - 4:] if len(timestamp) < 14 else timestamp
    return datetime.strptime(full, "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)


def _sha1_base32(data: bytes) -> str:
    return base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")


def _read_cdx_file(path: Path, raw_dir: Path, work: _Work, summary: ImportSummary, max_bytes: int) -> None:
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a CDX JSON export (output=json): {exc}") from None
    if not isinstance(rows, list) or (rows and not isinstance(rows[0], list)):
        raise ValueError(f"{path}: not a CDX JSON export: expected a list of rows, the first naming the fields")
    if not rows:
        return  # the CDX server's answer when it has no capture
    names = rows[0]
    needed = ("timestamp", "original", "statuscode")
    if not all(n in names for n in needed):
        raise ValueError(f"{path}: the first row must name the fields (needs {', '.join(needed)}), got {names!r}")
    col = {n: names.index(n) for n in names}
    errors = summary.errors
    for row in rows[1:]:
        if row == [] or (isinstance(row, list) and len(row) == 1):
            continue  # showResumeKey's empty separator row and resume key
        summary.records += 1
        if not isinstance(row, list) or len(row) != len(names) or not all(isinstance(v, str) for v in row):
            errors["bad_row"] += 1
            continue
        value = dict(zip(names, row))
        timestamp, original, status_text = value["timestamp"], value["original"].strip(), value["statuscode"]
        url = original if "://" in original else "http://" + original
        try:
            when = _cdx_time(timestamp)
            key = _key_text(url)
            origin = _robots_origin(url)
        except (ValueError, CacheError):
            errors["bad_row"] += 1
            continue
        if origin is None:
            errors["not_robots_uri"] += 1
            continue
        if not status_text.isdigit():
            errors["no_status"] += 1  # '-': a revisit, the same content as an earlier capture
            continue
        status = int(status_text)
        digest = value.get("digest") if "digest" in col else None
        raw = next((raw_dir / n for n in raw_file_names(timestamp, origin[1], digest) if (raw_dir / n).is_file()), None)
        if raw is None:
            if 200 <= status < 300:
                errors["missing_raw_file"] += 1
                summary.missing.append(f"{timestamp} {original}")
                continue
            body, truncated = b"", False  # a redirect or error status decides without its body
        else:
            with open(raw, "rb") as handle:
                body, truncated = _read_capped(handle, max_bytes)
            if digest and not truncated and _sha1_base32(body) != digest.upper():
                summary.digest_mismatches += 1
        location = value.get("redirect") if value.get("redirect") not in (None, "", "-") else None
        summary.captures += 1
        work.add(url, key, when, status, location, None, body, truncated, origin)


def import_cdx(cdx_files: Iterable[str | os.PathLike], raw_dir: str | os.PathLike, cache_dir: str | os.PathLike,
               max_bytes: int = MIN_BODY_BYTES) -> ImportSummary:
    """Import Wayback Machine CDX JSON exports with their raw files (see `raw_file_names`) into the cache.

    Raises ValueError for a file that is not a CDX JSON export; a row without its raw file is reported."""
    raw = Path(raw_dir)
    if not raw.is_dir():
        raise ValueError(f"{raw} is not a directory")
    return _import("cdx", cdx_files, lambda path, work, summary: _read_cdx_file(path, raw, work, summary, max_bytes),
                   cache_dir, max_bytes, DEFAULT_REDIRECT_WINDOW)


# ------------------------------------------------------------------------------------------------------
# Commands
# ------------------------------------------------------------------------------------------------------
@robots.command("import-warc")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--cache", "cache_dir", required=True, type=click.Path(file_okay=False), help="Robots cache directory.")
@click.option("--max-bytes", type=click.IntRange(min=MIN_BODY_BYTES), default=MIN_BODY_BYTES, show_default=True,
              help="Body bytes kept per capture; at least 500 KiB as RFC 9309 asks.")
@click.option("--redirect-window", type=click.FloatRange(min=0), default=DEFAULT_REDIRECT_WINDOW, show_default=True,
              help="Seconds either side of a redirect in which its target's capture counts.")
def import_warc_cmd(files, cache_dir, max_bytes, redirect_window) -> None:
    """Import Common Crawl robotstxt WARC files (one snapshot per run of identical captures, dated by WARC-Date)."""
    try:
        summary = import_warcs(files, cache_dir, max_bytes=max_bytes, redirect_window=redirect_window)
    except (CacheError, ValueError, OSError) as exc:
        _fail(str(exc))
        return
    click.echo(summary.line("records"))


@robots.command("import-cdx")
@click.argument("cdx_files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--raw", "raw_dir", required=True, type=click.Path(exists=True, file_okay=False),
              help="Directory of the raw captures: <timestamp>_<host>.txt, or <digest>[.txt].")
@click.option("--cache", "cache_dir", required=True, type=click.Path(file_okay=False), help="Robots cache directory.")
@click.option("--max-bytes", type=click.IntRange(min=MIN_BODY_BYTES), default=MIN_BODY_BYTES, show_default=True,
              help="Body bytes kept per capture; at least 500 KiB as RFC 9309 asks.")
def import_cdx_cmd(cdx_files, raw_dir, cache_dir, max_bytes) -> None:
    """Import Wayback Machine CDX JSON exports (output=json) and the raw robots.txt files downloaded for them."""
    try:
        summary = import_cdx(cdx_files, raw_dir, cache_dir, max_bytes=max_bytes)
    except (CacheError, ValueError, OSError) as exc:
        _fail(str(exc))
        return
    click.echo(summary.line("CDX rows"))
    if summary.missing:
        shown = "; ".join(summary.missing[:10]) + (" ..." if len(summary.missing) > 10 else "")
        click.echo(f"{len(summary.missing)} rows without a raw file in {raw_dir} (not imported): {shown}", err=True)

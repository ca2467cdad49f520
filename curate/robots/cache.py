"""The robots.txt cache: time-stamped snapshots of robots.txt (and tdmrep.json) fetches, stored as Parquet
part files.

Layout: any number of ``*.parquet`` files under the cache directory (``curate robots fetch`` and ``import``
write ``part-<UTC timestamp>-<shortid>.parquet``), one row per fetch with exactly the columns of
`SNAPSHOT_SCHEMA`. Several snapshots of one origin may coexist; a policy (`curate.robots.policy`) picks.
The ``kind`` column tells what was fetched: ``robots`` (``/robots.txt``) or ``tdmrep``
(``/.well-known/tdmrep.json``, W3C TDMRep); both follow the same status and size rules. Part files written
before the column existed are read as ``robots``.

Origins are keyed by ``(scheme, host)``, where ``host`` is the URL's netloc as used for the lookup:
lower-case, IDNA-encoded, without user info, and with ``:port`` only when it is not the scheme's default
(80 for http, 443 for https). `normalize_netloc` is the one place that rule lives; both the writers and
the lookup use it, so a URL and its cached robots.txt always meet. There is no wildcard scheme: an imported
file, which applies to http and https alike, is written as two rows (see `curate.robots.cli`).

Writes are atomic (a hidden temporary file, fsync, then rename), so a reader never sees half a part.
Readers load every part once into an in-memory index; bodies stay in Arrow buffers until asked for.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = [
    "DEFAULT_PORTS",
    "KINDS",
    "MIN_BODY_BYTES",
    "SNAPSHOT_SCHEMA",
    "CacheError",
    "RobotsCache",
    "Snapshot",
    "normalize_netloc",
    "origin_of_url",
    "parse_timestamp",
    "snapshot_from_body",
]

# RFC 9309 2.5: crawlers must parse at least the first 500 KiB; the cache keeps at least that much.
MIN_BODY_BYTES = 500 * 1024
DEFAULT_PORTS = {"http": 80, "https": 443}
KINDS = ("robots", "tdmrep")  # what a row is a fetch of: /robots.txt or /.well-known/tdmrep.json

SNAPSHOT_SCHEMA = pa.schema(
    [
        pa.field("host", pa.string(), nullable=False),
        pa.field("scheme", pa.string(), nullable=False),
        pa.field("fetched_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("status", pa.int32()),
        pa.field("error", pa.string()),
        pa.field("body", pa.binary(), nullable=False),
        pa.field("truncated", pa.bool_(), nullable=False),
        pa.field("sha256", pa.string(), nullable=False),
        pa.field("final_url", pa.string()),
        pa.field("redirects", pa.int32(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
    ]
)
_COLUMNS = SNAPSHOT_SCHEMA.names
_OPTIONAL = {"kind": "robots"}  # columns added later, with the value old part files stand for


class CacheError(ValueError):
    """A cache file or a snapshot that does not follow the cache contract."""


# ------------------------------------------------------------------------------------------------------
# Origins and time stamps
# ------------------------------------------------------------------------------------------------------
def _idna_host(host: str) -> str:
    host = host.strip().rstrip(".").lower()
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host  # not encodable as IDNA 2003: keep it as written (lower-case) so lookups stay consistent


def normalize_netloc(scheme: str, netloc: str) -> str:
    """The cache key of a netloc: lower-case, IDNA, no user info, ``:port`` only when not the default.

    Raises CacheError on an empty host or a port that is not a number in 1..65535."""
    scheme = scheme.lower()
    netloc = netloc.rpartition("@")[2]  # drop user:password@
    if netloc.startswith("["):  # IPv6 literal
        end = netloc.find("]")
        if end < 0:
            raise CacheError(f"bad IPv6 netloc {netloc!r}")
        host, rest = netloc[: end + 1].lower(), netloc[end + 1 :]
        port_text = rest[1:] if rest.startswith(":") else ""
        if rest and not rest.startswith(":"):
            raise CacheError(f"bad netloc {netloc!r}")
    else:
        host, _, port_text = netloc.partition(":")
        host = _idna_host(host)
    if not host or host == "[]":
        raise CacheError(f"netloc {netloc!r} has no host")
    if port_text == "":
        return host
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise CacheError(f"bad port in netloc {netloc!r}")
    port = int(port_text)
    return host if DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"


# scheme://netloc at the start of a URL, as urlsplit delimits the netloc (a hot path: no full split).
_URL_ORIGIN = re.compile(r"\s*([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)")


@lru_cache(maxsize=1 << 16)
def _origin_key(scheme: str, netloc: str) -> tuple[str, str] | None:
    scheme = scheme.lower()
    if scheme not in DEFAULT_PORTS or not netloc:
        return None
    try:
        return scheme, normalize_netloc(scheme, netloc)
    except CacheError:
        return None


def origin_of_url(url: str) -> tuple[str, str] | None:
    """``(scheme, host)`` cache key of an http(s) URL, or None when it has no usable http(s) origin."""
    match = _URL_ORIGIN.match(url)
    if match is None:
        return None
    return _origin_key(match.group(1), match.group(2))


def parse_timestamp(value: datetime | date | str) -> datetime:
    """A UTC datetime from a datetime, a date or an ISO 8601 string; naive values are taken as UTC.

    Raises ValueError (naming the value) when the string is not ISO 8601."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not an ISO 8601 date or time: {value!r}") from None
    else:
        raise TypeError(f"expected datetime, date or ISO string, not {type(value).__name__}")
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


# ------------------------------------------------------------------------------------------------------
# Snapshots
# ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Snapshot:
    """One robots.txt fetch of one origin (see `SNAPSHOT_SCHEMA` for the columns).

    ``status`` is the final HTTP status (after redirects) or None when no response came; ``error`` a short
    code such as ``timeout`` or ``redirect_loop`` (None on success); ``body`` the (possibly truncated)
    decoded body; ``sha256`` the hex digest of ``body`` as stored."""

    host: str
    scheme: str
    fetched_at: datetime
    status: int | None
    error: str | None
    body: bytes
    truncated: bool
    sha256: str
    final_url: str | None
    redirects: int
    kind: str = "robots"

    def __post_init__(self) -> None:
        # One representation of UTC (Parquet reads give zoneinfo's UTC; naive values are taken as UTC).
        object.__setattr__(self, "fetched_at", parse_timestamp(self.fetched_at))
        if not isinstance(self.body, bytes):
            object.__setattr__(self, "body", bytes(self.body))

    @property
    def origin(self) -> str:
        """``scheme://host`` of this snapshot."""
        return f"{self.scheme}://{self.host}"

    def to_row(self) -> dict:
        """The Parquet row of this snapshot."""
        return {name: getattr(self, name) for name in _COLUMNS}

    def sort_key(self) -> tuple:
        """Total order used for deterministic files and for ties between snapshots of one time."""
        return (
            self.host,
            self.scheme,
            self.fetched_at,
            self.sha256,
            -1 if self.status is None else self.status,
            self.error or "",
            self.final_url or "",
            self.redirects,
            self.truncated,
            self.kind,
        )


def snapshot_from_body(
    scheme: str,
    host: str,
    body: bytes | str,
    fetched_at: datetime | date | str,
    status: int | None = 200,
    error: str | None = None,
    final_url: str | None = None,
    redirects: int = 0,
    max_bytes: int | None = None,
    truncated: bool = False,
    kind: str = "robots",
) -> Snapshot:
    """Build a `Snapshot` from a body (for imports and tests): normalises the host, hashes the body and
    truncates it to ``max_bytes`` when given (setting ``truncated``)."""
    scheme = scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise CacheError(f"scheme must be http or https, not {scheme!r}")
    data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    if max_bytes is not None and len(data) > max_bytes:
        data, truncated = data[:max_bytes], True
    return Snapshot(
        host=normalize_netloc(scheme, host),
        scheme=scheme,
        fetched_at=parse_timestamp(fetched_at),
        status=status,
        error=error,
        body=data,
        truncated=truncated,
        sha256=hashlib.sha256(data).hexdigest(),
        final_url=final_url,
        redirects=redirects,
        kind=kind,
    )


def _validate(snapshot: Snapshot) -> None:
    if snapshot.scheme not in DEFAULT_PORTS:
        raise CacheError(f"snapshot of {snapshot.host!r}: scheme must be http or https, not {snapshot.scheme!r}")
    if normalize_netloc(snapshot.scheme, snapshot.host) != snapshot.host:
        raise CacheError(
            f"snapshot host {snapshot.host!r} is not normalised "
            f"(expected {normalize_netloc(snapshot.scheme, snapshot.host)!r}); use snapshot_from_body"
        )
    if hashlib.sha256(snapshot.body).hexdigest() != snapshot.sha256:
        raise CacheError(f"snapshot of {snapshot.origin}: sha256 does not match the body")
    if snapshot.kind not in KINDS:
        raise CacheError(f"snapshot of {snapshot.origin}: kind must be one of {KINDS}, not {snapshot.kind!r}")
    if snapshot.status is None and snapshot.error is None:
        raise CacheError(f"snapshot of {snapshot.origin}: neither an HTTP status nor an error")


# ------------------------------------------------------------------------------------------------------
# The cache
# ------------------------------------------------------------------------------------------------------
class _Part:
    """One loaded part file: its Arrow table with columns combined into single chunks."""

    def __init__(self, path: Path, table: pa.Table) -> None:
        self.path = path
        self.columns = {name: table.column(name).combine_chunks() for name in _COLUMNS}

    def snapshot(self, row: int) -> Snapshot:
        values = {name: self.columns[name][row].as_py() for name in _COLUMNS}
        if hashlib.sha256(values["body"]).hexdigest() != values["sha256"]:
            raise CacheError(f"robots cache file {self.path}, row {row}: sha256 does not match the body")
        return Snapshot(**values)


class RobotsCache:
    """A directory of robots.txt snapshots. Load once (lazily, on first lookup), then look up by origin.

    Appending through this object updates the loaded index too; parts written by other processes after
    loading are seen after `load()` is called again."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._parts: list[_Part] | None = None
        # (scheme, host) -> kind -> [(stamp, part, row)]
        self._index: dict[tuple[str, str], dict[str, list[tuple[int, int, int]]]] = {}

    # ---- reading ----------------------------------------------------------------------------------
    def part_files(self) -> list[Path]:
        """Every Parquet part under the cache directory, in sorted order (hidden temporaries excluded)."""
        if not self.path.exists():
            return []
        if not self.path.is_dir():
            raise CacheError(f"robots cache {self.path} is not a directory")
        return sorted(
            p for p in self.path.rglob("*.parquet") if not any(s.startswith(".") for s in p.relative_to(self.path).parts)
        )

    def load(self) -> "RobotsCache":
        """Read every part file once into the in-memory index (replacing any earlier load)."""
        self._parts, self._index = [], {}
        for path in self.part_files():
            self._add_part(path, _read_part(path))
        return self

    def _ensure_loaded(self) -> list[_Part]:
        if self._parts is None:
            self.load()
        assert self._parts is not None
        return self._parts

    def _add_part(self, path: Path, table: pa.Table) -> None:
        assert self._parts is not None
        part_id = len(self._parts)
        part = _Part(path, table)
        self._parts.append(part)
        hosts = part.columns["host"].to_pylist()
        schemes = part.columns["scheme"].to_pylist()
        stamps = part.columns["fetched_at"].cast(pa.int64()).to_pylist()
        kinds = part.columns["kind"].to_pylist()
        for row, key in enumerate(zip(schemes, hosts)):
            self._index.setdefault(key, {}).setdefault(kinds[row], []).append((stamps[row], part_id, row))

    def hosts(self, kind: str = "robots") -> set[tuple[str, str]]:
        """Every ``(scheme, host)`` origin with at least one snapshot of ``kind``."""
        self._ensure_loaded()
        return {key for key, by_kind in self._index.items() if by_kind.get(kind)}

    def snapshots(self, scheme: str, host: str, kind: str = "robots") -> list[Snapshot]:
        """Snapshots of one origin and kind, oldest first (ties in a fixed order). ``host`` is normalised."""
        parts = self._ensure_loaded()
        scheme = scheme.lower()
        try:
            key = (scheme, normalize_netloc(scheme, host))
        except CacheError:
            return []
        rows = self._index.get(key, {}).get(kind, ())
        found = [parts[part_id].snapshot(row) for _, part_id, row in rows]
        return sorted(found, key=lambda s: (s.fetched_at, s.sort_key()))

    def __iter__(self) -> Iterator[Snapshot]:
        """Every snapshot, ordered by origin, then kind (robots before tdmrep), then time."""
        self._ensure_loaded()
        for scheme, host in sorted(self._index):
            for kind in KINDS:
                yield from self.snapshots(scheme, host, kind)

    def __len__(self) -> int:
        self._ensure_loaded()
        return sum(len(rows) for by_kind in self._index.values() for rows in by_kind.values())

    def sha256(self) -> str:
        """Digest of the cache's content for run lineage: independent of how rows are split into files.

        Hashes every row's metadata and body digest in a canonical order."""
        parts = self._ensure_loaded()
        rows = []
        for part in parts:
            meta = {n: part.columns[n].to_pylist() for n in _COLUMNS if n not in ("body", "fetched_at")}
            stamps = part.columns["fetched_at"].cast(pa.int64()).to_pylist()
            for i, stamp in enumerate(stamps):
                fields = [meta["scheme"][i], meta["host"][i], stamp, meta["status"][i], meta["error"][i],
                          meta["truncated"][i], meta["sha256"][i], meta["final_url"][i], meta["redirects"][i]]
                if meta["kind"][i] != "robots":  # robots rows hash as before the column existed
                    fields.append(meta["kind"][i])
                rows.append(json.dumps(fields, separators=(",", ":")))
        digest = hashlib.sha256()
        for row in sorted(rows):
            digest.update(row.encode("utf-8") + b"\n")
        return digest.hexdigest()

    # ---- writing ----------------------------------------------------------------------------------
    def append(self, snapshots: Iterable[Snapshot]) -> Path | None:
        """Write the snapshots as one new part file (atomically) and return its path; None when empty.

        Rows are sorted (origin, time, digest, ...) so the same snapshots always give the same content."""
        batch = sorted(snapshots, key=Snapshot.sort_key)
        if not batch:
            return None
        for snapshot in batch:
            _validate(snapshot)
        table = pa.Table.from_pylist([s.to_row() for s in batch], schema=SNAPSHOT_SCHEMA)
        self.path.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        final = self.path / f"part-{stamp}-{uuid.uuid4().hex[:8]}.parquet"
        tmp = self.path / f".{final.name}.tmp"
        try:
            with open(tmp, "wb") as handle:
                pq.write_table(table, handle, compression="zstd")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, final)
        finally:
            if tmp.exists():
                tmp.unlink()
        if self._parts is not None:
            self._add_part(final, table)
        return final


def _read_part(path: Path) -> pa.Table:
    """Read and check one part file; any problem is a CacheError naming the file."""
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise CacheError(f"robots cache file {path} is not readable Parquet: {exc}") from exc
    names = table.schema.names
    for name, value in _OPTIONAL.items():
        if name not in names:  # a part written before the column existed
            table = table.append_column(SNAPSHOT_SCHEMA.field(name), pa.array([value] * table.num_rows, pa.string()))
            names = table.schema.names
    if sorted(names) != sorted(_COLUMNS):
        missing = sorted(set(_COLUMNS) - set(names))
        extra = sorted(set(names) - set(_COLUMNS))
        raise CacheError(
            f"robots cache file {path} does not have the snapshot columns (missing {missing}, unexpected {extra})"
        )
    for field in SNAPSHOT_SCHEMA:
        actual = table.schema.field(field.name).type
        if actual != field.type:
            raise CacheError(f"robots cache file {path}: column {field.name!r} is {actual}, expected {field.type}")
        if not field.nullable and table.column(field.name).null_count:
            raise CacheError(f"robots cache file {path}: column {field.name!r} has nulls")
    unknown = set(table.column("kind").unique().to_pylist()) - set(KINDS)
    if unknown:
        raise CacheError(f"robots cache file {path}: column 'kind' has {sorted(unknown)}, expected one of {KINDS}")
    return table.select(_COLUMNS)

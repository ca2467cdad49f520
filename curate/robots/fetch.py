"""Fetch robots.txt files of many origins into the robots cache, safely and concurrently.

With ``tdmrep=True`` (the ``curate robots fetch`` default) each origin's ``/.well-known/tdmrep.json`` (W3C
TDMRep) is fetched too, by the same rules (address checks, redirects, size cap, deadline), into rows of kind
``tdmrep``; a 404 there is the common case and simply means "no TDMRep file".

Why threads: robots.txt fetching is network-bound and `requests` is blocking; a ThreadPoolExecutor with
hundreds of workers keeps hundreds of fetches in flight (the GIL is released while waiting on sockets)
without adding an async HTTP stack, and each worker owns a `requests.Session` (pooled connections,
proxies from HTTP(S)_PROXY / ALL_PROXY and NO_PROXY chosen by requests' rules). Results are yielded in
input order, so cache parts are deterministic whatever the completion order.

The proxy environment (and REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE) is read once when the fetcher is made and
passed to each request explicitly, instead of requests' ``trust_env`` re-reading the whole environment (and
~/.netrc) twice per request: that cost several milliseconds per fetch, more than the fetch itself.

Per origin (`RobotsFetcher.fetch`, never raises; failures become a snapshot with an ``error`` code):
- ``GET scheme://host[:port]/robots.txt`` with our User-Agent, ``Accept-Encoding: gzip, deflate``;
- redirects are followed by hand (up to ``max_redirects``, 5 as RFC 9309 asks): each hop is counted,
  checked for loops (``redirect_loop``), limited (``too_many_redirects``) and its address re-checked;
- address check (unless ``allow_private``): the host is resolved once by our resolver, *every* address must
  be global unicast (no loopback, private, link-local, multicast, reserved, shared or unspecified space),
  and the connection is then pinned to the checked address (no second DNS lookup, so DNS rebinding cannot
  slip a private address in between). When the environment routes the URL through a proxy, nothing is
  resolved locally (the proxy resolves) but a literal private IP in the URL is still refused;
- the body is streamed and decoded (gzip/deflate) in small chunks and cut at ``max_bytes`` (>= 500 KiB),
  setting ``truncated``, so neither a huge file nor a decompression bomb can exhaust memory;
- ``timeout`` bounds each connect and socket read; ``host_deadline`` bounds the whole origin (all hops and
  the body, checked between reads). DNS lookups use the system resolver's own timeouts.

Error codes: ``timeout``, ``deadline``, ``connection_refused``, ``connection_reset``, ``dns_error``,
``private_address``, ``redirect_loop``, ``too_many_redirects``, ``bad_redirect``, ``bad_url``,
``tls_error``, ``proxy_error``, ``protocol_error``, ``decode_error``, ``connection_error``, or
``error:<ExceptionType>`` for anything unforeseen.
"""
from __future__ import annotations

import ipaddress
import os
import socket
import sys
import threading
import time
import urllib.request
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from curate import __version__
from curate.robots.cache import (
    DEFAULT_PORTS,
    MIN_BODY_BYTES,
    CacheError,
    RobotsCache,
    Snapshot,
    normalize_netloc,
    snapshot_from_body,
)

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_HOST_DEADLINE",
    "DEFAULT_TIMEOUT",
    "MAX_REDIRECTS",
    "USER_AGENT",
    "FetchSummary",
    "HostsFileError",
    "Origin",
    "RobotsFetcher",
    "classify_error",
    "fetch_to_cache",
    "is_forbidden_address",
    "is_redirect",
    "next_hop",
    "parse_origin",
    "read_hosts_file",
    "system_resolver",
    "url_key",
]

USER_AGENT = f"curate-robots/{__version__} (+https://github.com/curate-llm/curate)"
DEFAULT_TIMEOUT = 10.0
DEFAULT_HOST_DEADLINE = 30.0
DEFAULT_CONCURRENCY = 128
MAX_REDIRECTS = 5
_READ_CHUNK = 16 * 1024  # decoded bytes per read: bounds the memory a compressed chunk can expand to
_REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})

Resolver = Callable[[str, int], Sequence[str]]


class HostsFileError(ValueError):
    """A hosts file line that is not an origin."""


# ------------------------------------------------------------------------------------------------------
# Origins and the hosts file
# ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, order=True)
class Origin:
    """An origin as the cache keys it: ``scheme`` http/https, ``host`` the normalised netloc."""

    scheme: str
    host: str

    @property
    def robots_url(self) -> str:
        """``scheme://host/robots.txt``."""
        return f"{self.scheme}://{self.host}/robots.txt"

    @property
    def tdmrep_url(self) -> str:
        """``scheme://host/.well-known/tdmrep.json`` (W3C TDMRep)."""
        return f"{self.scheme}://{self.host}/.well-known/tdmrep.json"


def parse_origin(text: str) -> Origin:
    """An `Origin` from ``scheme://host[:port]`` (a trailing ``/`` is fine) or a bare ``host[:port]``
    (https). Raises ValueError saying what is wrong."""
    text = text.strip()
    if not text:
        raise ValueError("empty origin")
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ValueError(f"not an origin: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError(f"scheme must be http or https, not {parts.scheme!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("expected an origin (scheme://host[:port]), not a URL with a path")
    if not parts.hostname or "@" in parts.netloc:
        raise ValueError("no host (or user info, which an origin does not have)")
    name = parts.hostname
    if not parts.netloc.startswith("["):
        label_chars = set("abcdefghijklmnopqrstuvwxyz0123456789-._")
        if not (set(name) <= label_chars or not name.isascii()) or ".." in name or name.startswith((".", "-")):
            raise ValueError(f"bad host name {name!r}")
    try:
        return Origin(scheme, normalize_netloc(scheme, parts.netloc))
    except CacheError as exc:
        raise ValueError(str(exc)) from None


def read_hosts_file(path: str | os.PathLike) -> list[Origin]:
    """Origins of a hosts file, in file order without duplicates. ``#`` starts a comment; blank lines are
    skipped; a bad line raises HostsFileError naming the file and line."""
    origins: dict[Origin, None] = {}
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            try:
                origins.setdefault(parse_origin(text), None)
            except ValueError as exc:
                raise HostsFileError(f"{path}:{number}: {exc} (line: {line.strip()!r})") from None
    return list(origins)


# ------------------------------------------------------------------------------------------------------
# Address policy and pinned connections
# ------------------------------------------------------------------------------------------------------
def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (system resolver), in its order, without duplicates."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def is_forbidden_address(address: str) -> bool:
    """True for any address that is not global unicast (loopback, private, link-local, multicast, reserved,
    shared, unspecified; IPv4-mapped IPv6 is judged by its IPv4 address)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_loopback or ip.is_link_local


def _pin_key(host: str) -> str:
    return host.strip("[]").rstrip(".").lower()


class _PinMixin:
    """Connect to the address the fetcher checked for this host instead of resolving the name again."""

    pins: dict[str, str] = {}

    def _new_conn(self):  # type: ignore[no-untyped-def]
        address = self.pins.get(_pin_key(self._dns_host))  # type: ignore[attr-defined]
        if address is None:
            return super()._new_conn()  # type: ignore[misc]
        name = self._dns_host  # type: ignore[attr-defined]
        self._dns_host = address  # only for the socket; SNI, certificate and Host header keep the name
        try:
            return super()._new_conn()  # type: ignore[misc]
        finally:
            self._dns_host = name


class _PinnedHTTPConnection(_PinMixin, urllib3.connection.HTTPConnection):
    pass


class _PinnedHTTPSConnection(_PinMixin, urllib3.connection.HTTPSConnection):
    pass


class _PinningAdapter(HTTPAdapter):
    """An HTTPAdapter whose direct (non-proxy) pools connect to pinned addresses."""

    def __init__(self, **kwargs) -> None:  # type: ignore[no-untyped-def]
        self.pins: dict[str, str] = {}
        super().__init__(**kwargs)

    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):  # type: ignore[no-untyped-def]
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        pins = self.pins
        http_conn = type("PinnedHTTPConnection", (_PinnedHTTPConnection,), {"pins": pins})
        https_conn = type("PinnedHTTPSConnection", (_PinnedHTTPSConnection,), {"pins": pins})
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("PinnedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}),
            "https": type("PinnedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn}),
        }


class _Refused(Exception):
    """A fetch ended by our own rules (address, redirects, deadline); ``code`` is the error code."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and everything it wraps (cause, context, urllib3 ``reason``, exception args)."""
    seen: set[int] = set()
    todo = [exc]
    while todo and len(seen) < 32:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for nxt in (current.__cause__, current.__context__, getattr(current, "reason", None), *current.args):
            if isinstance(nxt, BaseException):
                todo.append(nxt)


def classify_error(exc: BaseException) -> str:
    """The short error code of a fetch exception (see the module docstring)."""
    if isinstance(exc, _Refused):
        return exc.code
    chain = list(_causes(exc))
    checks: list[tuple[tuple[type, ...], str]] = [
        ((ConnectionRefusedError,), "connection_refused"),
        ((socket.gaierror, urllib3.exceptions.NameResolutionError), "dns_error"),
        ((requests.exceptions.SSLError, urllib3.exceptions.SSLError), "tls_error"),
        ((requests.exceptions.ProxyError, urllib3.exceptions.ProxyError), "proxy_error"),
        ((requests.exceptions.Timeout, urllib3.exceptions.TimeoutError, TimeoutError, socket.timeout), "timeout"),
        ((ConnectionResetError, BrokenPipeError, ConnectionAbortedError), "connection_reset"),
        ((requests.exceptions.ContentDecodingError, urllib3.exceptions.DecodeError), "decode_error"),
        ((requests.exceptions.InvalidURL, urllib3.exceptions.LocationParseError, urllib3.exceptions.LocationValueError), "bad_url"),
        ((urllib3.exceptions.ProtocolError, requests.exceptions.ChunkedEncodingError), "protocol_error"),
        ((requests.exceptions.ConnectionError, urllib3.exceptions.NewConnectionError, OSError), "connection_error"),
    ]
    for types, code in checks:
        if any(isinstance(e, types) for e in chain):
            return code
    return f"error:{type(exc).__name__}"


# ------------------------------------------------------------------------------------------------------
# The fetcher
# ------------------------------------------------------------------------------------------------------
class RobotsFetcher:
    """Fetches robots.txt files (thread-safe: one `requests.Session` per worker thread).

    ``resolver`` maps (host, port) to addresses; tests inject one that maps names to 127.0.0.1.
    ``allow_networks`` permits some non-global networks (e.g. ``["127.0.0.0/8"]``) without ``allow_private``.
    """

    def __init__(
        self,
        timeout: float = DEFAULT_TIMEOUT,
        host_deadline: float = DEFAULT_HOST_DEADLINE,
        max_bytes: int = MIN_BODY_BYTES,
        max_redirects: int = MAX_REDIRECTS,
        allow_private: bool = False,
        allow_networks: Iterable[str] = (),
        resolver: Resolver | None = None,
        user_agent: str = USER_AGENT,
    ) -> None:
        if max_bytes < MIN_BODY_BYTES:
            raise ValueError(f"max_bytes must be at least {MIN_BODY_BYTES} (RFC 9309: parse at least 500 KiB)")
        if timeout <= 0 or host_deadline <= 0:
            raise ValueError("timeout and host_deadline must be positive")
        self.timeout = timeout
        self.host_deadline = host_deadline
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.allow_private = allow_private
        self.allow_networks = [ipaddress.ip_network(n) for n in allow_networks]
        self.resolver = resolver or system_resolver
        self.headers = {"User-Agent": user_agent, "Accept": "text/plain, */*;q=0.5", "Accept-Encoding": "gzip, deflate"}
        proxies = urllib.request.getproxies()  # the source requests reads too (lower case wins)
        self._no_proxy = proxies.pop("no", "")
        self._proxies = proxies
        self._verify: str | bool = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    # ---- sessions -----------------------------------------------------------------------------------
    def _session(self) -> tuple[requests.Session, _PinningAdapter]:
        state = getattr(self._local, "state", None)
        if state is None:
            session = requests.Session()
            session.trust_env = False  # the environment was read once in __init__ (see the module docstring)
            # A worker fetches one origin at a time: a few pools (redirect targets), one connection each.
            adapter = _PinningAdapter(pool_connections=8, pool_maxsize=2, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            state = self._local.state = (session, adapter)
            with self._lock:
                self._sessions.append(session)
        return state

    def close(self) -> None:
        """Close every worker's session."""
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    # ---- one origin ---------------------------------------------------------------------------------
    def fetch(self, origin: Origin, kind: str = "robots") -> Snapshot:
        """Fetch ``origin``'s robots.txt (``kind="tdmrep"``: its /.well-known/tdmrep.json); every outcome
        (errors included) is a `Snapshot` of that kind."""
        fetched_at = datetime.now(timezone.utc)
        deadline = time.monotonic() + self.host_deadline
        session, adapter = self._session()
        if kind not in ("robots", "tdmrep"):
            raise ValueError(f"kind must be robots or tdmrep, not {kind!r}")
        start = origin.robots_url if kind == "robots" else origin.tdmrep_url
        headers = self.headers if kind == "robots" else {**self.headers, "Accept": "application/json, */*;q=0.5"}
        url, redirects, status, body, truncated = start, 0, None, b"", False
        seen = {url_key(url)}
        try:
            while True:
                proxy = self._check_destination(adapter, url)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise _Refused("deadline")
                limit = min(self.timeout, remaining)
                response = session.get(
                    url, headers=headers, stream=True, allow_redirects=False, timeout=(limit, limit),
                    proxies={url.split(":", 1)[0]: proxy} if proxy else {}, verify=self._verify,
                )
                try:
                    location = response.headers.get("location")
                    if is_redirect(response.status_code, location):
                        url = self._next_hop(url, location, seen, redirects)
                        redirects += 1
                        continue
                    status = response.status_code
                    body, truncated = self._read_body(response, deadline)
                finally:
                    response.close()
                return snapshot_from_body(
                    origin.scheme, origin.host, body, fetched_at, status=status, final_url=url,
                    redirects=redirects, truncated=truncated, kind=kind,
                )
        except Exception as exc:  # every failure is recorded, never raised: one bad host must not stop a run
            return snapshot_from_body(
                origin.scheme, origin.host, body, fetched_at, status=status, error=classify_error(exc),
                final_url=url, redirects=redirects, truncated=truncated, kind=kind,
            )

    def _next_hop(self, url: str, location: str, seen: set, redirects: int) -> str:
        return next_hop(url, location, seen, redirects, self.max_redirects)

    def _proxy_for(self, url: str) -> str | None:
        """The proxy URL the environment names for ``url`` (None: connect directly)."""
        if not self._proxies:
            return None
        parts = urlsplit(url)
        if _no_proxy_matches(self._no_proxy, parts.hostname or "", parts.port):
            return None
        return requests.utils.select_proxy(url, self._proxies)

    def _allowed_address(self, address: str) -> bool:
        if self.allow_private or not is_forbidden_address(address):
            return True
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        return any(ip in network for network in self.allow_networks)

    def _check_destination(self, adapter: _PinningAdapter, url: str) -> str | None:
        """Refuse forbidden addresses and pin the checked one (see the module docstring); returns the proxy
        the environment names for ``url``, None for a direct connection."""
        parts = urlsplit(url)
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise _Refused("bad_redirect" if parts.scheme else "bad_url")
        try:
            port = parts.port or DEFAULT_PORTS[parts.scheme]
        except ValueError:
            raise _Refused("bad_url") from None
        host = parts.hostname
        try:
            literal: str | None = str(ipaddress.ip_address(host.split("%", 1)[0]))
        except ValueError:
            literal = None
        if literal is not None:
            if not self._allowed_address(literal):
                raise _Refused("private_address")
            return self._proxy_for(url)  # nothing to resolve: the literal address is what we connect to
        proxy = self._proxy_for(url)
        if proxy:
            return proxy  # the proxy resolves the name; we cannot check what it will connect to
        try:
            addresses = list(self.resolver(host, port))
        except (OSError, UnicodeError):
            raise _Refused("dns_error") from None
        if not addresses:
            raise _Refused("dns_error")
        if not all(self._allowed_address(a) for a in addresses):
            raise _Refused("private_address")
        adapter.pins[_pin_key(host)] = addresses[0]
        return None

    def _read_body(self, response: requests.Response, deadline: float) -> tuple[bytes, bool]:
        """Decoded body up to ``max_bytes`` (True when cut there), read in small chunks under the deadline."""
        raw = response.raw
        chunks: list[bytes] = []
        size = 0
        while size <= self.max_bytes:
            if time.monotonic() > deadline:
                raise _Refused("deadline")
            data = raw.read1(_READ_CHUNK, decode_content=True)
            if not data:
                return b"".join(chunks), False
            chunks.append(data)
            size += len(data)
        return b"".join(chunks)[: self.max_bytes], True

    # ---- many origins -------------------------------------------------------------------------------
    def _fetch_job(self, job: Origin | tuple[Origin, str]) -> Snapshot:
        if isinstance(job, Origin):
            return self.fetch(job)
        origin, kind = job
        return self.fetch(origin) if kind == "robots" else self.fetch(origin, kind)

    def fetch_many(
        self, origins: Sequence[Origin | tuple[Origin, str]], concurrency: int = DEFAULT_CONCURRENCY,
        max_buffered: int = 4096,
    ) -> Iterator[Snapshot]:
        """Fetch ``origins`` with ``concurrency`` workers; yields snapshots in the order of ``origins``. An
        item may be ``(origin, kind)`` to fetch that kind (``tdmrep``) instead of the robots.txt.

        At most ``max_buffered`` results wait (for a slower earlier origin) or run at once, bounding memory."""
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        limit = max(max_buffered, 2 * concurrency)
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="robots-fetch") as pool:
            pending: dict[Future, int] = {}
            done_results: dict[int, Snapshot] = {}
            next_submit = next_yield = 0
            try:
                while next_yield < len(origins):
                    while (
                        next_submit < len(origins)
                        and len(pending) < 2 * concurrency
                        and len(pending) + len(done_results) < limit
                    ):
                        pending[pool.submit(self._fetch_job, origins[next_submit])] = next_submit
                        next_submit += 1
                    finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in finished:
                        done_results[pending.pop(future)] = future.result()
                    while next_yield in done_results:
                        yield done_results.pop(next_yield)
                        next_yield += 1
            finally:
                for future in pending:
                    future.cancel()


def _no_proxy_matches(no_proxy: str, hostname: str, port: int | None) -> bool:
    """NO_PROXY as requests applies it: ``*`` matches every host; an IPv4 host matches an address or a CIDR
    entry; a name matches an entry, or is a subdomain of one, with or without its port."""
    entries = [e for e in no_proxy.replace(" ", "").lower().split(",") if e]
    if not entries or not hostname:
        return False
    if "*" in entries:
        return True
    if requests.utils.is_ipv4_address(hostname):
        return any(
            requests.utils.address_in_network(hostname, e) if requests.utils.is_valid_cidr(e) else hostname == e
            for e in entries
        )
    with_port = f"{hostname}:{port}" if port else hostname
    for entry in entries:
        entry = entry.lstrip(".")
        if entry in (hostname, with_port) or hostname.endswith("." + entry) or with_port.endswith("." + entry):
            return True
    return False


# Redirect rules as pure functions: the live fetcher and the history import (curate.robots.history) share them.
def is_redirect(status: int | None, location: str | None) -> bool:
    """True when a response is a redirect the fetcher follows: a 301/302/303/307/308 with a Location."""
    return status in _REDIRECT_CODES and bool(location)


def next_hop(url: str, location: str, seen: set, redirects: int, max_redirects: int = MAX_REDIRECTS) -> str:
    """The absolute target of a redirect from ``url`` after ``redirects`` hops; adds its key to ``seen``.

    Raises an exception whose `classify_error` code is ``bad_redirect``, ``redirect_loop`` or
    ``too_many_redirects``."""
    target = urljoin(url, location.strip())
    try:
        key = url_key(target)
    except ValueError:
        raise _Refused("bad_redirect") from None
    if key in seen:
        raise _Refused("redirect_loop")
    if redirects >= max_redirects:
        raise _Refused("too_many_redirects")
    seen.add(key)
    return target


def url_key(url: str) -> tuple[str, str, str, str]:
    """A URL reduced to what identifies it for loop detection (scheme, normalised netloc, path, query)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError(f"not http(s): {url!r}")
    try:
        netloc = normalize_netloc(scheme, parts.netloc)
    except CacheError as exc:
        raise ValueError(str(exc)) from None
    return scheme, netloc, parts.path or "/", parts.query


# ------------------------------------------------------------------------------------------------------
# Into the cache
# ------------------------------------------------------------------------------------------------------
@dataclass
class FetchSummary:
    """What a `fetch_to_cache` run did."""

    requested: int = 0
    skipped: int = 0
    fetched: int = 0
    seconds: float = 0.0
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    parts: list[Path] = field(default_factory=list)
    # tdmrep.json fetches (counted apart: the counts above are about robots.txt)
    tdmrep_fetched: int = 0
    tdmrep_skipped: int = 0
    tdmrep_statuses: Counter = field(default_factory=Counter)
    tdmrep_errors: Counter = field(default_factory=Counter)

    @property
    def hosts_per_second(self) -> float:
        """Fetch throughput of the run."""
        return self.fetched / self.seconds if self.seconds > 0 else 0.0


def _progress(enabled: bool):  # type: ignore[no-untyped-def]
    """A rich progress bar on stderr showing hosts/s (inert when not enabled)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn
    from rich.text import Text

    class _Rate(ProgressColumn):
        def render(self, task) -> Text:  # type: ignore[no-untyped-def]
            speed = task.finished_speed or task.speed or 0.0
            return Text(f"{speed:,.1f} hosts/s")

    progress = Progress(
        TextColumn("robots.txt"), BarColumn(), MofNCompleteColumn(), _Rate(), TimeElapsedColumn(),
        console=Console(file=sys.stderr), disable=not enabled,
    )
    return progress


def fetch_to_cache(
    origins: Iterable[Origin],
    cache: RobotsCache,
    fetcher: RobotsFetcher | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    refresh: bool = False,
    batch_size: int = 1000,
    progress: bool = False,
    tdmrep: bool = False,
) -> FetchSummary:
    """Fetch the origins' robots.txt (and with ``tdmrep`` their /.well-known/tdmrep.json) into ``cache``,
    resumably: what is already cached (per kind) is skipped unless ``refresh``. Rows are appended every
    ``batch_size`` fetches (a crash loses at most one batch), in input order (deterministic parts). The
    fetcher's sessions are closed at the end."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    fetcher = fetcher or RobotsFetcher()
    wanted = list(dict.fromkeys(origins))
    cached = set() if refresh else cache.hosts()
    todo: list = [o for o in wanted if (o.scheme, o.host) not in cached]
    summary = FetchSummary(requested=len(wanted), skipped=len(wanted) - len(todo))
    if tdmrep:  # each origin's two files side by side, so a host's fetches stay together in the parts
        have = set() if refresh else cache.hosts("tdmrep")
        jobs: list = []
        for o in wanted:
            if (o.scheme, o.host) not in cached:
                jobs.append(o)
            if (o.scheme, o.host) not in have:
                jobs.append((o, "tdmrep"))
            else:
                summary.tdmrep_skipped += 1
        todo = jobs
    started = time.monotonic()
    bar = _progress(progress)
    batch: list[Snapshot] = []
    try:
        with bar:
            task = bar.add_task("fetch", total=len(todo))
            for snapshot in fetcher.fetch_many(todo, concurrency):
                batch.append(snapshot)
                if snapshot.kind == "tdmrep":
                    summary.tdmrep_fetched += 1
                    if snapshot.error is not None:
                        summary.tdmrep_errors[snapshot.error] += 1
                    else:
                        summary.tdmrep_statuses[snapshot.status] += 1
                else:
                    summary.fetched += 1
                    if snapshot.error is not None:
                        summary.errors[snapshot.error] += 1
                    else:
                        summary.statuses[snapshot.status] += 1
                bar.advance(task)
                if len(batch) >= batch_size:
                    summary.parts.append(cache.append(batch))
                    batch = []
        if batch:
            summary.parts.append(cache.append(batch))
    finally:
        summary.seconds = time.monotonic() - started
        fetcher.close()
    return summary

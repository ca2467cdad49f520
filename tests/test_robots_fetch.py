"""The robots.txt fetcher against local HTTP servers on 127.0.0.1 (never any other address).

One threaded server routes by the Host header; test host names (``*.test``) reach it through the
fetcher's injectable resolver. A guard fails any connection to a non-loopback address.
"""
from __future__ import annotations

import gzip
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from curate.robots.cache import RobotsCache
from curate.robots.cli import robots as robots_cli
from curate.robots.fetch import (
    USER_AGENT,
    HostsFileError,
    Origin,
    RobotsFetcher,
    fetch_to_cache,
    is_forbidden_address,
    parse_origin,
    read_hosts_file,
)

ROBOTS = b"User-agent: *\nDisallow: /private\n"
BOMB = gzip.compress(b"\0" * 20_000_000, compresslevel=9)  # ~20 KB on the wire, 20 MB decoded


# ---------------------------------------------------------------------------------------------------------
# A local server
# ---------------------------------------------------------------------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, body: bytes = b"", headers: dict | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path.startswith("http://"):  # a proxy request carries the absolute URL
            parts = urlsplit(self.path)
            host, path = parts.hostname or "", parts.path
            self.server.log.append(("proxy", self.path))
        else:
            host, path = self.headers.get("Host", "").split(":")[0], self.path
        self.server.log.append((host, path, self.headers.get("User-Agent")))
        name = host.split(".")[0]
        if name.startswith("h") and name[1:].isdigit():  # the many-hosts test: latency, then a per-host file
            time.sleep(self.server.latency)
            return self._send(200, f"User-agent: *\nDisallow: /{name}/\n".encode())
        route = getattr(self, f"route_{name.replace('-', '_')}", None)
        if route is None:
            return self._send(200, ROBOTS)
        route(path)

    def route_missing(self, path: str) -> None:
        self._send(404, b"<html>not found</html>")

    def route_forbidden(self, path: str) -> None:
        self._send(403, b"go away")

    def route_down(self, path: str) -> None:
        self._send(503, b"try later")

    def route_chain5(self, path: str) -> None:
        self._chain(path, 5)

    def route_chain6(self, path: str) -> None:
        self._chain(path, 6)

    def _chain(self, path: str, hops: int) -> None:
        step = 0 if path == "/robots.txt" else int(path.rsplit("-", 1)[1])
        if step < hops:
            return self._send(301, headers={"Location": f"/hop-{step + 1}"})
        self._send(200, ROBOTS)

    def route_loop(self, path: str) -> None:
        self._send(302, headers={"Location": "/elsewhere" if path == "/robots.txt" else "/robots.txt"})

    def route_toprivate(self, path: str) -> None:
        self._send(302, headers={"Location": "http://10.0.0.1/robots.txt"})

    def route_big(self, path: str) -> None:
        self._send(200, b"User-agent: *\nDisallow: /big\n" + b"#" * 2_000_000)

    def route_gzip(self, path: str) -> None:
        self._send(200, gzip.compress(ROBOTS), {"Content-Encoding": "gzip"})

    def route_bomb(self, path: str) -> None:
        self._send(200, BOMB, {"Content-Encoding": "gzip"})

    def route_stall(self, path: str) -> None:
        self.server.stop.wait(5)
        self._send(200, ROBOTS)

    def route_drip(self, path: str) -> None:
        self.send_response(200)
        self.end_headers()
        while not self.server.stop.wait(0.05):
            try:
                self.wfile.write(b"#")
                self.wfile.flush()
            except OSError:
                return


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # hundreds of connections arrive at once

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.log: list = []
        self.latency = 0.1
        self.stop = threading.Event()

    @property
    def port(self) -> int:
        return self.server_address[1]


@pytest.fixture()
def server():
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.stop.set()
    srv.shutdown()
    srv.server_close()


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """Fail any connection to a non-loopback address, and keep the environment's proxies out."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    attempts: list = []
    real_connect = socket.socket.connect

    def guarded(sock, address):
        if isinstance(address, tuple) and address[0] not in ("127.0.0.1", "::1"):
            attempts.append(address)
            raise AssertionError(f"connection to a non-loopback address {address}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    return attempts


def _resolver(host: str, port: int) -> list[str]:
    if host == "mixed.test":
        return ["127.0.0.1", "10.0.0.5"]
    if host.endswith(".test"):
        return ["127.0.0.1"]
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


def _fetcher(**kw) -> RobotsFetcher:
    options = {"timeout": 1.0, "host_deadline": 3.0, "allow_private": True, "resolver": _resolver}
    options.update(kw)
    return RobotsFetcher(**options)


def _origin(server: _Server, name: str) -> Origin:
    return parse_origin(f"http://{name}:{server.port}")


# ---------------------------------------------------------------------------------------------------------
# Statuses, redirects, bodies
# ---------------------------------------------------------------------------------------------------------
def test_ok_fetch_records_status_body_digest_and_sends_our_user_agent(server):
    snap = _fetcher().fetch(_origin(server, "ok.test"))
    assert (snap.status, snap.error, snap.body, snap.truncated, snap.redirects) == (200, None, ROBOTS, False, 0)
    assert snap.host == f"ok.test:{server.port}" and snap.scheme == "http"
    assert snap.final_url == f"http://ok.test:{server.port}/robots.txt"
    assert ("ok.test", "/robots.txt", USER_AGENT) in server.log
    assert "curate" in USER_AGENT and "https://" in USER_AGENT


@pytest.mark.parametrize(("name", "status"), [("missing.test", 404), ("forbidden.test", 403), ("down.test", 503)])
def test_error_statuses_are_recorded(server, name, status):
    snap = _fetcher().fetch(_origin(server, name))
    assert (snap.status, snap.error) == (status, None)


def test_five_redirects_are_followed_and_a_sixth_is_refused(server):
    fetcher = _fetcher()
    five = fetcher.fetch(_origin(server, "chain5.test"))
    assert (five.status, five.error, five.redirects, five.body) == (200, None, 5, ROBOTS)
    assert five.final_url.endswith("/hop-5")
    six = fetcher.fetch(_origin(server, "chain6.test"))
    assert (six.status, six.error, six.redirects) == (None, "too_many_redirects", 5)


def test_redirect_loop_is_detected(server):
    snap = _fetcher().fetch(_origin(server, "loop.test"))
    assert (snap.status, snap.error, snap.redirects) == (None, "redirect_loop", 1)
    assert sum(1 for entry in server.log if entry[0] == "loop.test") == 2  # no request went round twice


def test_oversized_body_is_truncated_at_the_cap(server):
    snap = _fetcher().fetch(_origin(server, "big.test"))
    assert snap.status == 200 and snap.truncated and len(snap.body) == 512000
    assert snap.body.startswith(b"User-agent: *\nDisallow: /big\n")


def test_gzip_is_decoded_and_a_gzip_bomb_is_capped(server):
    fetcher = _fetcher()
    plain = fetcher.fetch(_origin(server, "gzip.test"))
    assert (plain.status, plain.body, plain.truncated) == (200, ROBOTS, False)
    bomb = fetcher.fetch(_origin(server, "bomb.test"))
    assert bomb.status == 200 and bomb.truncated and bomb.body == b"\0" * 512000


def test_stalled_server_times_out_and_a_dripping_one_hits_the_deadline(server):
    fetcher = _fetcher(timeout=0.3, host_deadline=1.0)
    assert fetcher.fetch(_origin(server, "stall.test")).error == "timeout"
    drip = fetcher.fetch(_origin(server, "drip.test"))  # a byte every 50 ms never trips the read timeout
    assert (drip.status, drip.error) == (200, "deadline")


def test_refused_connection_and_dns_failure(server):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    closed_port = probe.getsockname()[1]
    probe.close()
    fetcher = _fetcher()
    refused = fetcher.fetch(parse_origin(f"http://closed.test:{closed_port}"))
    assert (refused.status, refused.error) == (None, "connection_refused")
    assert fetcher.fetch(parse_origin("http://nowhere.invalid")).error == "dns_error"


# ---------------------------------------------------------------------------------------------------------
# Address checks and proxies
# ---------------------------------------------------------------------------------------------------------
def test_private_addresses_are_refused_before_connecting(server, loopback_only):
    fetcher = _fetcher(allow_private=False)
    (literal,) = read_hosts_file_from_text("10.0.0.1\n")
    assert literal == Origin("https", "10.0.0.1")
    snap = fetcher.fetch(literal)
    assert (snap.status, snap.error) == (None, "private_address")
    assert fetcher.fetch(_origin(server, "ok.test")).error == "private_address"  # resolves to loopback
    assert loopback_only == [] and server.log == []  # nothing was sent anywhere


def test_every_address_and_every_hop_is_checked(server, loopback_only):
    fetcher = _fetcher(allow_private=False, allow_networks=["127.0.0.0/8"])
    assert fetcher.fetch(_origin(server, "ok.test")).status == 200  # loopback permitted explicitly
    assert fetcher.fetch(_origin(server, "mixed.test")).error == "private_address"  # one bad address is enough
    hop = fetcher.fetch(_origin(server, "toprivate.test"))
    assert (hop.error, hop.redirects, hop.final_url) == ("private_address", 1, "http://10.0.0.1/robots.txt")
    assert loopback_only == []


def test_proxy_from_environment_is_used_without_local_resolution(server, monkeypatch, loopback_only):
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.port}")
    monkeypatch.setenv("NO_PROXY", "direct.test")

    resolved = []

    def no_dns(host, port):
        resolved.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    fetcher = _fetcher(allow_private=False, resolver=no_dns)
    via_proxy = fetcher.fetch(parse_origin("http://gzip.example"))  # the proxy resolves it (here: serves it)
    assert (via_proxy.status, via_proxy.body) == (200, ROBOTS)
    assert ("proxy", "http://gzip.example/robots.txt") in server.log
    assert fetcher.fetch(parse_origin("http://10.0.0.1")).error == "private_address"  # literal IPs still refused
    assert fetcher.fetch(parse_origin("http://direct.test")).error == "dns_error"  # NO_PROXY: our resolver
    assert resolved == ["direct.test"] and loopback_only == []


def test_forbidden_address_classes():
    for address in ("10.0.0.1", "127.0.0.1", "169.254.1.1", "192.168.1.1", "224.0.0.1", "0.0.0.0", "100.64.0.1",
                    "240.0.0.1", "::1", "fe80::1", "fc00::1", "::ffff:10.0.0.1", "ff02::1"):
        assert is_forbidden_address(address), address
    for address in ("8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"):
        assert not is_forbidden_address(address), address


# ---------------------------------------------------------------------------------------------------------
# Hosts files
# ---------------------------------------------------------------------------------------------------------
def read_hosts_file_from_text(text: str, tmp_dir=None):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "hosts.txt"
        path.write_text(text)
        return read_hosts_file(path)


def test_hosts_file_forms_comments_and_duplicates():
    origins = read_hosts_file_from_text(
        "# top hosts\n\nexample.com\nhttp://Example.com:80/\nhttps://example.com:443\n"
        "example.org:8443  # inline comment\nhttp://[::1]:8080\n"
    )
    assert origins == [Origin("https", "example.com"), Origin("http", "example.com"),
                       Origin("https", "example.org:8443"), Origin("http", "[::1]:8080")]


@pytest.mark.parametrize("line", ["ftp://example.com", "https://example.com/robots.txt", "exa mple.com",
                                  "example.com:99999", "https://user@example.com", "http://"])
def test_bad_hosts_lines_name_the_line(line):
    with pytest.raises(HostsFileError, match=r"hosts\.txt:3: "):
        read_hosts_file_from_text(f"# header\nexample.com\n{line}\n")


# ---------------------------------------------------------------------------------------------------------
# Many hosts, batches, resumption, CLI
# ---------------------------------------------------------------------------------------------------------
def test_a_thousand_hosts_with_latency_fetch_concurrently(server, tmp_path):
    n, latency = 1000, 0.1
    server.latency = latency
    origins = [_origin(server, f"h{i:04d}.test") for i in range(n)]
    cache = RobotsCache(tmp_path / "c")
    started = time.monotonic()
    summary = fetch_to_cache(origins, cache, _fetcher(timeout=10, host_deadline=20), concurrency=200,
                             batch_size=250)
    elapsed = time.monotonic() - started
    assert (summary.fetched, summary.statuses[200], summary.errors) == (n, n, {})
    assert len(summary.parts) == 4
    fresh = RobotsCache(tmp_path / "c")
    assert len(fresh) == n
    for i in (0, 1, 499, 999):
        (snap,) = fresh.snapshots("http", f"h{i:04d}.test:{server.port}")
        assert snap.body == f"User-agent: *\nDisallow: /h{i:04d}/\n".encode()
    assert elapsed < n * latency / 4, f"{elapsed:.1f} s: not concurrent (serial would take {n * latency:.0f} s)"


class _Flaky(RobotsFetcher):
    """Crashes (a bug, not a fetch error) on one origin."""

    def fetch(self, origin):
        if origin.host.startswith("crash."):
            raise RuntimeError("boom")
        return super().fetch(origin)


def test_batches_survive_a_crash_and_the_rerun_resumes(server, tmp_path):
    server.latency = 0.0
    names = [f"h{i:02d}.test" for i in range(10)]
    origins = [_origin(server, n) for n in names]
    cache = RobotsCache(tmp_path / "c")
    with pytest.raises(RuntimeError, match="boom"):
        fetch_to_cache(origins[:7] + [_origin(server, "crash.test")] + origins[7:], cache,
                       _Flaky(allow_private=True, resolver=_resolver), concurrency=1, batch_size=3)
    assert len(RobotsCache(tmp_path / "c")) == 6  # two full batches before the crash; the third is lost
    summary = fetch_to_cache(origins, cache, _fetcher(), concurrency=4, batch_size=3)
    assert (summary.skipped, summary.fetched) == (6, 4)
    assert len(RobotsCache(tmp_path / "c")) == 10
    again = fetch_to_cache(origins, RobotsCache(tmp_path / "c"), _fetcher(), refresh=True, batch_size=100)
    assert again.fetched == 10 and len(RobotsCache(tmp_path / "c")) == 20


def test_fetch_command_end_to_end(server, tmp_path):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    closed_port = probe.getsockname()[1]
    probe.close()
    hosts = tmp_path / "hosts.txt"
    hosts.write_text(f"# origins\nhttp://127.0.0.1:{server.port}\n\nhttp://127.0.0.1:{closed_port}\n")
    args = ["fetch", "--hosts", str(hosts), "--cache", str(tmp_path / "c"), "--timeout", "2", "--no-progress"]
    refused = CliRunner().invoke(robots_cli, args)  # loopback without --allow-private: refused, recorded
    assert refused.exit_code == 0, refused.output
    assert "private_address: 2" in refused.output
    allowed = CliRunner().invoke(robots_cli, [*args, "--allow-private", "--refresh"])
    assert allowed.exit_code == 0, allowed.output
    assert "200: 1" in allowed.output and "connection_refused: 1" in allowed.output
    resumed = CliRunner().invoke(robots_cli, [*args, "--allow-private"])
    assert "0 fetched, 2 already cached" in resumed.output
    cache = RobotsCache(tmp_path / "c")
    statuses = [s.status for s in cache.snapshots("http", f"127.0.0.1:{server.port}")]
    assert statuses == [None, 200]
    hosts.write_text("example.com\nnot a host\n")
    bad = CliRunner().invoke(robots_cli, args)
    assert bad.exit_code == 2 and "hosts.txt:2" in bad.output

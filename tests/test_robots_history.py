"""robots.txt history (issue 14, item 5): Common Crawl robotstxt WARCs (`curate robots import-warc`) and Wayback
Machine CDX exports (`curate robots import-cdx`) into the robots cache, then the as-of-crawl policy on them.
Every input is written here: WARCs with warcio's WARCWriter, CDX JSON and raw files by hand."""
import base64
import gzip
import hashlib
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pyarrow.parquet as pq
import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from conftest import run_cli, run_small
from curate.robots.cache import RobotsCache
from curate.robots.fetch import RobotsFetcher, parse_origin
from curate.robots.history import import_cdx, import_warcs
from curate.robots.policy import OptoutPolicy

AGENTS = ["GPTBot", "*"]
OPEN = b"User-agent: *\nAllow: /\n"
NO_GPT = b"User-agent: GPTBot\nDisallow: /\n\nUser-agent: *\nAllow: /\n"


class Warc:
    """A Common Crawl-style robotstxt WARC: a request + response record pair per fetch, gzip per record."""

    def __init__(self) -> None:
        self.buf = io.BytesIO()
        self.writer = WARCWriter(self.buf, gzip=True)

    def fetch(self, url: str, date: str, status: str, body: bytes = b"", headers=(), warc_headers=None) -> "Warc":
        request = StatusAndHeaders(f"GET {url.split('/', 3)[3] if url.count('/') > 2 else '/'} HTTP/1.1",
                                   [("User-Agent", "CCBot/2.0")], is_http_request=True)
        self.writer.write_record(self.writer.create_warc_record(
            url, "request", http_headers=request, warc_headers_dict={"WARC-Date": date}))
        return self.response(url, date, status, body, headers, warc_headers)

    def response(self, url, date, status, body=b"", headers=(), warc_headers=None) -> "Warc":
        http = StatusAndHeaders(status, [("Content-Type", "text/plain"), *headers], protocol="HTTP/1.1")
        record = self.writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http,
                                                warc_headers_dict={"WARC-Date": date, **(warc_headers or {})})
        self.writer.write_record(record)
        return self

    def raw(self, data: bytes) -> "Warc":
        self.buf.write(data)
        return self

    def save(self, path):
        path.write_bytes(self.buf.getvalue())
        return path


def history_warc(path):
    """news.example fetched many times in 2017 (allows everything) and 2024 (refuses GPTBot), http and https."""
    w = Warc()
    for date in ("2017-03-01T10:00:00Z", "2017-03-01T12:30:00Z", "2017-06-20T08:00:00Z"):
        w.fetch("https://news.example/robots.txt", date, "200 OK", OPEN)
    w.fetch("http://news.example/robots.txt", "2017-03-01T10:00:05Z", "301 Moved Permanently",
            headers=[("Location", "https://news.example/robots.txt")])
    for date in ("2024-05-01T09:00:00Z", "2024-05-01T11:15:00Z"):
        w.fetch("https://news.example/robots.txt", date, "200 OK", NO_GPT)
    w.fetch("http://news.example/robots.txt", "2024-05-01T09:00:04Z", "301 Moved Permanently",
            headers=[("Location", "https://news.example/robots.txt")])
    w.fetch("http://news.example/robots.txt", "2024-05-01T11:15:03Z", "301 Moved Permanently",
            headers=[("Location", "https://news.example/robots.txt")])
    return w.save(path)


def decisions(cache_dir, policy):
    p = OptoutPolicy(RobotsCache(cache_dir), AGENTS, policy=policy)
    return {(u, d): p.decide(u, d).allowed for u in ("https://news.example/a", "http://news.example/a")
            for d in ("2018-04-01", "2024-08-01")}


def test_warc_history_as_of_crawl_and_retroactive(tmp_path):
    warc, cache = history_warc(tmp_path / "CC-MAIN-robotstxt.warc.gz"), tmp_path / "cache"
    summary = import_warcs([warc], cache)
    assert (summary.records, summary.captures, summary.added, summary.duplicates) == (16, 8, 4, 4)
    assert not summary.errors and not summary.unresolved_redirects
    snaps = list(RobotsCache(cache))
    https = [s for s in snaps if s.scheme == "https"]
    assert [(s.fetched_at.isoformat(), s.body) for s in https] == [
        ("2017-03-01T10:00:00+00:00", OPEN), ("2024-05-01T09:00:00+00:00", NO_GPT)]  # earliest of each run
    http = [s for s in snaps if s.scheme == "http"]  # the redirect followed to the https capture, as a fetch would
    assert [(s.status, s.body, s.redirects, s.final_url) for s in http] == [
        (200, OPEN, 1, "https://news.example/robots.txt"), (200, NO_GPT, 1, "https://news.example/robots.txt")]
    assert decisions(cache, "as-of-crawl") == {
        ("https://news.example/a", "2018-04-01"): True, ("https://news.example/a", "2024-08-01"): False,
        ("http://news.example/a", "2018-04-01"): True, ("http://news.example/a", "2024-08-01"): False}
    assert not any(decisions(cache, "retroactive").values())

    digest, parts = RobotsCache(cache).sha256(), sorted(cache.glob("*.parquet"))
    again = run_cli("robots", "import-warc", warc, "--cache", cache).stdout
    assert "0 snapshots added" in again and "8 duplicates collapsed" in again and "0 errors" in again, again
    assert sorted(cache.glob("*.parquet")) == parts and RobotsCache(cache).sha256() == digest


def test_warc_history_in_a_curate_run(tmp_path):
    cache = tmp_path / "cache"
    run_cli("robots", "import-warc", history_warc(tmp_path / "h.warc.gz"), "--cache", cache)
    docs = [{"id": "old", "url": "https://news.example/2018/story", "date": "2018-04-01", "text": "An old story."},
            {"id": "new", "url": "https://news.example/2024/story", "date": "2024-08-01", "text": "A new story."}]
    blocks = f"  - optout: {{cache: {cache}, agents: [GPTBot, '*'], policy: %s}}\n  - tokenize: {{}}\n"
    for policy, expected in (("as-of-crawl", {"old": "kept", "new": "dropped"}),
                             ("retroactive", {"old": "dropped", "new": "dropped"})):
        out, _, _ = run_small(tmp_path, docs, blocks % policy, out_name=f"out-{policy}")
        rows = [r for f in sorted((out / "manifests").rglob("*.parquet")) for r in pq.read_table(f).to_pylist()]
        assert {r["doc_id"]: r["status"] for r in rows} == expected
        assert all(r["reason"] == "optout.robots" for r in rows if r["status"] == "dropped")


def test_an_older_crawl_adds_an_earlier_run_and_a_newer_duplicate_adds_nothing(tmp_path):
    cache = tmp_path / "cache"
    import_warcs([history_warc(tmp_path / "h.warc.gz")], cache)
    older = Warc().fetch("https://news.example/robots.txt", "2016-09-01T00:00:00Z", "200 OK", OPEN) \
        .fetch("https://news.example/robots.txt", "2025-01-01T00:00:00Z", "200 OK", NO_GPT) \
        .save(tmp_path / "older.warc.gz")
    summary = import_warcs([older], cache)
    assert (summary.added, summary.duplicates) == (1, 1)
    assert [s.fetched_at.year for s in RobotsCache(cache).snapshots("https", "news.example")] == [2016, 2017, 2024]


# ---------------------------------------------------------------------------------------------------------
# Redirects, HTML, error statuses and broken records: as the live fetcher records them
# ---------------------------------------------------------------------------------------------------------
ROUTES = {  # (host, path) -> (status, headers, body), served live and written as WARC captures
    ("shop.test", "/robots.txt"): (302, {"Location": "/login"}, b""),
    ("shop.test", "/login"): (200, {"Content-Type": "text/html"}, b"<html><body>Disallow: sign in</body></html>"),
    ("gone.test", "/robots.txt"): (404, {"Content-Type": "text/html"}, b"<html>Not Found</html>"),
    ("loop.test", "/robots.txt"): (301, {"Location": "/robots2.txt"}, b""),
    ("loop.test", "/robots2.txt"): (301, {"Location": "/robots.txt"}, b""),
    ("down.test", "/robots.txt"): (503, {}, b"busy"),
}


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        status, headers, body = ROUTES[(self.headers["Host"].split(":")[0], self.path)]
        self.send_response(status)
        for k, v in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture()
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_captures_become_what_the_live_fetcher_records(tmp_path, server):
    port = server.server_address[1]
    w = Warc()
    for (host, path), (status, headers, body) in ROUTES.items():
        w.fetch(f"http://{host}:{port}{path}", "2020-02-02T02:02:02Z", f"{status} X", body, headers=list(headers.items()))
    cache = tmp_path / "cache"
    summary = import_warcs([w.save(tmp_path / "edge.warc.gz")], cache)
    assert summary.redirect_targets == 2 and not summary.errors  # /login, /robots2.txt: redirect targets, not errors
    fetcher = RobotsFetcher(timeout=2, host_deadline=5, allow_private=True, resolver=lambda h, p: ["127.0.0.1"])
    try:
        for host in ("shop.test", "gone.test", "loop.test", "down.test"):
            live = fetcher.fetch(parse_origin(f"http://{host}:{port}"))
            (imported,) = RobotsCache(cache).snapshots("http", f"{host}:{port}")
            fields = ("status", "error", "sha256", "final_url", "redirects", "truncated")
            assert {f: getattr(imported, f) for f in fields} == {f: getattr(live, f) for f in fields}, host
    finally:
        fetcher.close()
    policy = OptoutPolicy(RobotsCache(cache), AGENTS, policy="as-of-crawl")
    shop = policy.decide(f"http://shop.test:{port}/item", "2021-01-01")
    assert shop.allowed and shop.evidence["snapshot"]["status"] == 200  # an HTML page has no rules
    assert policy.decide(f"http://gone.test:{port}/x", "2021-01-01").evidence["robots"] == "unavailable"
    assert policy.decide(f"http://loop.test:{port}/x", "2021-01-01").evidence["snapshot"]["error"] == "redirect_loop"
    assert policy.decide(f"http://down.test:{port}/x", "2021-01-01").reason == "optout.server_error"


def test_broken_records_are_counted_and_reading_goes_on(tmp_path):
    w = Warc().fetch("https://a.example/robots.txt", "2019-01-01T00:00:00Z", "200 OK", OPEN)
    good = w.buf.getvalue()
    corrupt = Warc().fetch("https://b.example/robots.txt", "2019-01-01T00:00:00Z", "200 OK", NO_GPT).buf.getvalue()
    w.raw(corrupt[:40] + bytes(40) + corrupt[80:])  # a damaged member (the request record's)
    w.response("https://c.example/robots.txt", "2019-01-01T00:00:00Z", "200 OK", NO_GPT)
    no_uri = Warc().response("https://x.example/robots.txt", "2019-01-01T00:00:00Z", "200 OK", OPEN).buf.getvalue()
    w.raw(gzip.compress(gzip.decompress(no_uri).replace(b"WARC-Target-URI", b"X-Not-The-Target")))
    w.response("https://d.example/about.html", "2019-01-01T00:00:00Z", "200 OK", b"<html></html>")  # not robots.txt
    w.raw(b"garbage between records")
    w.response("https://E.example:443/robots.txt", "2019-01-01T00:00:00Z", "404 Not Found", b"nope")
    w.raw(good[: len(good) - 30])  # the file ends inside a record
    path = w.save(tmp_path / "broken.warc.gz")
    cache = tmp_path / "cache"
    summary = import_warcs([path], cache)
    assert dict(summary.errors) == {"bad_gzip": 2, "missing_header": 1, "not_robots_uri": 1, "truncated_gzip": 1}
    hosts = {h: RobotsCache(cache).snapshots("https", h) for h in ("a.example", "b.example", "c.example", "e.example")}
    assert [len(v) for v in hosts.values()] == [1, 1, 1, 1]  # b's response survived its damaged request record
    assert (hosts["e.example"][0].status, hosts["e.example"][0].final_url) == (404, "https://e.example/robots.txt")
    line = run_cli("robots", "import-warc", path, "--cache", tmp_path / "c2").stdout
    assert "5 errors (bad_gzip: 2, missing_header: 1, not_robots_uri: 1, truncated_gzip: 1)" in line, line


def test_an_uncaptured_redirect_stays_3xx_and_long_bodies_are_cut(tmp_path):
    w = Warc().fetch("https://moved.example/robots.txt", "2022-01-01T00:00:00Z", "301 Moved",
                     headers=[("Location", "https://elsewhere.example/robots.txt")])
    w.response("https://big.example/robots.txt", "2022-01-01T00:00:00Z", "200 OK", bytes(40 * 1024 * 1024))
    w.response("https://long.example/robots.txt", "2022-01-01T00:00:00Z", "200 OK", b"Disallow: /x\n" * 50000,
               warc_headers={"WARC-Truncated": "length"})
    cache = tmp_path / "cache"
    summary = import_warcs([w.save(tmp_path / "r.warc.gz")], cache)
    assert summary.unresolved_redirects == 1 and not summary.errors
    (moved,) = RobotsCache(cache).snapshots("https", "moved.example")
    assert (moved.status, moved.redirects, moved.final_url) == (301, 0, "https://moved.example/robots.txt")
    for host in ("big.example", "long.example"):  # cut at the cache's minimum, as the fetcher cuts
        (snap,) = RobotsCache(cache).snapshots("https", host)
        assert snap.truncated and len(snap.body) == 500 * 1024


def test_a_whole_file_gzip_and_an_uncompressed_warc_are_read_too(tmp_path):
    w = Warc().fetch("https://a.example/robots.txt", "2019-01-01T00:00:00Z", "200 OK", OPEN)
    w.fetch("https://b.example/robots.txt", "2019-01-01T00:00:00Z", "200 OK", NO_GPT)
    plain = b"".join(gzip.decompress(w.buf.getvalue()) for _ in range(1))
    (tmp_path / "one-member.warc.gz").write_bytes(gzip.compress(plain))
    (tmp_path / "plain.warc").write_bytes(plain + b"not a record\r\n\r\n")
    for name in ("one-member.warc.gz", "plain.warc"):
        summary = import_warcs([tmp_path / name], tmp_path / f"cache-{name}")
        assert (summary.records, summary.added) == (4, 2), name
    assert dict(summary.errors) == {"bad_record": 1}


# ---------------------------------------------------------------------------------------------------------
# Wayback Machine CDX
# ---------------------------------------------------------------------------------------------------------
def _digest(data: bytes) -> str:
    return base64.b32encode(hashlib.sha1(data).digest()).decode()


def test_cdx_history_with_raw_files(tmp_path):
    raw, cache = tmp_path / "raw", tmp_path / "cache"
    raw.mkdir()
    fields = ["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length"]
    url = "https://news.example/robots.txt"
    rows = [fields,
            ["example,news)/robots.txt", "20170301100000", url, "text/plain", "200", _digest(OPEN), "300"],
            ["example,news)/robots.txt", "20170801100000", url, "text/plain", "200", _digest(OPEN), "300"],
            ["example,news)/robots.txt", "20190101000000", url, "text/plain", "200", "MISSINGDIGEST", "300"],
            ["example,news)/robots.txt", "20200101000000", url, "warc/revisit", "-", _digest(OPEN), "300"],
            ["example,news)/robots.txt", "20240501090000", url, "text/plain", "200", _digest(NO_GPT), "310"],
            ["example,news)/robots.txt", "20240601090000", url, "text/html", "404", "SOMEDIGEST", "200"]]
    cdx = tmp_path / "news.cdx.json"
    cdx.write_text(json.dumps(rows))
    (raw / "20170301100000_news.example.txt").write_bytes(OPEN)
    (raw / "20170801100000_news.example.txt").write_bytes(OPEN)
    (raw / f"{_digest(NO_GPT)}.txt").write_bytes(NO_GPT)  # the digest as an alternative name
    proc = run_cli("robots", "import-cdx", cdx, "--raw", raw, "--cache", cache)
    assert "6 CDX rows read" in proc.stdout and "3 snapshots added" in proc.stdout and "1 duplicates" in proc.stdout
    assert "20190101000000 https://news.example/robots.txt" in proc.stderr  # the missing raw file, named
    snaps = RobotsCache(cache).snapshots("https", "news.example")
    assert [(s.fetched_at.year, s.status) for s in snaps] == [(2017, 200), (2024, 200), (2024, 404)]
    p = OptoutPolicy(RobotsCache(cache), AGENTS, policy="as-of-crawl")
    assert p.decide("https://news.example/a", "2018-04-01").allowed
    assert not p.decide("https://news.example/a", "2024-05-15").allowed
    digest = RobotsCache(cache).sha256()
    again = import_cdx([cdx], raw, cache)
    assert again.added == 0 and again.missing == ["20190101000000 https://news.example/robots.txt"]
    assert RobotsCache(cache).sha256() == digest


def test_cdx_errors(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    bad = tmp_path / "bad.json"
    bad.write_text('{"not": "cdx"}')
    proc = run_cli("robots", "import-cdx", bad, "--raw", raw, "--cache", tmp_path / "c", check=False)
    assert proc.returncode == 2 and "not a CDX JSON export" in proc.stderr
    cdx = tmp_path / "x.json"
    cdx.write_text(json.dumps([["timestamp", "original", "statuscode"], ["2017", "https://a.example/page", "200"],
                               ["20170101", "https://a.example/robots.txt"], ["2017x", "https://a.example/robots.txt", "200"]]))
    summary = import_cdx([cdx], raw, tmp_path / "c")
    assert dict(summary.errors) == {"not_robots_uri": 1, "bad_row": 2} and summary.added == 0


def test_a_file_read_in_small_pieces_gives_the_same_records(tmp_path, monkeypatch):
    import curate.robots.history as history

    class Trickle(io.BytesIO):  # a file that hands out a few bytes per read, like a slow pipe
        def read(self, size=-1):
            return super().read(5 if size is None or size < 0 else min(size, 5))

    path = history_warc(tmp_path / "h.warc.gz")
    monkeypatch.setattr(history, "open", lambda p, mode: Trickle(open(p, mode).read()), raising=False)
    summary = import_warcs([path], tmp_path / "cache")
    assert (summary.records, summary.added, dict(summary.errors)) == (16, 4, {})

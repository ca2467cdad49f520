"""W3C TDMRep: /.well-known/tdmrep.json parsing (first matching entry wins), hostile files (bounded, recorded,
never fatal), the cache's kind column, fetch and import, snapshot choice and TDMRep's precedence."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from curate.robots.cache import SNAPSHOT_SCHEMA, CacheError, RobotsCache, snapshot_from_body
from curate.robots.cli import import_directory, robots as robots_cli
from curate.robots.fetch import RobotsFetcher, fetch_to_cache, parse_origin
from curate.robots.policy import OptoutPolicy
from curate.robots.tdmrep import MAX_BYTES, MAX_ENTRIES, TdmRep

AGENTS = ("GPTBot", "*")


def _file(*entries) -> bytes:
    return json.dumps(list(entries)).encode()


# ---------------------------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------------------------
def test_first_matching_entry_in_array_order_wins():
    tdm = TdmRep.parse(_file({"location": "/", "tdm-reservation": 1},
                             {"location": "/free/", "tdm-reservation": 0}))
    assert tdm.match("https://e/free/x").reservation == 1  # "/" comes first: the later entry never decides
    tdm = TdmRep.parse(_file({"location": "/free/", "tdm-reservation": 0},
                             {"location": "/", "tdm-reservation": 1, "tdm-policy": "https://e/p.json"}))
    assert tdm.match("https://e/free/x").reservation == 0
    rule = tdm.match("https://e/news")
    assert (rule.index, rule.reservation, rule.policy) == (1, 1, "https://e/p.json")
    assert tdm.error is None and tdm.entry_errors == 0


@pytest.mark.parametrize("location, path, matches", [
    ("/images/*.png", "/images/a/b.png", True),
    ("/images/*.png$", "/images/b.png?x", False),
    ("/a$", "/a", True),
    ("/a$", "/ab", False),
    ("*", "/anything", True),
    ("/caf\u00e9/", "/caf%C3%A9/x", True),  # escaped as robots.txt patterns are
])
def test_locations_match_like_robots_txt_patterns(location, path, matches):
    tdm = TdmRep.parse(_file({"location": location, "tdm-reservation": 1}))
    assert (tdm.match(f"https://e{path}") is not None) == matches


@pytest.mark.parametrize("value", [2, "1", True, None, 1.5, [1]])
def test_a_reservation_other_than_0_or_1_is_an_error_and_unset(value):
    entry = {"location": "/"} if value is None else {"location": "/", "tdm-reservation": value}
    tdm = TdmRep.parse(_file(entry))
    rule = tdm.match("https://e/x")
    assert rule.reservation is None and rule.error and tdm.entry_errors == 1


@pytest.mark.parametrize("body, error", [
    (b'{"location": "/", "tdm-reservation": 1}', "expected a JSON array of objects, got a JSON object"),
    (b'[{"location": "/", "tdm-reservation": 1}', "not JSON"),
    (b"<html><body>Not found</body></html>", "looks like HTML"),
    (b"[" * 200_000, "nested too deeply"),
    (b"\xff\xfe[]", "not UTF-8"),
    (json.dumps([{"location": "/x", "tdm-reservation": 1}] * (MAX_ENTRIES + 1)).encode(), "entries, more than"),
])
def test_broken_files_are_a_recorded_error_never_an_exception(body, error):
    tdm = TdmRep.parse(body)
    assert error in tdm.error and tdm.rules == () and tdm.match("https://e/x") is None


def test_wrong_entry_types_are_skipped_and_counted():
    tdm = TdmRep.parse(_file("x", 3, {"tdm-reservation": 1}, {"location": 7, "tdm-reservation": 1},
                             {"location": "relative", "tdm-reservation": 1},
                             {"location": "/", "tdm-reservation": 1, "tdm-policy": 5}))
    assert tdm.entry_errors == 6 and len(tdm.errors) == 6 and len(tdm.rules) == 1
    assert tdm.match("https://e/x").policy is None


def test_a_5_mb_file_is_not_decoded():
    huge = b"[" + b'{"location": "/x", "tdm-reservation": 1},' * 130_000 + b'{"location": "/", "tdm-reservation": 1}]'
    assert len(huge) > 5_000_000
    tdm = TdmRep.parse(huge)
    assert tdm.error == f"{len(huge)} bytes, more than {MAX_BYTES}: not parsed" and tdm.rules == ()
    cut = TdmRep.parse(huge[:512000], truncated=True)
    assert "truncated" in cut.error and cut.rules == ()


# ---------------------------------------------------------------------------------------------------------
# The cache's kind column
# ---------------------------------------------------------------------------------------------------------
def test_kind_column_separates_robots_and_tdmrep_rows(tmp_path):
    cache = RobotsCache(tmp_path / "c")
    cache.append([snapshot_from_body("https", "e.example", "User-agent: *\nDisallow:\n", "2025-01-01"),
                  snapshot_from_body("https", "e.example", _file({"location": "/", "tdm-reservation": 1}),
                                     "2025-01-01", kind="tdmrep")])
    fresh = RobotsCache(tmp_path / "c")
    assert [s.kind for s in fresh.snapshots("https", "e.example")] == ["robots"]
    assert [s.kind for s in fresh.snapshots("https", "e.example", "tdmrep")] == ["tdmrep"]
    assert len(fresh) == 2 and fresh.hosts("tdmrep") == {("https", "e.example")}
    assert pq.read_schema(fresh.part_files()[0]).names == SNAPSHOT_SCHEMA.names
    with pytest.raises(CacheError, match="kind"):
        cache.append([snapshot_from_body("https", "e.example", b"", "2025-01-01", kind="ai.txt")])


def test_old_cache_files_without_the_column_read_as_robots_and_hash_the_same(tmp_path):
    snap = snapshot_from_body("https", "old.example", "User-agent: *\nDisallow: /x\n", "2020-05-01")
    new = RobotsCache(tmp_path / "new")
    new.append([snap])
    old_dir = tmp_path / "old"
    old_dir.mkdir()
    row = {k: v for k, v in snap.to_row().items() if k != "kind"}
    old_schema = pa.schema([f for f in SNAPSHOT_SCHEMA if f.name != "kind"])
    pq.write_table(pa.Table.from_pylist([row], schema=old_schema), old_dir / "part-old.parquet")
    old = RobotsCache(old_dir)
    (read,) = old.snapshots("https", "old.example")
    assert read.kind == "robots" and read.body == snap.body
    assert old.sha256() == new.sha256()  # run ids of existing caches do not change


# ---------------------------------------------------------------------------------------------------------
# Import and fetch
# ---------------------------------------------------------------------------------------------------------
def test_import_reads_tdmrep_files_beside_robots_files(tmp_path):
    src = tmp_path / "saved"
    src.mkdir()
    (src / "e.example.txt").write_text("User-agent: *\nAllow: /\n")
    (src / "e.example.tdmrep.json").write_bytes(_file({"location": "/", "tdm-reservation": 1}))
    (src / "big.example.tdmrep.json").write_bytes(b"[" + b" " * 5_000_000 + b"]")  # 5 MB: kept truncated
    result = CliRunner().invoke(robots_cli, ["import", str(src), "--cache", str(tmp_path / "c"),
                                             "--fetched-at", "2025-02-01"])
    assert result.exit_code == 0, result.output
    assert "imported 1 robots.txt files" in result.output and "imported 2 tdmrep.json files" in result.output
    cache = RobotsCache(tmp_path / "c")
    assert len(cache) == 6
    (big,) = cache.snapshots("https", "big.example", "tdmrep")
    assert big.truncated and len(big.body) == 512000
    assert [s.scheme for s in cache if s.kind == "tdmrep" and s.host == "e.example"] == ["http", "https"]
    assert import_directory(src, tmp_path / "c", "2025-02-01", tdmrep_imported=(again := []))[0] == 0 and not again
    policy = OptoutPolicy(RobotsCache(tmp_path / "c"), AGENTS)
    d = policy.decide("https://big.example/x")
    assert d.allowed and "truncated" in d.evidence["tdmrep"]["well_known"]["error"]
    d = policy.decide("http://e.example/x")
    assert (d.reason, d.evidence["tdmrep"]["well_known"]["rule"]["index"]) == ("optout.tdmrep", 0)


class _Handler(BaseHTTPRequestHandler):
    files = {"/robots.txt": (200, b"User-agent: *\nAllow: /\n"),
             "/.well-known/tdmrep.json": (200, _file({"location": "/", "tdm-reservation": 1}))}

    def do_GET(self):  # noqa: N802
        self.server.paths.append(self.path)
        status, body = self.files.get(self.path, (404, b"not found"))
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture()
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.paths = []
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()


def test_fetch_takes_the_tdmrep_file_into_the_same_cache_resumably(server, tmp_path):
    hosts = tmp_path / "hosts.txt"
    hosts.write_text(f"http://127.0.0.1:{server.server_address[1]}\n")
    args = ["fetch", "--hosts", str(hosts), "--cache", str(tmp_path / "c"), "--allow-private", "--no-progress"]
    first = CliRunner().invoke(robots_cli, args)
    assert first.exit_code == 0, first.output
    assert "tdmrep.json: 1 fetched, 0 already cached; statuses: 200: 1" in first.output
    assert sorted(server.paths) == ["/.well-known/tdmrep.json", "/robots.txt"]
    cache = RobotsCache(tmp_path / "c")
    host = f"127.0.0.1:{server.server_address[1]}"
    (snap,) = cache.snapshots("http", host, "tdmrep")
    assert snap.status == 200 and snap.final_url.endswith("/.well-known/tdmrep.json")
    again = CliRunner().invoke(robots_cli, args)
    assert "0 fetched, 1 already cached" in again.output and "tdmrep.json: 0 fetched, 1 already cached" in again.output
    assert len(server.paths) == 2
    d = OptoutPolicy(cache, AGENTS).decide(f"http://{host}/page")
    assert d.reason == "optout.tdmrep" and d.evidence["tdmrep"]["well_known"]["snapshot"]["status"] == 200


def test_a_missing_tdmrep_file_is_recorded_and_declares_nothing(server, tmp_path, monkeypatch):
    monkeypatch.setattr(_Handler, "files", {"/robots.txt": (200, b"User-agent: *\nAllow: /\n")})
    cache = RobotsCache(tmp_path / "c")
    origin = parse_origin(f"http://127.0.0.1:{server.server_address[1]}")
    summary = fetch_to_cache([origin], cache, RobotsFetcher(allow_private=True), tdmrep=True)
    assert summary.tdmrep_statuses == {404: 1} and summary.statuses == {200: 1}
    d = OptoutPolicy(RobotsCache(tmp_path / "c"), AGENTS).decide(f"http://{origin.host}/x")
    assert d.allowed and d.evidence["tdmrep"]["well_known"]["state"] == "no_file"
    plain = fetch_to_cache([origin], RobotsCache(tmp_path / "d"), RobotsFetcher(allow_private=True))
    assert plain.tdmrep_fetched == 0  # the library default stays robots.txt only


# ---------------------------------------------------------------------------------------------------------
# Snapshot choice and precedence
# ---------------------------------------------------------------------------------------------------------
def _history(tmp_path):
    cache = RobotsCache(tmp_path / "c")
    cache.append([snapshot_from_body("https", "e.example", _file({"location": "/", "tdm-reservation": 1}),
                                     "2019-01-01", kind="tdmrep"),
                  snapshot_from_body("https", "e.example", _file({"location": "/", "tdm-reservation": 0}),
                                     "2024-01-01", kind="tdmrep")])
    return cache


def test_snapshot_choice_follows_the_robots_policy_logic(tmp_path):
    cache = _history(tmp_path)
    assert OptoutPolicy(cache, AGENTS, policy="retroactive").decide("https://e.example/a", "CC-MAIN-2019-30").allowed
    as_of = OptoutPolicy(cache, AGENTS, policy="as-of-crawl")
    d = as_of.decide("https://e.example/a", "CC-MAIN-2019-30")
    assert d.reason == "optout.tdmrep" and d.evidence["tdmrep"]["well_known"]["selection"] == "at_or_before_crawl"
    assert as_of.decide("https://e.example/a", "CC-MAIN-2024-30").allowed
    strict = OptoutPolicy(cache, AGENTS, policy="strictest").decide("https://e.example/a", "CC-MAIN-2024-30")
    well_known = strict.evidence["tdmrep"]["well_known"]
    assert strict.reason == "optout.tdmrep" and well_known["selection"] == "newest_reserving"
    assert well_known["snapshot"]["fetched_at"].startswith("2019") and len(well_known["snapshot"]["sha256"]) == 64


def _page(header=None, meta=None):
    page = {}
    if header is not None:
        page["headers"] = {"tdm-reservation": header}
    if meta is not None:
        page["meta"] = {"tdm-reservation": meta}
    return page


@pytest.mark.parametrize("file_value, header, meta, allowed, decided_by", [
    (1, None, None, False, "well-known"),
    (1, ["0"], None, True, "header"),     # the header overrides the file (an explicit 0 resets)
    (0, ["1"], None, False, "header"),
    (1, ["0"], ["1"], False, "meta"),     # the meta overrides the header
    (0, ["1"], ["0"], True, "meta"),
    (1, [], [], False, "well-known"),     # absence never resets
    (1, ["yes"], None, False, "well-known"),  # an invalid value is an error, unset: the file still decides
    (None, None, ["1"], False, "meta"),
])
def test_tdmrep_precedence_file_then_header_then_meta(tmp_path, file_value, header, meta, allowed, decided_by):
    cache = RobotsCache(tmp_path / "c")
    if file_value is not None:
        cache.append([snapshot_from_body("https", "e.example", _file({"location": "/", "tdm-reservation": file_value}),
                                         "2025-01-01", kind="tdmrep")])
    d = OptoutPolicy(cache, AGENTS).decide("https://e.example/a", None, _page(header, meta))
    assert d.allowed == allowed and d.evidence["tdmrep"]["decided_by"] == decided_by
    assert d.reason == (None if allowed else "optout.tdmrep")
    if header == ["yes"]:
        assert any("not 0 or 1" in e for e in d.evidence["page_errors"])


def test_tdmrep_not_honoured_when_the_run_does_not_name_it(tmp_path):
    cache = _history(tmp_path)
    d = OptoutPolicy(cache, AGENTS, signals=["robots", "noai"], policy="strictest").decide("https://e.example/a")
    assert d.allowed and "tdmrep" not in d.evidence

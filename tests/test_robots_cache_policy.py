"""Robots cache (Parquet snapshots) and the opt-out policy engine, plus `curate robots import|check`."""
from __future__ import annotations

import hashlib
import json
import random
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from curate.robots.cache import (
    SNAPSHOT_SCHEMA,
    CacheError,
    RobotsCache,
    Snapshot,
    normalize_netloc,
    origin_of_url,
    snapshot_from_body,
)
from curate.robots.cli import robots as robots_cli
from curate.robots.matcher import RobotsTxt
from curate.robots.policy import OptoutPolicy, parse_crawl_date

AGENTS = ["GPTBot", "CCBot", "*"]
UTC = timezone.utc


def _cache(tmp_path: Path, *snapshots: Snapshot) -> RobotsCache:
    cache = RobotsCache(tmp_path / "cache")
    cache.append(snapshots)
    return RobotsCache(tmp_path / "cache")  # a fresh reader: everything goes through the files


def _snap(host: str, body: bytes | str, when: str, scheme: str = "https", **kw) -> Snapshot:
    return snapshot_from_body(scheme, host, body, when, **kw)


# ---------------------------------------------------------------------------------------------------------
# Cache
# ---------------------------------------------------------------------------------------------------------
def test_round_trip_keeps_every_column(tmp_path):
    body = bytes(range(256)) * 3  # binary, not UTF-8
    written = [
        Snapshot(host="example.com", scheme="https", fetched_at=datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
                 status=200, error=None, body=body, truncated=True, sha256=hashlib.sha256(body).hexdigest(),
                 final_url="https://www.example.com/robots.txt", redirects=2),
        Snapshot(host="example.com:8080", scheme="http", fetched_at=datetime(2024, 6, 1, tzinfo=UTC), status=None,
                 error="timeout", body=b"", truncated=False, sha256=hashlib.sha256(b"").hexdigest(),
                 final_url=None, redirects=0),
    ]
    cache = _cache(tmp_path, *written)
    assert cache.snapshots("https", "example.com") == [written[0]]
    assert cache.snapshots("http", "example.com:8080") == [written[1]]
    assert cache.hosts() == {("https", "example.com"), ("http", "example.com:8080")}
    (part,) = cache.part_files()
    assert part.name.startswith("part-") and part.suffix == ".parquet"
    schema = pq.read_schema(part)
    assert [(f.name, f.type) for f in schema] == [(f.name, f.type) for f in SNAPSHOT_SCHEMA]
    assert schema.field("fetched_at").type == pa.timestamp("us", tz="UTC")


def test_several_snapshots_per_host_sorted_by_time_and_lookup_normalises(tmp_path):
    cache = RobotsCache(tmp_path / "c")
    cache.append([_snap("Example.COM", "a", "2024-01-01"), _snap("example.com", "b", "2019-01-01")])
    cache.append([_snap("example.com:443", "c", "2021-06-30T12:00:00+02:00")])
    fresh = RobotsCache(tmp_path / "c")
    bodies = [s.body for s in fresh.snapshots("https", "EXAMPLE.com:443")]
    assert bodies == [b"b", b"c", b"a"]
    assert fresh.snapshots("http", "example.com") == []  # http and https are separate origins
    assert len(fresh) == 3 and len(fresh.part_files()) == 2
    assert fresh.snapshots("https", "example.com")[1].fetched_at == datetime(2021, 6, 30, 10, tzinfo=UTC)
    cache.append([_snap("example.com", "d", "2025-01-01")])  # the appending object sees its own writes
    assert [s.body for s in cache.snapshots("https", "example.com")][-1] == b"d"


def test_append_is_deterministic_and_digest_ignores_file_layout(tmp_path):
    rows = [_snap(f"h{i}.example", f"User-agent: *\nDisallow: /{i}\n", f"20{10 + i}-01-01") for i in range(6)]
    shuffled = rows[:]
    random.Random(1).shuffle(shuffled)
    one, two = RobotsCache(tmp_path / "one"), RobotsCache(tmp_path / "two")
    p1, p2 = one.append(rows), two.append(shuffled)
    assert pq.read_table(p1).equals(pq.read_table(p2))
    split = RobotsCache(tmp_path / "split")
    split.append(rows[:2])
    split.append(rows[2:])
    assert RobotsCache(tmp_path / "split").sha256() == RobotsCache(tmp_path / "one").sha256()
    other = RobotsCache(tmp_path / "other")
    other.append(rows[:-1] + [_snap("h5.example", "User-agent: *\nDisallow: /changed\n", "2015-01-01")])
    assert other.sha256() != one.sha256()
    assert not list((tmp_path / "one").glob(".*"))  # no temporary file left behind


def test_corrupt_and_foreign_parquet_files_are_named_in_the_error(tmp_path):
    good = RobotsCache(tmp_path / "c")
    good.append([_snap("a.example", "x", "2024-01-01")])
    (tmp_path / "c" / "part-broken.parquet").write_bytes(b"PAR1 not really parquet")
    with pytest.raises(CacheError, match="part-broken.parquet"):
        RobotsCache(tmp_path / "c").load()
    (tmp_path / "c" / "part-broken.parquet").unlink()
    pq.write_table(pa.table({"host": ["a"], "url": ["b"]}), tmp_path / "c" / "foreign.parquet")
    with pytest.raises(CacheError, match=r"foreign\.parquet.*missing"):
        RobotsCache(tmp_path / "c").hosts()


def test_snapshot_validation_and_origin_normalisation(tmp_path):
    bad_hash = Snapshot("a.example", "https", datetime(2024, 1, 1, tzinfo=UTC), 200, None, b"x", False, "0" * 64, None, 0)
    with pytest.raises(CacheError, match="sha256"):
        RobotsCache(tmp_path).append([bad_hash])
    with pytest.raises(CacheError, match="not normalised"):
        RobotsCache(tmp_path).append([Snapshot("A.example", "https", bad_hash.fetched_at, 200, None, b"", False,
                                               hashlib.sha256(b"").hexdigest(), None, 0)])
    assert normalize_netloc("http", "User:pw@WWW.Example.org:80") == "www.example.org"
    assert normalize_netloc("https", "example.org:80") == "example.org:80"
    assert normalize_netloc("https", "bücher.example") == "xn--bcher-kva.example"
    assert origin_of_url("HTTP://Example.org:8080/a?b") == ("http", "example.org:8080")
    assert origin_of_url("mailto:someone@example.org") is None
    with pytest.raises(CacheError, match="port"):
        normalize_netloc("https", "example.org:0")


# ---------------------------------------------------------------------------------------------------------
# Policies over a time-stamped history
# ---------------------------------------------------------------------------------------------------------
HISTORY = [
    ("2015-03-01", "User-agent: *\nAllow: /\n"),
    ("2019-03-01", "User-agent: *\nAllow: /\n\nUser-agent: GPTBot\nDisallow: /\n"),
    ("2024-12-01", "User-agent: GPTBot\nDisallow: /members/\n"),
]


@pytest.fixture()
def history_cache(tmp_path) -> RobotsCache:
    return _cache(tmp_path, *[_snap("news.example", body, when) for when, body in HISTORY])


def test_retroactive_uses_the_newest_snapshot_for_every_crawl_year(history_cache):
    policy = OptoutPolicy(history_cache, AGENTS)
    for crawl in ("2014-01-01", "2020-05-05", None):
        assert policy.decide("https://news.example/story", crawl).allowed
        blocked = policy.decide("https://news.example/members/page", crawl)
        assert not blocked.allowed and blocked.reason == "optout.robots"
        assert blocked.evidence["snapshot"]["fetched_at"].startswith("2024-12-01")


def test_as_of_crawl_picks_the_snapshot_in_force_at_crawl_time(history_cache):
    policy = OptoutPolicy(history_cache, AGENTS, policy="as-of-crawl")
    d2016 = policy.decide("https://news.example/story", "2016-07-01T10:00:00Z")
    assert d2016.allowed and d2016.evidence["snapshot"]["fetched_at"].startswith("2015-03-01")
    assert d2016.evidence["selection"] == "at_or_before_crawl"
    d2020 = policy.decide("https://news.example/story", datetime(2020, 1, 1))
    assert not d2020.allowed and d2020.evidence["snapshot"]["fetched_at"].startswith("2019-03-01")
    assert d2020.evidence["agents"][0]["agent"] == "GPTBot"
    # a crawl on the very day of a fetch uses that fetch
    assert not policy.decide("https://news.example/story", "2019-03-01").allowed
    # older than every snapshot: the oldest decides, and the evidence says so
    d2010 = policy.decide("https://news.example/story", "2010-01-01")
    assert d2010.allowed and d2010.evidence["selection"] == "oldest_after_crawl"
    # a Common Crawl dump id is a date too (ISO week 10 of 2019 is after 2019-03-01)
    assert not policy.decide("https://news.example/story", "CC-MAIN-2019-10").allowed
    assert policy.decide("https://news.example/story", "CC-MAIN-2019-05").allowed
    assert policy.decide("https://news.example/story", None).evidence["selection"] == "newest_no_crawl_date"
    with pytest.raises(ValueError, match="not an ISO 8601"):
        policy.decide("https://news.example/story", "last tuesday")


def test_strictest_blocks_when_any_snapshot_refuses(history_cache):
    policy = OptoutPolicy(history_cache, AGENTS, policy="strictest")
    d = policy.decide("https://news.example/story", "2016-01-01")
    assert not d.allowed and d.reason == "optout.robots"
    assert d.evidence["snapshots_checked"] == 3
    assert [r["fetched_at"][:10] for r in d.evidence["refused_by"]] == ["2019-03-01"]
    assert d.evidence["snapshot"]["fetched_at"].startswith("2019-03-01")
    members = policy.decide("https://news.example/members/x")
    assert [r["fetched_at"][:10] for r in members.evidence["refused_by"]] == ["2019-03-01", "2024-12-01"]
    assert members.evidence["snapshot"]["fetched_at"].startswith("2024-12-01")  # the newest refusing one


def test_parse_crawl_date_forms():
    assert parse_crawl_date("2013-05-18T05:48:54Z") == datetime(2013, 5, 18, 5, 48, 54, tzinfo=UTC)
    assert parse_crawl_date("CC-MAIN-2013-20") == datetime(2013, 5, 13, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_crawl_date("CC-MAIN-2013-60")


# ---------------------------------------------------------------------------------------------------------
# Status semantics
# ---------------------------------------------------------------------------------------------------------
@pytest.fixture()
def status_cache(tmp_path) -> RobotsCache:
    disallow_all = "User-agent: *\nDisallow: /\n"
    return _cache(
        tmp_path,
        _snap("ok.example", disallow_all, "2025-01-01", status=200),
        _snap("missing.example", disallow_all, "2025-01-01", status=404),  # a 404 page body is not rules
        _snap("forbidden.example", "", "2025-01-01", status=403),
        _snap("down.example", "", "2025-01-01", status=503),
        _snap("slow.example", "", "2025-01-01", status=None, error="timeout"),
        _snap("moved.example", "", "2025-01-01", status=301),
    )


@pytest.mark.parametrize(
    ("host", "allowed", "reason", "robots"),
    [
        ("ok.example", False, "optout.robots", "disallowed"),
        ("missing.example", True, None, "unavailable"),
        ("forbidden.example", True, None, "unavailable"),
        ("down.example", False, "optout.server_error", "unreachable"),
        ("slow.example", True, None, "fetch_error"),
        ("moved.example", True, None, "redirect"),
        ("never-fetched.example", True, None, "not_cached"),
    ],
)
def test_status_semantics_defaults(status_cache, host, allowed, reason, robots):
    d = OptoutPolicy(status_cache, AGENTS).decide(f"https://{host}/page")
    assert (d.allowed, d.reason, d.evidence["robots"]) == (allowed, reason, robots)
    json.dumps(d.evidence)


def test_status_rules_override_and_validation(status_cache):
    policy = OptoutPolicy(status_cache, AGENTS, status_rules={"404": "disallow", "error:timeout": "disallow",
                                                              "5xx": "allow"})
    assert policy.decide("https://missing.example/").reason == "optout.status"
    assert policy.decide("https://slow.example/").reason == "optout.fetch_error"
    assert policy.decide("https://down.example/").allowed
    assert policy.decide("https://forbidden.example/").allowed  # 403 still under the 4xx default
    with pytest.raises(ValueError, match="'6xx'"):
        OptoutPolicy(status_cache, AGENTS, status_rules={"6xx": "allow"})
    with pytest.raises(ValueError, match="no body to parse"):
        OptoutPolicy(status_cache, AGENTS, status_rules={"error": "parse"})
    with pytest.raises(ValueError, match="policy"):
        OptoutPolicy(status_cache, AGENTS, policy="newest")
    with pytest.raises(ValueError, match="agents"):
        OptoutPolicy(status_cache, [])


def test_no_origin_urls_are_kept_with_a_reason(status_cache):
    d = OptoutPolicy(status_cache, AGENTS).decide("not a url")
    assert d.allowed and d.evidence["robots"] == "no_origin"


# ---------------------------------------------------------------------------------------------------------
# Lookup, fall-back and granularity
# ---------------------------------------------------------------------------------------------------------
def test_exact_origin_lookup_and_registered_domain_fallback(tmp_path):
    cache = _cache(tmp_path, _snap("example.co.uk", "User-agent: CCBot\nDisallow: /\n", "2025-01-01"),
                   _snap("example.co.uk:8443", "User-agent: *\nAllow: /\n", "2025-01-01"))
    exact = OptoutPolicy(cache, AGENTS)
    assert exact.decide("https://news.example.co.uk/a").evidence["robots"] == "not_cached"
    assert exact.decide("http://example.co.uk/a").evidence["robots"] == "not_cached"  # other scheme
    assert not exact.decide("https://example.co.uk/a").allowed
    fallback = OptoutPolicy(cache, AGENTS, registered_domain_fallback=True)
    d = fallback.decide("https://news.example.co.uk/a")
    assert not d.allowed
    assert d.evidence["fallback"] == "registered_domain"
    assert d.evidence["origin"] == "https://news.example.co.uk"
    assert d.evidence["looked_up"] == "https://example.co.uk"
    assert fallback.decide("https://news.example.co.uk:8443/a").allowed  # same port on the parent
    assert "fallback" not in fallback.decide("https://example.co.uk/a").evidence
    assert fallback.decide("https://10.1.2.3/a").evidence["robots"] == "not_cached"  # no domain for an IP


def test_url_versus_host_granularity(tmp_path):
    cache = _cache(
        tmp_path,
        _snap("partial.example", "User-agent: GPTBot\nDisallow: /private\n", "2025-01-01"),
        _snap("closed.example", "User-agent: *\nDisallow: /\nAllow: /public\n", "2025-01-01"),
    )
    url_level = OptoutPolicy(cache, AGENTS)
    host_level = OptoutPolicy(cache, AGENTS, granularity="host")
    assert not url_level.decide("https://partial.example/private/x").allowed
    assert url_level.decide("https://partial.example/public").allowed
    assert host_level.decide("https://partial.example/private/x").allowed  # "/" is allowed: host kept
    assert url_level.decide("https://closed.example/public/a").allowed
    d = host_level.decide("https://closed.example/public/a")
    assert not d.allowed and d.evidence["granularity"] == "host"
    assert d.evidence["agents"][0]["rule"] == "Disallow: /"


def test_star_false_ignores_generic_groups(tmp_path):
    cache = _cache(tmp_path, _snap("a.example", "User-agent: *\nDisallow: /\n", "2025-01-01"))
    assert not OptoutPolicy(cache, ["GPTBot"]).decide("https://a.example/x").allowed
    assert OptoutPolicy(cache, ["GPTBot"], star=False).decide("https://a.example/x").allowed


def test_evidence_names_agent_group_rule_line_digest_time_and_policy(tmp_path):
    body = "# comment\nUser-agent: ChatGPT-User\nUser-agent: GPTBot\nAllow: /\nDisallow: /archive/\n"
    cache = _cache(tmp_path, _snap("a.example", body, "2025-01-15T08:30:00Z"))
    d = OptoutPolicy(cache, AGENTS).decide("https://a.example/archive/2019/x.html")
    assert not d.allowed
    ev = json.loads(json.dumps(d.evidence))
    assert ev["agents"] == [{"agent": "GPTBot", "group": ["ChatGPT-User", "GPTBot"], "rule": "Disallow: /archive/",
                             "line": 5}]
    assert ev["snapshot"]["sha256"] == hashlib.sha256(body.encode()).hexdigest()
    assert ev["snapshot"]["fetched_at"] == "2025-01-15T08:30:00+00:00"
    assert ev["snapshot"]["status"] == 200
    assert ev["policy"] == "retroactive" and ev["looked_up"] == "https://a.example"


# ---------------------------------------------------------------------------------------------------------
# Bad robots.txt never crashes
# ---------------------------------------------------------------------------------------------------------
def test_bad_bodies_are_stored_and_still_decided(tmp_path):
    junk = random.Random(7).randbytes(4096)
    html = b"<!DOCTYPE html><html><body><h1>Oops</h1><p>Disallow nothing here</p></body></html>"
    huge = b"User-agent: *\nDisallow: /secret\n" + b"Allow: /x\n" * 600_000  # about 6 MB
    cache = _cache(
        tmp_path,
        _snap("junk.example", junk, "2025-01-01"),
        _snap("html.example", html, "2025-01-01"),
        _snap("huge.example", huge, "2025-01-01", max_bytes=512000),
    )
    (big,) = cache.snapshots("https", "huge.example")
    assert big.truncated and len(big.body) == 512000 and big.sha256 == hashlib.sha256(big.body).hexdigest()
    policy = OptoutPolicy(cache, AGENTS)
    assert policy.decide("https://junk.example/a").allowed
    assert policy.decide("https://html.example/a").allowed
    assert not policy.decide("https://huge.example/secret/1").allowed
    assert policy.decide("https://huge.example/open").allowed


def test_truncated_body_loses_its_cut_last_line(tmp_path):
    body = b"User-agent: *\nDisallow: /private-area\n"
    cut = body.index(b"/private") + 1  # the stored prefix ends in "Disallow: /"
    snap = Snapshot("cut.example", "https", datetime(2025, 1, 1, tzinfo=UTC), 200, None, body[:cut], True,
                    hashlib.sha256(body[:cut]).hexdigest(), None, 0)
    assert not RobotsTxt.parse(body[:cut]).is_allowed("GPTBot", "https://cut.example/open")  # what we avoid
    assert OptoutPolicy(_cache(tmp_path, snap), AGENTS).decide("https://cut.example/open").allowed


def test_real_robots_files_decide_like_the_matcher(corpora, tmp_path):
    files = sorted(p for p in (corpora / "robots" / "real").glob("*.txt") if "~" not in p.name)
    sample = random.Random(3).sample(files, 150)
    cache = _cache(tmp_path, *[_snap(p.name[:-4], p.read_bytes(), "2025-01-01") for p in sample])
    policy = OptoutPolicy(cache, AGENTS)
    blocked = 0
    for path in sample:
        parsed = RobotsTxt.parse(path.read_bytes())
        for suffix in ("/", "/search?q=a", "/wp-admin/", "/api/v1/x"):
            url = f"https://{path.name[:-4]}{suffix}"
            d = policy.decide(url)
            assert d.allowed == (not parsed.blocked_agents(AGENTS, url)), url
            blocked += not d.allowed
            json.dumps(d.evidence)
    assert blocked > 0


# ---------------------------------------------------------------------------------------------------------
# CLI: import and check
# ---------------------------------------------------------------------------------------------------------
def test_import_writes_http_and_https_rows(tmp_path):
    src = tmp_path / "saved"
    src.mkdir()
    (src / "example.com.txt").write_text("User-agent: GPTBot\nDisallow: /\n")
    (src / "example.org:8080.txt").write_text("User-agent: *\nDisallow: /tmp\n")
    (src / "INDEX.csv").write_text("not a robots file")
    result = CliRunner().invoke(robots_cli, ["import", str(src), "--cache", str(tmp_path / "c"),
                                             "--fetched-at", "2025-01-15"])
    assert result.exit_code == 0, result.output
    assert "imported 2" in result.output and "skipped 1" in result.output
    cache = RobotsCache(tmp_path / "c")
    assert cache.hosts() == {("http", "example.com"), ("https", "example.com"),
                             ("http", "example.org:8080"), ("https", "example.org:8080")}
    (snap,) = cache.snapshots("http", "example.com")
    assert snap.fetched_at == datetime(2025, 1, 15, tzinfo=UTC) and snap.status == 200
    policy = OptoutPolicy(cache, AGENTS)
    assert not policy.decide("http://example.com/a").allowed
    assert not policy.decide("https://example.com/a").allowed
    assert not policy.decide("http://example.org:8080/tmp/x").allowed
    assert policy.decide("http://example.org/tmp/x").evidence["robots"] == "not_cached"  # other port


def test_import_rejects_a_bad_file_name(tmp_path):
    src = tmp_path / "saved"
    src.mkdir()
    (src / "bad~name.txt").write_text("User-agent: *\n")
    result = CliRunner().invoke(robots_cli, ["import", str(src), "--cache", str(tmp_path / "c"),
                                             "--fetched-at", "2025-01-15"])
    assert result.exit_code == 2 and "bad~name.txt" in result.output
    bad_date = CliRunner().invoke(robots_cli, ["import", str(src), "--cache", str(tmp_path / "c"),
                                               "--fetched-at", "yesterday"])
    assert bad_date.exit_code == 2 and "yesterday" in bad_date.output
    assert not (tmp_path / "c").exists()


def test_check_prints_verdict_rule_and_line(tmp_path):
    robots_file = tmp_path / "robots.txt"
    robots_file.write_text("User-agent: *\nAllow: /\n\nUser-agent: GPTBot\nDisallow: /news/\n")
    result = CliRunner().invoke(robots_cli, ["check", str(robots_file), "--agent", "GPTBot", "--agent", "CCBot",
                                             "https://a.example/news/1", "https://a.example/about"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0] == "blocked\tGPTBot\thttps://a.example/news/1\tDisallow: /news/ (line 5)"
    assert lines[1] == "allowed\tCCBot\thttps://a.example/news/1\tAllow: / (line 2)"
    assert lines[2].startswith("allowed\tGPTBot\thttps://a.example/about")
    as_json = CliRunner().invoke(robots_cli, ["check", str(robots_file), "--agent", "GPTBot", "--json",
                                              "https://a.example/news/1"])
    assert json.loads(as_json.output)["line"] == 5

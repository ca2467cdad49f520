"""Opt-out signals beyond Allow/Disallow (issue 14): Content-Usage (IETF AIPREF) and Content-Signal lines in
robots.txt, the `signals` pipeline key, run.json / summary counts, `curate why` and `curate query`, and an
end-to-end `curate run` over a WARC the test writes, with a robots cache holding a tdmrep snapshot."""
import io
import json

import pytest

from conftest import REPO, run_cli
from curate.config import ConfigError, load_pipeline
from curate.robots.cache import RobotsCache, snapshot_from_body
from curate.robots.matcher import RobotsTxt, parse_sf_dictionary
from curate.robots.policy import SIGNALS, OptoutPolicy

AGENTS = ("GPTBot", "CCBot", "*")
WHEN = "2025-01-01T00:00:00Z"


def _policy(tmp_path, bodies: dict[str, str], signals=SIGNALS, **kwargs) -> OptoutPolicy:
    cache = RobotsCache(tmp_path / "cache")
    cache.append([snapshot_from_body("https", host, body, WHEN) for host, body in bodies.items()])
    return OptoutPolicy(cache, AGENTS, signals=signals, **kwargs)


# ---------------------------------------------------------------------------------------------------------
# The matcher: Content-Usage / Content-Signal as extra rule kinds
# ---------------------------------------------------------------------------------------------------------
USAGE = """User-agent: *
Content-Usage: train-ai=n
Content-Usage: /ai-ok/ train-ai=y
Content-Usage: /mixed/ train-ai=y
Content-Usage: /mixed/ train-ai=n, search=y
Content-Usage: /both-y/ train-ai=y
Content-Usage: /both-y/ search=n
Content-Usage: /*.pdf$ train-ai=y
Allow: /
"""


@pytest.mark.parametrize("path, value, line", [
    ("/", "n", 2),                 # no path: applies to /
    ("/news/1", "n", 2),
    ("/ai-ok/page", "y", 3),       # path-scoped, longest match wins
    ("/mixed/x", "n", 5),          # equal paths combine restrictively: any n wins
    ("/both-y/x", "y", 6),         # else any y
    ("/files/a.pdf", "y", 8),      # robots-style * and $
    ("/files/a.pdf?x=1", "n", 2),  # $ anchors the end
])
def test_content_usage_longest_path_wins_and_equal_paths_combine_restrictively(path, value, line):
    got, deciding = RobotsTxt.parse(USAGE).signal("CCBot", f"https://e.example{path}")
    assert got == value and deciding[0].line == line


def test_content_usage_dictionary_rules_unknown_keys_duplicates_and_malformed_lines():
    body = ("User-agent: *\n"
            "Content-Usage: future-key=n, train-ai=y, train-ai=n\n"  # unknown keys ignored, last duplicate wins
            "Content-Usage: /a/ train-ai=\"n\"\n"                    # a string, not the token n: no preference
            "Content-Usage: /b/ Train-AI=n\n"                        # not an RFC 9651 key: malformed, ignored
            "Content-Usage: /c/ train-ai=n,\n"                       # trailing comma: malformed
            "Disallow:\n")
    robots = RobotsTxt.parse(body)
    assert robots.signal("X", "https://e/")[0] == "n"
    assert robots.signal("X", "https://e/a/1")[0] is None  # the /a/ line is longest and says nothing valid
    assert robots.signal("X", "https://e/b/1")[0] == "n"   # malformed /b/ line ignored: / decides
    count, errors = robots.signal_errors
    assert count == 2 and [e["line"] for e in errors] == [4, 5]
    assert parse_sf_dictionary("a=1, b=?0, c=(x y);p=1, d") == {"a": 1, "b": False, "c": ("x", "y"), "d": True}
    with pytest.raises(ValueError):
        parse_sf_dictionary("a=1 b=2")


def test_signals_follow_the_allow_disallow_group_selection_and_leave_allow_disallow_exact():
    body = ("User-agent: *\nContent-Signal: search=yes, ai-train=no\nAllow: /\n\n"
            "User-agent: GPTBot\nContent-Usage: train-ai=n\nDisallow: /private/\n")
    plain = body.replace("Content-Signal: search=yes, ai-train=no\n", "").replace("Content-Usage: train-ai=n\n", "")
    robots, reference = RobotsTxt.parse(body), RobotsTxt.parse(plain)
    for agent in AGENTS + ("Other",):
        for url in ("https://e/", "https://e/private/x"):
            assert robots.decide(agent, url).allowed == reference.decide(agent, url).allowed
    # GPTBot has its own group: the * group's Content-Signal is not its, the Content-Usage line is
    assert robots.signal("GPTBot", "https://e/x", "content-signal", "ai-train") == (None, ())
    assert robots.signal("GPTBot", "https://e/x")[0] == "n"
    assert robots.signal("CCBot", "https://e/x", "content-signal", "ai-train")[0] == "n"
    refusals = robots.signal_refusals(AGENTS, "https://e/x", "content-signal", "ai-train")
    assert [(r.agents, r.line, r.rule) for r in refusals] == [
        (("CCBot", "*"), 2, "Content-Signal: search=yes, ai-train=no")]


def test_no_content_signal_line_is_no_preference_and_yes_allows():
    assert RobotsTxt.parse("User-agent: *\nDisallow:\n").signal_refusals(AGENTS, "https://e/", "content-signal",
                                                                         "ai-train") == ()
    yes = RobotsTxt.parse("User-agent: *\nContent-Signal: ai-train=yes, search=no\n")
    assert yes.signal("CCBot", "https://e/", "content-signal", "ai-train")[0] == "y"
    bad = RobotsTxt.parse("User-agent: *\nContent-Signal: ai-train=maybe\n")
    assert bad.signal("CCBot", "https://e/", "content-signal", "ai-train")[0] is None
    assert bad.signal_errors[0] == 1


# ---------------------------------------------------------------------------------------------------------
# The policy: reasons, evidence, choice of signals
# ---------------------------------------------------------------------------------------------------------
def test_each_robots_txt_signal_alone_drops_with_its_reason_and_line(tmp_path):
    policy = _policy(tmp_path, {
        "aipref.example": "User-agent: *\nContent-Usage: train-ai=n\nContent-Usage: /ok/ train-ai=y\n",
        "signal.example": "# managed\nUser-agent: *\nContent-Signal: search=yes, ai-train=no\nAllow: /\n",
        "robots.example": "User-agent: GPTBot\nDisallow: /\n",
        "fine.example": "User-agent: *\nContent-Signal: ai-train=yes\nContent-Usage: train-ai=y\n",
    })
    d = policy.decide("https://aipref.example/a")
    assert (d.allowed, d.reason, d.evidence["decided_by"]) == (False, "optout.aipref", "aipref")
    (item,) = d.evidence["aipref"]
    assert (item["line"], item["rule"], item["source"]) == (2, "Content-Usage: train-ai=n", "robots.txt")
    assert item["snapshot"]["fetched_at"].startswith("2025-01-01") and len(item["snapshot"]["sha256"]) == 64
    assert policy.decide("https://aipref.example/ok/x").allowed
    d = policy.decide("https://signal.example/a")
    assert (d.reason, d.evidence["content_signal"][0]["line"]) == ("optout.content_signal", 3)
    assert policy.decide("https://robots.example/a").reason == "optout.robots"
    assert policy.decide("https://fine.example/a").allowed
    robots_only = _policy(tmp_path / "r", {"aipref.example": "User-agent: *\nContent-Usage: train-ai=n\n"},
                          signals=["robots"])
    assert robots_only.decide("https://aipref.example/a").allowed  # Apertus: Content-Usage not honoured


def test_several_refusing_signals_name_the_first_and_list_all(tmp_path):
    policy = _policy(tmp_path, {"e.example": "User-agent: *\nContent-Signal: ai-train=no\nContent-Usage: train-ai=n\n"
                                             "Disallow: /\n"})
    d = policy.decide("https://e.example/x")
    assert d.reason == "optout.robots"
    assert d.evidence["refused_by_signals"] == ["robots", "aipref", "content-signal"]
    without_robots = _policy(tmp_path / "b", {"e.example": "User-agent: *\nContent-Signal: ai-train=no\n"
                                                           "Content-Usage: train-ai=n\nDisallow: /\n"},
                             signals=["aipref", "content-signal"])
    d = without_robots.decide("https://e.example/x")
    assert (d.reason, d.evidence["robots"]) == ("optout.aipref", "not_honoured")


def test_signal_lines_follow_the_snapshot_policy(tmp_path):
    cache = RobotsCache(tmp_path / "cache")
    cache.append([snapshot_from_body("https", "e.example", "User-agent: *\nContent-Usage: train-ai=n\n", "2019-01-01"),
                  snapshot_from_body("https", "e.example", "User-agent: *\nContent-Usage: train-ai=y\n", "2024-01-01")])
    retro = OptoutPolicy(cache, AGENTS, policy="retroactive")
    assert retro.decide("https://e.example/a", "CC-MAIN-2019-35").allowed
    as_of = OptoutPolicy(cache, AGENTS, policy="as-of-crawl")
    assert as_of.decide("https://e.example/a", "CC-MAIN-2019-35").reason == "optout.aipref"
    assert as_of.decide("https://e.example/a", "CC-MAIN-2024-30").allowed
    strict = OptoutPolicy(cache, AGENTS, policy="strictest")
    d = strict.decide("https://e.example/a", "CC-MAIN-2024-30")
    assert d.reason == "optout.aipref" and d.evidence["aipref"][0]["snapshot"]["fetched_at"].startswith("2019")


def test_malformed_signal_lines_are_counted_in_the_evidence_never_fatal(tmp_path):
    policy = _policy(tmp_path, {"e.example": "User-agent: *\nContent-Usage: TRAIN-AI=N\nContent-Signal: ,,=\n"})
    d = policy.decide("https://e.example/")
    assert d.allowed and d.evidence["signal_errors"]["count"] == 2
    json.dumps(d.evidence)


# ---------------------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------------------
def _pipe(tmp_path, optout: str):
    path = tmp_path / "p.yaml"
    path.write_text(f"blocks:\n  - optout: {optout}\n  - tokenize: {{}}\n")
    return path


def test_signals_key_defaults_to_all_five_and_apertus_reproduces_robots_only(tmp_path):
    cfg = load_pipeline(_pipe(tmp_path, "{cache: c}")).block("optout")
    assert cfg["signals"] == list(SIGNALS)
    assert load_pipeline(REPO / "pipelines" / "apertus.yaml").block("optout")["signals"] == ["robots"]
    assert "signals: [robots]" in (REPO / "pipelines" / "apertus.yaml").read_text()
    chosen = load_pipeline(_pipe(tmp_path, "{cache: c, signals: [tdmrep, noai]}")).block("optout")
    assert chosen["signals"] == ["tdmrep", "noai"]


@pytest.mark.parametrize("value, message", [
    ("[robots, tdm]", r"p\.yaml: blocks\[0\]\.optout: key 'signals' has unknown signal\(s\) 'tdm'"),
    ("[]", r"key 'signals' must name at least one"),
    ("robots", r"key 'signals' must be a list of strings"),
    ("[noai, noai]", r"names a signal twice"),
])
def test_unknown_signals_are_a_config_error_naming_key_and_file(tmp_path, value, message):
    with pytest.raises(ConfigError, match=message):
        load_pipeline(_pipe(tmp_path, f"{{cache: c, signals: {value}}}"))


# ---------------------------------------------------------------------------------------------------------
# End to end: a WARC, a robots cache with a tdmrep snapshot, curate run / why / query
# ---------------------------------------------------------------------------------------------------------
PARAGRAPH = ("The river town kept its old stone bridge, and every spring the market filled the square with "
             "growers, bakers and musicians who came down from the hills to trade and to talk. ")


def _html(title: str, head: str = "") -> bytes:
    body = "".join(f"<p>{PARAGRAPH} {title} {i}.</p>" for i in range(6))
    return f"<html><head><title>{title}</title>{head}</head><body><article><h1>{title}</h1>{body}</article></body></html>".encode()


PAGES = [  # url, extra headers, extra <head>, expected reason (None = kept)
    ("https://robots.example/a", [], "", "optout.robots"),
    ("https://tdm.example/a", [], "", "optout.tdmrep"),                                      # tdmrep.json: 1
    ("https://tdm.example/free/a", [], "", None),                                             # its entry 0
    ("https://tdm.example/b", [("tdm-reservation", "0")], "", None),                         # header 0 overrides 1
    ("https://plain.example/tdm-header", [("TDM-Reservation", "1")], "", "optout.tdmrep"),
    ("https://plain.example/tdm-meta", [], '<meta name="tdm-reservation" content="1">', "optout.tdmrep"),
    ("https://plain.example/noai-header", [("X-Robots-Tag", "noindex, NoAI")], "", "optout.noai"),
    ("https://plain.example/noai-meta", [], '<meta name="robots" content="noimageai">', "optout.noai"),
    ("https://plain.example/agent-header", [("X-Robots-Tag", "GPTBot: noai")], "", "optout.noai"),
    ("https://plain.example/other-agent", [("X-Robots-Tag", "SomeBot: noai")], "", None),
    ("https://plain.example/usage-header", [("Content-Usage", "train-ai=n")], "", "optout.aipref"),
    ("https://aipref.example/a", [], "", "optout.aipref"),
    ("https://aipref.example/ok/a", [], "", None),
    ("https://signal.example/a", [], "", "optout.content_signal"),
    ("https://plain.example/control", [("X-Robots-Tag", "noarchive, nofollow")],
     '<meta name="robots" content="index, follow, noarchive">', None),
]
CACHE = {
    "robots.example": "User-agent: GPTBot\nDisallow: /\n",
    "aipref.example": "User-agent: *\nContent-Usage: train-ai=n\nContent-Usage: /ok/ train-ai=y\n",
    "signal.example": "User-agent: *\nContent-Signal: search=yes, ai-train=no\nAllow: /\n",
    "tdm.example": "User-agent: *\nAllow: /\n",
    "plain.example": "User-agent: *\nAllow: /\n",
}
TDMREP = json.dumps([{"location": "/free/", "tdm-reservation": 0},
                     {"location": "/", "tdm-reservation": 1, "tdm-policy": "https://tdm.example/policy.json"}])


def _write_warc(path):
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for url, headers, head, _ in PAGES:
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8"), *headers],
                                    protocol="HTTP/1.1")
            record = writer.create_warc_record(url, "response", payload=io.BytesIO(_html(url, head)),
                                               http_headers=http,
                                               warc_headers_dict={"WARC-Date": "2024-06-01T00:00:00Z"})
            writer.write_record(record)


@pytest.fixture(scope="module")
def signal_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("signals")
    cache = RobotsCache(root / "cache")
    snaps = [snapshot_from_body("https", h, b, WHEN) for h, b in CACHE.items()]
    snaps.append(snapshot_from_body("https", "tdm.example", TDMREP, WHEN, kind="tdmrep"))
    snaps.append(snapshot_from_body("https", "plain.example", b"<html>not found</html>", WHEN, status=404,
                                    kind="tdmrep"))
    cache.append(snaps)
    _write_warc(root / "in.warc.gz")
    runs = {}
    for name, signals in (("all", None), ("apertus", "[robots]")):
        pipe = root / f"{name}.yaml"
        key = "" if signals is None else f", signals: {signals}"
        pipe.write_text(f"blocks:\n  - optout: {{cache: {root / 'cache'}, agents: [GPTBot, CCBot]{key}}}\n"
                        "  - tokenize: {}\n")
        proc = run_cli("run", pipe, "--input", root / "in.warc.gz", "--out", root / name, "--no-progress")
        runs[name] = (root / name, proc.stdout)
    return runs


def _reasons(out) -> dict[str, str | None]:
    from curate.manifest import connect

    return dict(connect(out).execute("SELECT url, reason FROM manifest").fetchall())


def test_end_to_end_run_records_a_reason_per_signal(signal_run):
    out, stdout = signal_run["all"]
    assert _reasons(out) == {url: reason for url, _, _, reason in PAGES}
    info = json.loads((out / "run.json").read_text())
    record = info["optout_signals"]
    assert record["honoured"] == list(SIGNALS)
    assert record["removed"] == {"robots": 1, "tdmrep": 3, "noai": 3, "aipref": 2, "content-signal": 1}
    assert "opt-out signals honoured: robots, tdmrep, noai, aipref, content-signal" in stdout
    assert "tdmrep 3" in stdout


def test_the_apertus_choice_honours_robots_only(signal_run):
    out, _ = signal_run["apertus"]
    assert {u: r for u, r in _reasons(out).items() if r} == {"https://robots.example/a": "optout.robots"}
    record = json.loads((out / "run.json").read_text())["optout_signals"]
    assert record == {"honoured": ["robots"], "removed": {"robots": 1}, "refused": {"robots": 1}}


def test_query_counts_documents_per_signal(signal_run):
    out, _ = signal_run["all"]
    proc = run_cli("query", "select reason, count(*) as n from manifest group by 1 order by 1", "--manifests", out,
                   "--format", "json")
    rows = {r["reason"]: r["n"] for r in map(json.loads, proc.stdout.splitlines())}  # one JSON object a line
    assert rows == {"optout.aipref": 2, "optout.content_signal": 1, "optout.noai": 3, "optout.robots": 1,
                    "optout.tdmrep": 3, None: 5}


@pytest.mark.parametrize("url, expected", [
    ("https://tdm.example/a", ["decided by signal: tdmrep", "rule #1 location '/' tdm-reservation 1",
                               "/.well-known/tdmrep.json: reserved", "sha256 "]),
    ("https://tdm.example/b", ["tdmrep: not reserved (0), decided by the header", "HTTP header: tdm-reservation: 0",
                               "overrides well-known value 1"]),
    ("https://plain.example/tdm-meta", ['meta tag: <meta name="tdm-reservation" content="1">']),
    ("https://plain.example/noai-header", ["decided by signal: noai", "HTTP header 'X-Robots-Tag: noindex, NoAI'"]),
    ("https://plain.example/noai-meta", ['meta tag <meta name="robots" content="noimageai">']),
    ("https://aipref.example/a", ["decided by signal: aipref", "robots.txt line 2 'Content-Usage: train-ai=n'",
                                  "snapshot fetched_at 2025-01-01"]),
    ("https://signal.example/a", ["robots.txt line 2 'Content-Signal: search=yes, ai-train=no'"]),
])
def test_why_shows_the_deciding_signal_with_its_source(signal_run, url, expected):
    out, _ = signal_run["all"]
    text = run_cli("why", url, "--manifests", out).stdout
    for piece in expected:
        assert piece in text, (piece, text)


def test_robots_check_prints_the_usage_signals(tmp_path):
    from conftest import run_cli

    f = tmp_path / "robots.txt"
    f.write_text("User-agent: *\nContent-Usage: /events/ train-ai=n\nContent-Signal: search=yes, ai-train=no\n"
                 "Disallow: /private/\n")
    out = run_cli("robots", "check", f, "https://x.example/events/a", "https://x.example/b", "--agent", "GPTBot").stdout
    events, other = out.strip().splitlines()
    assert "aipref refuses: Content-Usage: /events/ train-ai=n (line 2)" in events
    assert "content-signal refuses: Content-Signal: search=yes, ai-train=no (line 3)" in events
    assert "aipref" not in other and "content-signal refuses" in other
    js = json.loads(run_cli("robots", "check", f, "https://x.example/b", "--agent", "GPTBot", "--json").stdout)
    assert js["allowed"] is True and js["signals"] == {"content-signal": {"value": "n", "lines": [3]}}

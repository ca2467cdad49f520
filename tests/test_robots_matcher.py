"""curate.robots matcher: conformance with Google's reference parser, evidence, agent lists.

Conformance cases are read in place from ../shared/corpora/robots through the `corpora` fixture; case names
become test ids so a failure names the failing case.
"""
from __future__ import annotations

import base64
import json
import os
import random
from functools import lru_cache
from pathlib import Path

import pytest

from curate.robots import Block, Decision, RobotsTxt, is_allowed, load_agents
from curate.robots.agents import parse_agent_list
from curate.robots.matcher import (
    MAX_LINE_BYTES,
    _directives_exact,
    _directives_fast,
    _prepare,
    escape_pattern,
    extract_agent,
    is_valid_agent,
    path_params_query,
    report_lines,
)

# Same location rule as tests/conftest.py; only used to name parametrized cases at collection time. The
# tests themselves read the files through the `corpora` fixture (which skips, or fails under CI=true).
_SHARED = Path(os.environ.get("CURATE_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))
_ROBOTS = _SHARED / "corpora" / "robots"

CONFORMANCE = {
    # file -> key holding Google's answer
    "google_spec_test_cases.json": "expected_allowed",
    "protego_cases.json": "google_reference_allowed",
    "crawler_commons_cases.json": "google_reference_allowed",
}


def _case_ids(name: str) -> list[str]:
    path = _ROBOTS / name
    if not path.exists():
        return ["corpora-absent"]
    return _unique_ids(json.loads(path.read_text(encoding="utf-8")))


def _unique_ids(cases: list[dict]) -> list[str]:
    seen: dict[str, int] = {}
    ids = []
    for case in cases:
        base = case["name"]
        seen[base] = seen.get(base, 0) + 1
        ids.append(base if seen[base] == 1 else f"{base}#{seen[base]}")
    return ids


@lru_cache(maxsize=None)
def _cases(robots_dir: str, name: str) -> dict[str, dict]:
    cases = json.loads((Path(robots_dir) / name).read_text(encoding="utf-8"))
    return dict(zip(_unique_ids(cases), cases))


def _case(corpora: Path, name: str, case_id: str) -> dict:
    return _cases(str(corpora / "robots"), name)[case_id]


def _body(case: dict) -> str | bytes:
    """The robots.txt input: text, or the exact bytes when the case is not UTF-8."""
    if case.get("robots_txt_hex"):
        return bytes.fromhex(case["robots_txt_hex"])
    if case.get("robots_txt_base64"):
        return base64.b64decode(case["robots_txt_base64"])
    return case["robots_txt"]


def _agent(case: dict) -> str:
    # crawler-commons called with no robot name: Google then has no specific agent, only the * group.
    return "*" if case["user_agent"] is None else case["user_agent"]


def _reference_decision(case: dict) -> bool:
    """Our answer called the way the reference harness called Google's library (agent string as given)."""
    return is_allowed(_body(case), _agent(case), case["url"], exact_agent=True)


# --------------------------------------------------------------------------------------------------------
# Conformance: Google's spec suite, protego's and crawler-commons' cases with Google's reference answer
# --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case_id", _case_ids("google_spec_test_cases.json"))
def test_google_spec_case(corpora: Path, case_id: str) -> None:
    case = _case(corpora, "google_spec_test_cases.json", case_id)
    assert _reference_decision(case) is case["expected_allowed"], case.get("explanation", "")


@pytest.mark.parametrize("case_id", _case_ids("protego_cases.json"))
def test_protego_case_matches_google(corpora: Path, case_id: str) -> None:
    case = _case(corpora, "protego_cases.json", case_id)
    assert _reference_decision(case) is case["google_reference_allowed"]


@pytest.mark.parametrize("case_id", _case_ids("crawler_commons_cases.json"))
def test_crawler_commons_case_matches_google(corpora: Path, case_id: str) -> None:
    case = _case(corpora, "crawler_commons_cases.json", case_id)
    assert _reference_decision(case) is case["google_reference_allowed"]


@pytest.mark.parametrize(
    "name, total",
    [("google_spec_test_cases.json", 400), ("protego_cases.json", 378), ("crawler_commons_cases.json", 593)],
)
def test_conformance_pass_count(corpora: Path, name: str, total: int) -> None:
    """The whole suite: every case passes (exact agent string, as the reference harness called Google), and
    in the default product-token mode every case whose agent is a bare product token passes too."""
    cases = list(_cases(str(corpora / "robots"), name).values())
    assert len(cases) == total
    key = CONFORMANCE[name]
    passed = sum(_reference_decision(c) is c[key] for c in cases)
    assert passed == total, f"{name}: {passed}/{total}"
    tokens = [c for c in cases if is_valid_agent(c["user_agent"])]
    assert len(tokens) > total // 2
    token_passed = sum(RobotsTxt.parse(_body(c)).is_allowed(c["user_agent"], c["url"]) is c[key] for c in tokens)
    assert token_passed == len(tokens), f"{name} (product-token mode): {token_passed}/{len(tokens)}"


def test_product_token_mode_differs_only_for_non_token_agents() -> None:
    """Why two modes: Google compares the whole string, so "CCBot/2.0" names no group; by default we take its
    product token, as RFC 9309 crawlers announce themselves."""
    robots = RobotsTxt.parse("User-agent: CCBot\nDisallow: /\n\nUser-agent: *\nAllow: /\n")
    assert robots.is_allowed("CCBot/2.0", "https://x.org/page") is False
    assert robots.is_allowed("CCBot/2.0", "https://x.org/page", exact_agent=True) is True
    assert robots.is_allowed("CCBot", "https://x.org/page", exact_agent=True) is False


# --------------------------------------------------------------------------------------------------------
# google_other_cases.json / google_reporting_cases.json: helpers and parse statistics
# --------------------------------------------------------------------------------------------------------
def _other(corpora: Path) -> dict:
    return json.loads((corpora / "robots" / "google_other_cases.json").read_text(encoding="utf-8"))


def test_user_agent_validity(corpora: Path) -> None:
    cases = _other(corpora)["is_valid_user_agent_to_obey"]
    assert len(cases) == 11
    wrong = [c["user_agent"] for c in cases if is_valid_agent(c["user_agent"]) is not c["expected_valid"]]
    assert wrong == []


def test_path_params_query(corpora: Path) -> None:
    cases = _other(corpora)["get_path_params_query"]
    assert len(cases) == 19
    got = [path_params_query(c["url"]) for c in cases]
    wrong = [(c["url"], g, c["expected"]) for c, g in zip(cases, got) if g != c["expected"]]
    assert wrong == []


@pytest.mark.parametrize(
    "rest",
    ["example.com", "example.com/", "example.com/a;b?c#d", "h?q=1", "h#frag/x", "h;p", "h/a#b?c", "h:80/x://y", ""],
)
def test_path_params_query_http_fast_path_matches_general_rule(rest: str) -> None:
    # An upper-case scheme takes the general code path; the result must not depend on the path taken.
    for scheme in ("http", "https"):
        assert path_params_query(f"{scheme}://{rest}") == path_params_query(f"{scheme.upper()}://{rest}")


def test_escape_pattern(corpora: Path) -> None:
    cases = _other(corpora)["maybe_escape_pattern"]
    assert len(cases) == 4
    assert [escape_pattern(c["input"]) for c in cases] == [c["expected"] for c in cases]
    assert escape_pattern(b"/caf\xe9") == "/caf%E9"  # a non-UTF-8 byte is escaped as is


def test_parse_stats(corpora: Path) -> None:
    """Line counting (LF, CRLF, CR, mixed, no final newline), BOM handling and sitemaps."""
    cases = _other(corpora)["parse_stats"]
    assert len(cases) == 12
    for case in cases:
        robots = RobotsTxt.parse(bytes.fromhex(case["robots_txt_hex"]))
        stats = robots.stats
        if "expected_valid_directives" in case:
            assert stats["directives"] == case["expected_valid_directives"], case["name"]
        if "expected_last_line_seen" in case:
            assert stats["last_directive_line"] == case["expected_last_line_seen"], case["name"]
        if "expected_unknown_directives" in case:
            assert stats["other_directives"] == case["expected_unknown_directives"], case["name"]
        if "expected_sitemap" in case:
            assert robots.sitemaps == [case["expected_sitemap"]], case["name"]


def test_reporting_cases(corpora: Path) -> None:
    """Per-line reading: accepted typos, missing colon, comments, empty and too-long lines."""
    data = json.loads((corpora / "robots" / "google_reporting_cases.json").read_text(encoding="utf-8"))
    checked = 0
    for case in data["cases"]:
        reports = report_lines(case["robots_txt"])
        valid = sum(r.tag_name in ("UserAgent", "Allow", "Disallow", "Sitemap") for r in reports)
        assert valid == case["expected_valid_directives"], case["name"]
        assert len(reports) == case["expected_last_line_seen"], case["name"]
        for expected in case.get("expected_lines", []):
            got = reports[expected["line_num"] - 1]
            assert got.tag_name == expected["tag_name"], (case["name"], expected["line_num"])
            assert got.is_acceptable_typo == expected["is_typo"], (case["name"], expected["line_num"])
            for field, value in expected["metadata"].items():
                assert getattr(got, field) == value, (case["name"], expected["line_num"], field)
            checked += 1
    assert checked == 19


# --------------------------------------------------------------------------------------------------------
# Evidence: rule and line number on hand-written files
# --------------------------------------------------------------------------------------------------------
URL = "https://example.org"


def test_evidence_with_bom_and_crlf() -> None:
    body = b"\xef\xbb\xbfUser-agent: GPTBot\r\nDisallow: /private\r\n\r\nUser-agent: *\r\nDisallow: /tmp\r\n"
    robots = RobotsTxt.parse(body)
    decision = robots.decide("GPTBot", f"{URL}/private/a.html")
    assert decision == Decision("GPTBot", False, ("GPTBot",), "Disallow: /private", 2, "/private")
    other = robots.decide("SomeBot", f"{URL}/tmp/x")
    assert (other.allowed, other.group, other.rule, other.line) == (False, ("*",), "Disallow: /tmp", 5)
    assert robots.decide("GPTBot", f"{URL}/tmp/x") == Decision("GPTBot", True, ("GPTBot",))


def test_evidence_with_cr_only_line_ends() -> None:
    robots = RobotsTxt.parse("User-agent: a\rAllow: /x\r\r\rUser-agent: b\rDisallow: /\r")
    assert robots.decide("b", f"{URL}/x").line == 6
    assert robots.decide("a", f"{URL}/x").line == 2


def test_merged_groups_report_the_group_of_the_deciding_rule() -> None:
    body = "User-agent: GPTBot\nDisallow: /a\n\nUser-agent: Other\nDisallow: /\n\nUser-agent: gptbot\nDisallow: /b/c\n"
    robots = RobotsTxt.parse(body)
    assert robots.agent_groups("GPTBot") == [("GPTBot",), ("gptbot",)]
    decision = robots.decide("GPTBot", f"{URL}/b/c/d")
    assert (decision.group, decision.rule, decision.line) == (("gptbot",), "Disallow: /b/c", 8)
    assert robots.decide("GPTBot", f"{URL}/a").line == 2
    assert robots.is_allowed("GPTBot", f"{URL}/other") is True


def test_crawl_delay_and_unknown_lines_do_not_end_a_group() -> None:
    body = "User-agent: a\nCrawl-delay: 5\nUser-agent: b\nSitemap: https://x/s.xml\nfoo: bar\nDisallow: /x\n"
    robots = RobotsTxt.parse(body)
    for agent in ("a", "b"):
        decision = robots.decide(agent, f"{URL}/x/1")
        assert (decision.allowed, decision.group, decision.line) == (False, ("a", "b"), 6)
    assert robots.sitemaps == ["https://x/s.xml"]


def test_group_ends_at_user_agent_after_rule() -> None:
    robots = RobotsTxt.parse("User-agent: a\nDisallow: /x\nUser-agent: b\nAllow: /\n")
    assert robots.is_allowed("a", f"{URL}/x") is False
    assert robots.is_allowed("b", f"{URL}/x") is True


def test_longest_match_and_allow_wins_ties() -> None:
    body = "User-agent: *\nDisallow: /a\nAllow: /a/b\nDisallow: /a/b/c\nAllow: /same\nDisallow: /same\nDisallow:\n"
    robots = RobotsTxt.parse(body)
    assert robots.decide("x", f"{URL}/a/z").line == 2
    assert robots.decide("x", f"{URL}/a/b/z") == Decision("x", True, ("*",), "Allow: /a/b", 3, "/a/b")
    assert robots.decide("x", f"{URL}/a/b/c").allowed is False
    same = robots.decide("x", f"{URL}/same")
    assert (same.allowed, same.line) == (True, 5)
    empty = robots.decide("x", f"{URL}/zzz")  # only the empty Disallow matches: priority 0 never blocks
    assert (empty.allowed, empty.rule, empty.line) == (True, "Disallow:", 7)


def test_wildcards_and_end_anchor() -> None:
    robots = RobotsTxt.parse("User-agent: *\nDisallow: /*.pdf$\nDisallow: /s*q=\nAllow: /s/ok$\n")
    assert robots.is_allowed("x", f"{URL}/doc/a.pdf") is False
    assert robots.is_allowed("x", f"{URL}/doc/a.pdf?download=1") is True
    assert robots.is_allowed("x", f"{URL}/search?q=1") is False
    assert robots.is_allowed("x", f"{URL}/s/ok") is True
    assert robots.is_allowed("x", f"{URL}/s/ok/more") is True  # no rule matches: /s*q= needs "q="


def test_versioned_group_names_the_product_token_and_no_prefix_matching() -> None:
    body = "User-agent: GPTBot/1.0\nDisallow: /\n\nUser-agent: Google\nDisallow: /\n"
    robots = RobotsTxt.parse(body)
    assert robots.is_allowed("GPTBot", f"{URL}/") is False
    assert robots.is_allowed("gptbot", f"{URL}/") is False  # case-insensitive
    assert robots.is_allowed("Google-Extended", f"{URL}/") is True
    assert robots.is_allowed("Google", f"{URL}/") is False


def test_specific_group_excludes_star_rules() -> None:
    robots = RobotsTxt.parse("User-agent: *\nDisallow: /\n\nUser-agent: GPTBot\nDisallow: /private\n")
    assert robots.is_allowed("GPTBot", f"{URL}/public") is True
    assert robots.is_allowed("OtherBot", f"{URL}/public") is False


def test_non_utf8_bytes_and_percent_encoding() -> None:
    robots = RobotsTxt.parse(b"User-agent: *\nDisallow: /caf\xe9\nDisallow: /%7euser\nDisallow: /\xc3\xa4\n")
    assert robots.is_allowed("x", f"{URL}/caf%E9") is False  # pattern escaped to %E9
    assert robots.is_allowed("x", f"{URL}/%7Euser/") is False  # %7e normalised to %7E
    assert robots.is_allowed("x", f"{URL}/%C3%A4") is False
    assert robots.is_allowed("x", f"{URL}/ä") is True  # Google matches the URL as given (unescaped)
    decision = robots.decide("x", f"{URL}/caf%E9")
    assert (decision.rule, decision.pattern) == ("Disallow: /caf\ufffd", "/caf%E9")


def test_large_file_is_parsed_to_the_end() -> None:
    filler = "".join(f"Disallow: /filler/{i:06d}/\n" for i in range(30_000))  # ~750 KiB
    body = f"User-agent: GPTBot\n{filler}Disallow: /last-rule\n"
    assert len(body.encode()) > 500 * 1024
    robots = RobotsTxt.parse(body)
    decision = robots.decide("GPTBot", f"{URL}/last-rule/x")
    assert (decision.allowed, decision.line) == (False, 30_002)
    assert robots.is_allowed("GPTBot", f"{URL}/filler/029999/") is False


def test_overlong_line_is_cut_like_google() -> None:
    long_pattern = "/" + "a" * (MAX_LINE_BYTES + 100)
    robots = RobotsTxt.parse(f"User-agent: *\nDisallow: {long_pattern}\n")
    kept = MAX_LINE_BYTES - len("Disallow: ")
    assert robots.is_allowed("x", URL + long_pattern[:kept]) is False
    assert robots.is_allowed("x", URL + long_pattern[: kept - 1]) is True


def test_adversarial_wildcards_do_not_backtrack() -> None:
    robots = RobotsTxt.parse("User-agent: *\nDisallow: /" + "*a" * 40 + "*b\n")
    assert robots.is_allowed("x", URL + "/" + "a" * 20_000) is True
    assert robots.is_allowed("x", URL + "/" + "a" * 50 + "b") is False


def _reference_match(path: str, pattern: str) -> bool:
    """Oracle: the position-set algorithm of Google's Matches()."""
    positions = [0]
    for i, ch in enumerate(pattern):
        if ch == "$" and i == len(pattern) - 1:
            return positions[-1] == len(path)
        if ch == "*":
            positions = list(range(positions[0], len(path) + 1))
        else:
            positions = [p + 1 for p in positions if p < len(path) and path[p] == ch]
            if not positions:
                return False
    return True


def test_pattern_matching_agrees_with_reference_algorithm() -> None:
    rng = random.Random(9309)
    alphabet = "ab/$*"
    for _ in range(3000):
        pattern = "/" + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 7)))
        path = "/" + "".join(rng.choice("ab/$") for _ in range(rng.randint(0, 9)))
        robots = RobotsTxt.parse(f"User-agent: *\nDisallow: {pattern}\n")
        blocked = not robots.is_allowed("x", URL + path)
        assert blocked == _reference_match(path, pattern), (pattern, path)


def test_many_rules_decide_as_the_reference_algorithm() -> None:
    # Enough wildcard rules that a path tries only those fitting its first two characters (`_specials_for`):
    # the deciding rule must still be the longest matching pattern, Allow winning ties.
    rng = random.Random(2024)
    for _ in range(150):
        rules = []
        for _ in range(rng.randint(10, 40)):
            start = rng.choice(["/", "/", "/a", "/b", "*", "/ab", "/*"])
            pattern = start + "".join(rng.choice("ab/*") for _ in range(rng.randint(0, 5)))
            if rng.random() < 0.2:
                pattern += "$"
            rules.append((rng.random() < 0.4, pattern))
        body = "User-agent: *\n" + "".join(f"{'Allow' if a else 'Disallow'}: {p}\n" for a, p in rules)
        robots = RobotsTxt.parse(body)
        for _ in range(40):
            path = "/" + "".join(rng.choice("ab/$") for _ in range(rng.randint(0, 8)))
            matching = [(len(p), a) for a, p in rules if _reference_match(path, p)]
            blocked = bool(matching) and not max(matching)[1]
            assert robots.is_allowed("x", URL + path) is not blocked, (body, path)


def test_fast_reader_agrees_with_line_reader_on_odd_lines() -> None:
    body = (
        b"  User-agent:\tGPTBot  # comment\nuser agent foo\nuseragent: bar\nDisallow /no-colon\n"
        b"Disallow : /space-before\nDisallow: /a b\nDisallow#: /commented\nDis\x00allow: /nul\n"
        b"Disallow: /x\x00/y\nAllow: /caf\xe9 \t\nUser-Agent: * extra\nDISALLOW:/upper\n"
        b"disallow /two words\n\x0bDisallow: /vtab\nAllowed: /prefix-key\n"
    )
    text = _prepare(body)
    exact = [d for d in _directives_exact(text) if d[0] in ("user-agent", "allow", "disallow")]
    assert list(_directives_fast(text)) == exact
    assert len(exact) == 11


def test_fast_reader_agrees_with_line_reader_on_real_files(corpora: Path) -> None:
    files = sorted((corpora / "robots" / "real").glob("*.txt"))
    assert len(files) > 3000
    for path in files[::7]:
        text = _prepare(path.read_bytes())
        exact = [d for d in _directives_exact(text) if d[0] in ("user-agent", "allow", "disallow")]
        assert list(_directives_fast(text)) == exact, path.name


def _groups_from_line_reader(text: str) -> list[tuple[tuple[str, ...], list[tuple[bool, str, str, int]]]]:
    """Oracle for RobotsTxt's lazy group reading: groups built from every directive, read line by line."""
    groups: list = []
    seen_rule = False
    for kind, key, value, line in _directives_exact(text):
        if kind == "user-agent":
            if not groups or seen_rule:
                groups.append(([], []))
                seen_rule = False
            groups[-1][0].append(value)
        elif kind in ("allow", "disallow") and groups:
            seen_rule = True
            groups[-1][1].append((kind == "allow", key, value, line))
    return [(tuple(agents), rules) for agents, rules in groups]


ODD_BODY = (
    b"Disallow: /before-any-agent\n  User-agent:\tGPTBot  # comment\nuser agent foo\nuseragent: bar\n"
    b"Disallow /no-colon\nDisallow : /space-before\nDisallow: /a b\nDisallow#: /commented\nDis\x00allow: /nul\n"
    b"Crawl-delay: 3\nUser-Agent: * extra\nDisallow: /x\x00/y\nAllow: /caf\xe9 \t\nSitemap: /s.xml\n"
    b"Allowed: /prefix-key\nDownload: /not-a-rule\nuser-agent x\nDISALLOW:/upper\ndisallow /two words\n"
    b"\x0bDisallow: /vtab\r\nUser-agent: last\rAllow: /index.html"
)


LONG_BODY = ODD_BODY + b"\nDisallow: /" + b"z" * (MAX_LINE_BYTES + 50) + b"\nAllow: /end"


@pytest.mark.parametrize("body", [ODD_BODY, LONG_BODY])
def test_lazy_group_reader_agrees_with_line_reader_on_odd_lines(body: bytes) -> None:
    # The second body is longer than a line may be, so the reader takes its exact (long-line) path.
    robots = RobotsTxt.parse(body)
    expected = _groups_from_line_reader(_prepare(body))
    assert robots._group_listing() == expected
    assert [agents for agents, _rules in expected][:2] == [("GPTBot", "bar"), ("* extra",)]


def test_lazy_group_reader_agrees_with_line_reader_on_real_files(corpora: Path) -> None:
    files = sorted((corpora / "robots" / "real").glob("*.txt"))
    for path in files[3::7]:
        body = path.read_bytes()
        assert RobotsTxt.parse(body)._group_listing() == _groups_from_line_reader(_prepare(body)), path.name


def test_shared_evidence_agrees_with_per_agent_decisions_on_real_files(corpora: Path) -> None:
    rng = random.Random(7)
    files = sorted((corpora / "robots" / "real").glob("*.txt"))[::25]
    agents = tuple(APERTUS)
    blocked_seen = 0
    for path in files:
        body = path.read_bytes()
        robots = RobotsTxt.parse(body)
        lines = body.decode("utf-8", "replace").splitlines()
        rule_lines = [ln for ln in lines if ln.lower().startswith(("allow:", "disallow:"))]
        rules = [ln.split(":", 1)[1].split("#")[0].strip() for ln in rule_lines]
        sampled = rng.sample(rules, min(8, len(rules)))
        paths = ["/", "/index.html", "/x?y=1"] + [r.replace("*", "abc").rstrip("$") or "/" for r in sampled]
        for url_path in paths:
            url = f"https://{path.stem}{url_path if url_path.startswith('/') else '/' + url_path}"
            for star in (True, False):
                expected = [robots.decide(a, url, star=star) for a in agents]
                expected = [d for d in expected if not d.allowed]
                got = robots.blocking_evidence(agents, url, star)
                assert got == expected, (path.name, url, star)
                assert [d.to_dict() for d in got] == [d.to_dict() for d in expected]
                assert robots.blocked_agents(list(agents), url, star) == [d.agent for d in expected]
                blocks = robots.blocking(agents, url, star)
                by_agent = {d.agent: d for b in blocks for d in b.decisions()}
                assert [by_agent.get(d.agent) for d in expected] == expected and len(by_agent) == len(expected)
                assert len({b.line for b in blocks}) == len(blocks)  # one Block per deciding rule
                blocked_seen += bool(expected)
    assert blocked_seen > 20  # the sample exercises blocking evidence, not only allowed URLs


def test_decision_is_a_value() -> None:
    import pickle

    decision = Decision("GPTBot", False, ("GPTBot",), "Disallow: /private", 2, "/private")
    same = Decision(agent="GPTBot", allowed=False, group=("GPTBot",), rule="Disallow: /private", line=2,
                    pattern="/private")
    assert decision == same and hash(decision) == hash(same) and not decision != same
    assert decision != Decision("GPTBot", False, ("GPTBot",), "Disallow: /private", 3, "/private")
    assert decision != ("GPTBot", (False, ("GPTBot",), "Disallow: /private", 2, "/private"))
    assert (decision.agent, decision.allowed, decision.group, decision.rule, decision.line, decision.pattern) == (
        "GPTBot", False, ("GPTBot",), "Disallow: /private", 2, "/private")
    assert repr(Decision("x", True)) == (
        "Decision(agent='x', allowed=True, group=None, rule=None, line=None, pattern=None)")
    assert pickle.loads(pickle.dumps(decision)) == decision
    assert Decision("x", True).to_dict() == {
        "agent": "x", "allowed": True, "group": None, "rule": None, "line": None, "pattern": None}
    with pytest.raises(AttributeError):
        decision.allowed = True  # type: ignore[misc]
    with pytest.raises(TypeError):
        _ = decision < same  # type: ignore[operator]


# --------------------------------------------------------------------------------------------------------
# Agent lists, blocked_agents and the star switch
# --------------------------------------------------------------------------------------------------------
APERTUS = [
    "AI2Bot", "Applebot-Extended", "Bytespider", "CCBot", "CCBot/2.0", "CCBot/1.0", "ClaudeBot",
    "cohere-training-data-crawler", "Diffbot", "Meta-ExternalAgent", "Google-Extended", "GPTBot", "PanguBot",
    "*", "FacebookBot",
]


def test_apertus_list() -> None:
    assert load_agents() == APERTUS
    assert load_agents("apertus") == APERTUS


def test_ai_robots_txt_list(corpora: Path) -> None:
    names = list(json.loads((corpora / "robots" / "ai_robots_txt" / "robots.json").read_text(encoding="utf-8")))
    agents = load_agents("ai-robots-txt")
    unique = {n.lower() for n in names}
    assert len(agents) == len(unique)  # case variants of one name (robots.txt matching ignores case) kept once
    assert {a.lower() for a in agents} == unique
    assert "GPTBot" in agents and "ClaudeBot" in agents


def test_agent_list_from_path_and_errors(tmp_path: Path) -> None:
    listing = tmp_path / "agents.txt"
    listing.write_text("# mine\nGPTBot\n\nCCBot  # crawler\ngptbot\n", encoding="utf-8")
    assert load_agents(str(listing)) == ["GPTBot", "CCBot"]
    with pytest.raises(ValueError, match="no-such-list"):
        load_agents("no-such-list")
    with pytest.raises(ValueError, match="names no agent"):
        parse_agent_list("# only a comment\n")


ROBOTS_FOR_AGENTS = """\
User-agent: GPTBot
Disallow: /

User-agent: CCBot
Disallow: /archive/

User-agent: *
Disallow: /private/
"""


def test_blocked_agents_with_apertus_list_star_on() -> None:
    robots = RobotsTxt.parse(ROBOTS_FOR_AGENTS)
    everyone_else = [a for a in APERTUS if a not in ("GPTBot", "CCBot", "CCBot/2.0", "CCBot/1.0")]
    assert robots.blocked_agents(APERTUS, f"{URL}/public") == ["GPTBot"]
    assert robots.blocked_agents(APERTUS, f"{URL}/archive/1") == ["CCBot", "CCBot/2.0", "CCBot/1.0", "GPTBot"]
    private = robots.blocked_agents(APERTUS, f"{URL}/private/x")
    assert private == [a for a in APERTUS if a in everyone_else or a == "GPTBot"]
    evidence = robots.blocking_evidence(APERTUS, f"{URL}/archive/1")
    assert [d.agent for d in evidence] == ["CCBot", "CCBot/2.0", "CCBot/1.0", "GPTBot"]
    assert evidence[1].to_dict() == {
        "agent": "CCBot/2.0", "allowed": False, "group": ["CCBot"], "rule": "Disallow: /archive/",
        "line": 5, "pattern": "/archive/",
    }
    json.dumps([d.to_dict() for d in evidence])


def test_blocking_gives_one_shared_block_per_rule() -> None:
    robots = RobotsTxt.parse(ROBOTS_FOR_AGENTS)
    agents = tuple(APERTUS)
    blocks = robots.blocking(agents, f"{URL}/archive/1")
    assert blocks == (
        Block(("CCBot", "CCBot/2.0", "CCBot/1.0"), ("CCBot",), "Disallow: /archive/", 5, "/archive/"),
        Block(("GPTBot",), ("GPTBot",), "Disallow: /", 2, "/"),
    )
    assert robots.blocking(agents, f"{URL}/archive/2") is blocks  # the same outcome is the same object
    assert robots.blocking(agents, f"{URL}/public") == (Block(("GPTBot",), ("GPTBot",), "Disallow: /", 2, "/"),)
    assert robots.blocking(agents, f"{URL}/private/x")[0].agents == tuple(
        a for a in APERTUS if a not in ("GPTBot", "CCBot", "CCBot/2.0", "CCBot/1.0"))
    assert robots.blocking(("CCBot",), f"{URL}/public") == ()
    only_star = RobotsTxt.parse("User-agent: *\nDisallow: /\n")
    assert only_star.blocking(agents, f"{URL}/x") == (Block(agents, ("*",), "Disallow: /", 2, "/"),)
    assert only_star.blocking(agents, f"{URL}/x", star=False) == ()
    assert RobotsTxt.parse("User-agent: *\nAllow: /\n").blocking(agents, f"{URL}/x") == ()


def test_agents_named_by_the_same_groups_share_one_block() -> None:
    robots = RobotsTxt.parse("User-agent: GPTBot\nUser-agent: CCBot\nDisallow: /x\n\nUser-agent: *\nDisallow: /y\n")
    agents = tuple(APERTUS)
    assert robots.blocking(agents, f"{URL}/x/1") == (
        Block(("CCBot", "CCBot/2.0", "CCBot/1.0", "GPTBot"), ("GPTBot", "CCBot"), "Disallow: /x", 3, "/x"),
    )
    assert len(robots._plan(agents, True, False).entries) == 2  # the named groups' rule set and the * one


def test_blocked_agents_star_off() -> None:
    robots = RobotsTxt.parse(ROBOTS_FOR_AGENTS)
    assert robots.blocked_agents(APERTUS, f"{URL}/private/x", star=False) == ["GPTBot"]
    assert robots.blocked_agents(APERTUS, f"{URL}/archive/1", star=False) == [
        "CCBot", "CCBot/2.0", "CCBot/1.0", "GPTBot"
    ]
    only_star = RobotsTxt.parse("User-agent: *\nDisallow: /\n")
    assert only_star.blocked_agents(APERTUS, f"{URL}/x", star=False) == []
    assert only_star.blocked_agents(APERTUS, f"{URL}/x") == APERTUS
    assert only_star.decide("*", f"{URL}/x", star=False) == Decision("*", True)


def test_no_rules_means_allowed() -> None:
    for body in ("", "# nothing\n", "Sitemap: https://x/s.xml\n", "Disallow: /\n"):  # rule before any agent
        robots = RobotsTxt.parse(body)
        assert robots.blocked_agents(APERTUS, f"{URL}/x") == []
        assert robots.decide("GPTBot", f"{URL}/x") == Decision("GPTBot", True)


def test_bad_input_raises() -> None:
    with pytest.raises(TypeError):
        RobotsTxt.parse(123)  # type: ignore[arg-type]
    robots = RobotsTxt.parse("User-agent: *\nDisallow: /\n")
    with pytest.raises(TypeError):
        robots.is_allowed(None, f"{URL}/")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        robots.is_allowed("x", b"/")  # type: ignore[arg-type]


def test_extract_agent() -> None:
    assert extract_agent("CCBot/2.0") == "CCBot"
    assert extract_agent("Mozilla/5.0 (compatible)") == "Mozilla"
    assert extract_agent("1bot") == ""


def test_readme_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    code = readme.split("```python\n", 1)[1].split("```", 1)[0]
    (tmp_path / "robots.txt").write_text("User-agent: *\nAllow: /\n\nUser-agent: GPTBot\nDisallow: /\n")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    assert capsys.readouterr().out == "('GPTBot',) Disallow: / line 5\n"

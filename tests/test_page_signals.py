"""Signals on the page itself (WARC input): bounded capture of opt-out headers and <head> meta tags by the
reader, and the optout decision on them (noai, tdm-reservation, Content-Usage), with the control cases."""
import io

import pytest

from curate.blocks.base import FILE_END, state
from curate.readers import InputReader, list_inputs
from curate.robots.cache import RobotsCache
from curate.robots.policy import SIGNALS, OptoutPolicy
from curate.robots.signals import (MAX_VALUE_CHARS, MAX_VALUES, SCAN_BYTES, capture_headers, page_refusals,
                                   scan_meta)

AGENTS = ("GPTBot", "CCBot")


def _decide(page, signals=SIGNALS, agents=AGENTS, tmp_path=None):
    policy = OptoutPolicy(RobotsCache("/nonexistent-curate-cache"), agents, signals=signals)
    return policy.decide("https://e.example/a", None, page)


def _headers(*pairs):
    return capture_headers(pairs)


def _meta(html: str):
    return scan_meta(html.encode())


# ---------------------------------------------------------------------------------------------------------
# Capture: bounded
# ---------------------------------------------------------------------------------------------------------
def test_a_header_repeated_1000_times_keeps_32_values_and_counts_the_rest():
    page = capture_headers([("X-Robots-Tag", f"noindex {i}") for i in range(1000)] + [("Server", "x")])
    assert len(page["headers"]["x-robots-tag"]) == MAX_VALUES == 32
    assert page["dropped"] == {"headers": 968}
    long = capture_headers([("Content-Usage", "train-ai=n, " + "x" * 100_000)])
    assert len(long["headers"]["content-usage"][0]) == MAX_VALUE_CHARS and long["dropped"] == {"cut": 1}
    assert capture_headers([("Content-Type", "text/html")]) == {}


def test_meta_scan_reads_only_the_first_64_kib_of_a_50_mb_page():
    tag = b'<meta name="robots" content="noai">'
    early = b"<html><head>" + tag + b"<title>x</title>" + b"<!-- pad -->" * 4_500_000
    assert len(early) > 50_000_000
    page = scan_meta(early)
    assert page["meta"] == {"robots": ["noai"]} and page["scanned"] == SCAN_BYTES
    late = b"<html><head>" + b" " * (SCAN_BYTES + 10) + tag + b"</head>" + b"x" * 50_000_000
    page = scan_meta(late)
    assert "meta" not in page and page["scanned"] == SCAN_BYTES
    many = b"<head>" + b'<meta name="robots" content="noindex">' * 5000
    page = scan_meta(many)  # 5,000 tags fit in 64 KiB only partly, and at most 32 values are kept
    assert len(page["meta"]["robots"]) == MAX_VALUES and page["dropped"]["meta"] > 0


def test_meta_scan_stops_at_the_end_of_head_and_reads_attribute_forms():
    page = _meta("<HTML><HEAD><META NAME='Robots' CONTENT='NoAI, noindex'>"
                 '<meta content="1" name="tdm-reservation"><meta name=tdm-policy content=https://e/p.json>'
                 '<meta name="GPTBot" content="noai"><meta name="description" content="noai is a word">'
                 '<meta property="og:title" content="x"></head><body><meta name="robots" content="noml"></body>')
    assert page["meta"] == {"robots": ["NoAI, noindex"], "tdm-reservation": ["1"], "tdm-policy": ["https://e/p.json"],
                            "gptbot": ["noai"], "description": ["noai is a word"]}
    assert scan_meta(b"<meta name=robots content=noai" + b"x" * 5000 + b">") == {"scanned": 5031}  # unclosed, long


# ---------------------------------------------------------------------------------------------------------
# Decisions: each signal alone, controls, agents
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("page, reason, where", [
    (_headers(("X-Robots-Tag", "noai")), "optout.noai", "X-Robots-Tag: noai"),
    (_headers(("X-Robots-Tag", "noindex, NOIMAGEAI")), "optout.noai", "X-Robots-Tag: noindex, NOIMAGEAI"),
    (_headers(("X-Robots-Tag", "noml")), "optout.noai", "X-Robots-Tag: noml"),
    (_headers(("X-Robots-Tag", "GPTBot: noai")), "optout.noai", "X-Robots-Tag: GPTBot: noai"),
    (_meta('<meta name="robots" content="noai, noimageai">'), "optout.noai",
     '<meta name="robots" content="noai, noimageai">'),
    (_meta('<meta name="GPTBot" content="noai">'), "optout.noai", '<meta name="gptbot" content="noai">'),
    (_headers(("tdm-reservation", "1")), "optout.tdmrep", "tdm-reservation: 1"),
    (_meta('<meta name="tdm-reservation" content="1">'), "optout.tdmrep",
     '<meta name="tdm-reservation" content="1">'),
    (_headers(("Content-Usage", "search=y, train-ai=n")), "optout.aipref", "Content-Usage: search=y, train-ai=n"),
])
def test_each_page_signal_alone_drops_with_evidence_naming_the_header_or_tag(page, reason, where):
    d = _decide(page)
    assert (d.allowed, d.reason) == (False, reason)
    assert where in repr(d.evidence)


@pytest.mark.parametrize("page", [
    _headers(("X-Robots-Tag", "noarchive")),
    _headers(("X-Robots-Tag", "index, follow")),
    _headers(("X-Robots-Tag", "nofollow, noindex, nosnippet")),
    _headers(("X-Robots-Tag", "unavailable_after: 25 Jun 2010 15:00:00 PST")),
    _headers(("X-Robots-Tag", "SomeOtherBot: noai")),    # an agent the run does not list
    _headers(("X-Robots-Tag", "noaiX, ai")),
    _meta('<meta name="robots" content="index, noarchive">'),
    _meta('<meta name="SomeOtherBot" content="noai">'),
    _meta('<meta name="description" content="we say noai here">'),
    _headers(("tdm-reservation", "0")),
    _headers(("tdm-reservation", "2")),                  # an error: unset
    _headers(("Content-Usage", "train-ai=y")),
    _headers(("Content-Usage", "train-ai=N")),            # not the token n
    _headers(("Content-Usage", "train-ai=n;;")),          # malformed: ignored, recorded
    {},
    None,
])
def test_control_cases_stay_kept(page):
    d = _decide(page)
    assert d.allowed and d.reason is None, d.evidence


def test_malformed_page_values_are_recorded():
    d = _decide(_headers(("Content-Usage", "train-ai=n;;"), ("tdm-reservation", "yes")))
    assert d.allowed
    assert any("Content-Usage header" in e for e in d.evidence["page_errors"])
    assert any("not 0 or 1" in e for e in d.evidence["page_errors"])


def test_agent_prefixed_values_apply_only_to_listed_agents():
    page = _headers(("X-Robots-Tag", "CCBot: noai"))
    assert not _decide(page, agents=("CCBot/2.0",)).allowed  # the product token is what counts
    assert _decide(page, agents=("GPTBot",)).allowed


def test_page_signals_follow_the_signals_chosen():
    page = {**_headers(("X-Robots-Tag", "noai"), ("tdm-reservation", "1"), ("Content-Usage", "train-ai=n"))}
    assert _decide(page, signals=["robots"]).allowed
    d = _decide(page)
    assert d.reason == "optout.tdmrep" and d.evidence["refused_by_signals"] == ["tdmrep", "noai", "aipref"]
    assert _decide(page, signals=["aipref"]).reason == "optout.aipref"
    refusals, levels, errors = page_refusals(page, AGENTS, ["noai"])
    assert list(refusals) == ["noai"] and levels == {} and errors == []


# ---------------------------------------------------------------------------------------------------------
# The WARC reader keeps what the block needs, bounded
# ---------------------------------------------------------------------------------------------------------
def test_warc_reader_keeps_headers_and_head_meta_bounded(tmp_path):
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    text = "".join(f"<p>Paragraph {i} about the harbour, its boats and the people who work there.</p>"
                   for i in range(40))
    pages = [
        ("https://e.example/1", [("X-Robots-Tag", "noai")] * 1000 + [("tdm-reservation", "1")],
         f'<html><head><meta name="robots" content="noimageai"></head><body>{text}</body></html>'),
        ("https://e.example/2", [("X-Robots-Tag", "noarchive")],  # the meta sits after the first 64 KiB
         f'<html><head>{" " * (SCAN_BYTES + 1)}<meta name="tdm-reservation" content="1"></head><body>{text}</body></html>'),
        ("https://e.example/3", [], f"<html><head><title>t</title></head><body>{text} 3</body></html>"),
    ]
    path = tmp_path / "in.warc.gz"
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for url, headers, html in pages:
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html"), *headers], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(html.encode()),
                                                          http_headers=http))
    docs = [d for d in InputReader(list_inputs(str(path))).run() if FILE_END not in d.metadata]
    assert [state(d)["status"] for d in docs] == ["kept"] * 3
    first, second, third = (d.metadata.get("page_signals") for d in docs)
    assert len(first["headers"]["x-robots-tag"]) == 32 and first["dropped"]["headers"] == 968
    assert first["headers"]["tdm-reservation"] == ["1"] and first["meta"] == {"robots": ["noimageai"]}
    assert second == {"headers": {"x-robots-tag": ["noarchive"]}, "scanned": SCAN_BYTES}
    assert third is None

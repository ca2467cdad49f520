"""The fast paths of the bench's "same work" pipeline (optout + pii [e-mail, IP, IBAN] + tokenize) against
the reference behaviour they replace: the tokenizer's one-call encoding against the marker split in
Python, PII without the digit-run scan against the scan forced on, IPv6 validation by IPv6Interface
against ip_interface, the reused detail encoder against json.dumps; then a whole run each way, compared
byte for byte."""
from __future__ import annotations

import datetime
import ipaddress
import json
import types
from pathlib import Path

import numpy as np
import pytest

import curate.pii as pii
import curate.pii.ip as ip
from curate import sample
from curate.manifest import dumps_detail
from curate.tokenizer import MARKER_IDS, Tokenizer, get_tokenizer

SAME_WORK_TYPES = ["EMAIL_ADDRESS", "IP_ADDRESS", "IBAN_CODE"]
AWKWARD = [
    "", "<", "<email-pii", "<<ip-pii>>", "<ip-pii><ip-pii>", "x<iban-pii>y", "<|endoftext|> <s> </s>",
    "日本語<card-pii>中文", " " * 50 + "<id-pii>" + "\n" * 30, "<phone-pii>" * 40, "a" * 20000,
    "lone \ud800 surrogate", "pair \ud83d\ude00 <ip-pii> \udfff", "<email-pii>\ud800<ip-pii>",
    "Grüezi 🏔️\r\n\ttabs <iban-pii>.", "DE89 3704 0044 0532 0130 00 <email-pii>@x",
]


@pytest.fixture(scope="module")
def demo_texts() -> list[str]:
    docs = [d["text"] for ds in sample.generate(400, seed=11).values() for d in ds]
    return docs + [pii.redact(t, types=SAME_WORK_TYPES)[0] for t in docs]


def test_one_call_encoding_gives_the_reference_ids(demo_texts):
    tok = get_tokenizer()
    for text in demo_texts + AWKWARD:
        fast, ref = tok.encode(text), tok._encode_parts(text)
        assert fast.dtype == np.int32 and np.array_equal(fast, ref), text[:80]


def test_every_marker_maps_to_its_id_and_decodes_back():
    tok = get_tokenizer()
    text = "a" + "b".join(MARKER_IDS) + "c"
    ids = tok.encode(text)
    assert [int(i) for i in ids if int(i) < tok._offset][1:-1] == list(MARKER_IDS.values())
    assert tok.decode(ids) == text


def test_digit_run_scan_skipped_only_where_it_cannot_matter(demo_texts, monkeypatch):
    extra = ["IBAN DE89 3704 0044 0532 0130 00, card 4111 1111 1111 1111, tel +41 44 668 18 00, ip 10.0.0.1",
             "AHV 756.1234.5678.97 and CH93 0076 2011 6238 5295 7 and 2001:db8::1"]
    subsets = [SAME_WORK_TYPES, ["IBAN_CODE"], ["IBAN_CODE", "ES_NIF"], ["EMAIL_ADDRESS"], ["PHONE_NUMBER"],
               ["CREDIT_CARD", "IBAN_CODE"], ["CH_AHV"]]
    fast = {(i, tuple(t)): pii.find_pii(x, types=t) for t in subsets for i, x in enumerate(demo_texts + extra)}
    monkeypatch.setattr(pii, "_IN_DIGIT_RUNS", frozenset(pii.ALL_TYPES))  # the scan for every type set
    for (i, t), found in fast.items():
        assert found == pii.find_pii((demo_texts + extra)[i], types=list(t))


def test_ipv6_validation_accepts_what_ip_interface_accepts(monkeypatch):
    text = ("fe80::1%eth0/64 ::ffff:1.2.3.4 1:2:3:4:5:6:7:8/129 ::1/999 2001:db8::/32 1::2::3 "
            "12:30:45 gggg::1 2001:db8:0:0:0:0:2:1 ::ffff:999.1.1.1 a:b:c:d:e:f:0:1%25x fe80::%/64 "
            "::1.2.3.4/200 x:: std::vector 2001:db8::1.")
    fast = ip.find_ipv6(text)
    monkeypatch.setattr(ip, "ipaddress", types.SimpleNamespace(IPv6Interface=ipaddress.ip_interface))
    assert fast == ip.find_ipv6(text) and len(fast) >= 6


def test_detail_encoder_writes_what_json_dumps_writes():
    details = [
        {}, {"pii": {"counts": {}, "redacted": 0}},
        {"optout": {"z": 1, "a": [1, 2.5, None, True], "m": {"é": "Grüße 東京", "b": float("inf")}}},
        {"license": {"when": datetime.date(2024, 1, 2), "path": Path("/x/y"), "n": 10 ** 30, "neg": -0.0}},
        {"b": {"c": {"d": {"e": ["\u2028", "\x00", "\ud800", "\"\\"]}}}, "a": 1},
    ]
    for d in details:
        assert dumps_detail(d) == json.dumps(d, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                                             default=str)


def _run_same_work(tmp_path: Path, name: str) -> Path:
    import curate.run as R

    pipe = tmp_path / "same.yaml"
    pipe.write_text("name: same-work\ninput: {format: auto}\nblocks:\n"
                    "  - optout: {agents: apertus, policy: retroactive, star: true, granularity: url}\n"
                    "  - pii: {types: [EMAIL_ADDRESS, IP_ADDRESS, IBAN_CODE]}\n  - tokenize: {}\n")
    out = tmp_path / name
    R.run(str(pipe), [str(tmp_path / "input")], str(out), robots_cache=str(tmp_path / "robots"),
          opts=R.RunOptions(tasks=1, workers=1, progress=False))
    return out


def test_same_work_run_is_byte_identical_with_the_reference_paths(tmp_path, monkeypatch):
    import curate.sink as sink

    sample.build_sample(tmp_path / "input", 300, seed=5)
    sample.write_robots_cache(tmp_path / "robots")
    fast = _run_same_work(tmp_path, "fast")
    monkeypatch.setattr(Tokenizer, "encode", Tokenizer._encode_parts)
    monkeypatch.setattr(pii, "_IN_DIGIT_RUNS", frozenset(pii.ALL_TYPES))
    monkeypatch.setattr(ip, "ipaddress", types.SimpleNamespace(IPv6Interface=ipaddress.ip_interface))
    monkeypatch.setattr(sink, "dumps_detail", lambda d: json.dumps(d, sort_keys=True, ensure_ascii=False,
                                                                   separators=(",", ":"), default=str))
    ref = _run_same_work(tmp_path, "ref")
    files = sorted(p.relative_to(fast) for sub in ("shards", "manifests", ".curate/done")
                   for p in (fast / sub).iterdir())
    assert files and files == sorted(p.relative_to(ref) for sub in ("shards", "manifests", ".curate/done")
                                     for p in (ref / sub).iterdir())
    for f in files:
        assert (fast / f).read_bytes() == (ref / f).read_bytes(), f

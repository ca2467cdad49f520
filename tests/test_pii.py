"""Tests for curate.pii: Presidio's recognizer cases, stdnum's IBANs, Apertus' known regex misses,
redaction markers, options, and the no-network guarantee of the e-mail validation."""
from __future__ import annotations

import json
import os
import re
import socket
from functools import lru_cache
from pathlib import Path

import pytest

import curate.pii.offline as offline
from curate.pii import ALL_TYPES, DEFAULT_TYPES, MARKERS, find_pii, redact

PRESIDIO_FILE = "pii/presidio_recognizer_cases.json"
STDNUM_FILE = "pii/stdnum_iban_cases.json"

# Presidio test module -> our entity type, or None with the reason we do not support it.
FAMILIES: dict[str, tuple[str | None, str]] = {
    "email": ("EMAIL_ADDRESS", ""),
    "ip": ("IP_ADDRESS", ""),
    "iban": ("IBAN_CODE", ""),
    "phone": ("PHONE_NUMBER", ""),
    "credit_card": ("CREDIT_CARD", ""),
    "url": (None, "URL is not a PII type here: Apertus keeps URLs (provenance lives in the manifest)"),
    "crypto": (None, "crypto wallet addresses are not in scope (no Apertus marker token)"),
    "us_ssn": (None, "US_SSN has no checksum and is not in scope (national ids here: CH_AHV, IT, ES)"),
    "mac": (None, "MAC addresses identify hardware, not people; no marker token"),
}

# Upstream Presidio cases whose expectation differs from our policy, each with the reason. The value is
# what we expect instead, as a list of (start, end).
POLICY_EXCEPTIONS: dict[str, tuple[list[tuple[int, int]], str]] = {
    "Use local ipv6 ::": ([], "bare '::' is never an address here: in web text it is C++/Haskell syntax"),
    "Unspecified ::": ([], "bare '::' is never an address here (see above)"),
    "src=:: dst=::1": ([(11, 14)], "bare '::' is skipped; '::1' is still found"),
    "::/0": ([], "bare '::' with a prefix is the default route, not an address of anyone"),
    "::/128": ([], "bare '::' with a prefix identifies nobody"),
    "192.168.1.1.1": ([], "a run of five dotted numbers is an OID or version string, not an IPv4 address"),
    "LV80 bANK 0000 4351 9500 1": (
        [(0, 26)],
        "BBAN letters are case-insensitive (python-stdnum upper-cases; its cases require "
        "'MC11 ... h79' to be valid), and this IBAN is valid once upper-cased",
    ),
}

# The regions Presidio's PhoneRecognizer tries by default (its test fixtures add extra ones per case).
PRESIDIO_PHONE_REGIONS = ("US", "GB", "DE", "FR", "IL", "IN", "CA", "BR")


def _peek(name: str) -> list | dict | None:
    """Read a corpus file at collection time, only to build readable test ids.

    Mirrors tests/conftest.py's location; the tests themselves read the data through ``corpora``.
    """
    root = Path(os.environ.get("CURATE_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))
    path = root / "corpora" / name
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


@lru_cache(maxsize=None)
def _load(corpora_dir: str, name: str):
    return json.loads((Path(corpora_dir) / name).read_text(encoding="utf-8"))


def _family(source: str) -> str:
    return re.search(r"tests/test_(\w+?)_recognizer\.py", source).group(1)


def _presidio_params() -> list:
    cases = _peek(PRESIDIO_FILE)
    if cases is None:  # corpora absent: one param that lets the fixture skip (or fail under CI)
        return [pytest.param(-1, id="corpora-missing")]
    params = []
    for i, case in enumerate(cases):
        family = _family(case["source"])
        kind, reason = FAMILIES[family]
        short = re.sub(r"\W+", "_", case["text"])[:40]
        marks = [pytest.mark.skip(reason=f"{family}: {reason}")] if kind is None else []
        params.append(pytest.param(i, id=f"{family}-{i}-{short}", marks=marks))
    return params


def _spans(text: str, kind: str, **kw) -> list[tuple[int, int]]:
    found = find_pii(text, types=[kind], **kw)
    assert all(t == kind for t, _, _ in found)
    return [(s, e) for _, s, e in found]


@pytest.mark.parametrize("index", _presidio_params())
def test_presidio_case(corpora: Path, index: int) -> None:
    case = _load(str(corpora), PRESIDIO_FILE)[index]
    kind, _ = FAMILIES[_family(case["source"])]
    text = case["text"]
    kw = {}
    options = case.get("presidio_phone_recognizer_options")
    if options is not None:  # reproduce the recognizer configuration the upstream case was written for
        kw["region"] = PRESIDIO_PHONE_REGIONS + tuple(options.get("extra_supported_regions", ()))
        kw["phone_leniency"] = options.get("leniency", 1)
    expected = [(e["start"], e["end"]) for e in case["entities"] if e["type"] == kind]
    assert len(expected) == case["expected_count"]
    if text in POLICY_EXCEPTIONS:
        expected = POLICY_EXCEPTIONS[text][0]
    assert _spans(text, kind, **kw) == expected


def test_policy_exceptions_exist_upstream(corpora: Path) -> None:
    """Every documented exception names a real upstream case (none silently drifts)."""
    texts = {c["text"] for c in _load(str(corpora), PRESIDIO_FILE)}
    assert set(POLICY_EXCEPTIONS) <= texts


def test_presidio_families_all_known(corpora: Path) -> None:
    cases = _load(str(corpora), PRESIDIO_FILE)
    assert {_family(c["source"]) for c in cases} <= set(FAMILIES)
    assert len(cases) == 555


# --- stdnum IBANs -------------------------------------------------------------------------------

def _stdnum_params() -> list:
    data = _peek(STDNUM_FILE)
    if data is None:
        return [pytest.param(-1, id="corpora-missing")]
    params = []
    for i, case in enumerate(data["cases"]):
        label = "valid" if case["expected_valid"] else "invalid"
        params.append(pytest.param(i, id=f"{label}-{i}-{re.sub(r'[^A-Za-z0-9]+', '_', case['iban'])}"))
    return params


def _iban_forms(iban: str) -> list[str]:
    """The IBAN as written, compact, and printed in groups of four."""
    compact = re.sub(r"[ .\-]", "", iban)
    grouped = " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))
    return list(dict.fromkeys([iban, compact, grouped]))


@pytest.mark.parametrize("index", _stdnum_params())
def test_stdnum_iban(corpora: Path, index: int) -> None:
    case = _load(str(corpora), STDNUM_FILE)["cases"][index]
    for form in _iban_forms(case["iban"]):
        for prefix, suffix in (("", ""), ("Bitte überweisen Sie an ", ", danke."), ("IBAN: ", "\n")):
            text = prefix + form + suffix
            found = _spans(text, "IBAN_CODE")
            if case["expected_valid"]:
                assert found == [(len(prefix), len(prefix) + len(form))], text
            else:
                assert found == [], text


# --- Apertus' regex misses (REFERENCE.md) ----------------------------------------------------------

@pytest.mark.parametrize(
    "text, kind, expected",
    [
        ("Konto DE89370400440532013000 bei der Bank", "IBAN_CODE", "DE89370400440532013000"),
        ("Sort it to GB29 NWBK 6016 1331 9268 19 today", "IBAN_CODE", "GB29 NWBK 6016 1331 9268 19"),
        ("GB29NWBK60161331926819", "IBAN_CODE", "GB29NWBK60161331926819"),
        ("Le compte CH9300762011623852957.", "IBAN_CODE", "CH9300762011623852957"),
        ("server at 2001:db8:85a3::8a2e:370:7334 is down", "IP_ADDRESS", "2001:db8:85a3::8a2e:370:7334"),
        ("ping fe80::1%eth0 please", "IP_ADDRESS", "fe80::1%eth0"),
        ("host 8.8.8.8 answered", "IP_ADDRESS", "8.8.8.8"),
    ],
)
def test_apertus_misses_are_found(text: str, kind: str, expected: str) -> None:
    found = find_pii(text)
    assert [(k, text[s:e]) for k, s, e in found] == [(kind, expected)]


@pytest.mark.parametrize(
    "text",
    [
        "Upgrade to v1.2.3.4 now",
        "release-v10.0.0.1 is out",
        "OID 1.3.6.1.4.1.311 registered",
        "Version 2.3.4.5.6 fixes it",
        "GB29 NWBK 6016 1331 9268 18",  # checksum broken
    ],
)
def test_apertus_false_positives_are_not_found(text: str) -> None:
    assert find_pii(text) == []


# --- redaction --------------------------------------------------------------------------------

def test_redact_markers_and_counts() -> None:
    text = (
        "Write to anna.muster@example.ch or call +41 44 668 18 00. "
        "Pay CH93 0076 2011 6238 5295 7 with card 4111 1111 1111 1111; "
        "our server is 192.0.2.10 and 2001:db8::1. Backup: bob@example.org"
    )
    redacted, counts = redact(text)
    assert redacted == (
        "Write to <email-pii> or call <phone-pii>. Pay <iban-pii> with card <card-pii>; "
        "our server is <ip-pii> and <ip-pii>. Backup: <email-pii>"
    )
    assert counts == {"EMAIL_ADDRESS": 2, "PHONE_NUMBER": 1, "IBAN_CODE": 1, "CREDIT_CARD": 1, "IP_ADDRESS": 2}


def test_redact_without_pii_is_identity() -> None:
    text = "Nothing here: 2024, 12:30, v1.2.3, 100 CHF, ratio 1:2:3:4, std::cout"
    assert redact(text) == (text, {})


def test_markers_cover_all_types() -> None:
    assert set(MARKERS) == set(ALL_TYPES)
    assert {MARKERS[t] for t in DEFAULT_TYPES} == {
        "<email-pii>", "<ip-pii>", "<iban-pii>", "<phone-pii>", "<card-pii>"}
    assert {MARKERS[t] for t in ALL_TYPES if t not in DEFAULT_TYPES} == {"<id-pii>"}


def test_offsets_are_python_str_offsets() -> None:
    text = "Grüße 😀 — écris à zoë@example.fr"
    [(kind, start, end)] = find_pii(text)
    assert (kind, text[start:end]) == ("EMAIL_ADDRESS", "zoë@example.fr")


def test_results_sorted_and_non_overlapping() -> None:
    text = ("IBAN DE89 3704 0044 0532 0130 00, tel 030 12345678, mail a@b.de, ip 10.1.2.3, "
            "card 5555555555554444, again DE89370400440532013000")
    found = find_pii(text, "de")
    assert [k for k, _, _ in found] == [
        "IBAN_CODE", "PHONE_NUMBER", "EMAIL_ADDRESS", "IP_ADDRESS", "CREDIT_CARD", "IBAN_CODE"]
    assert all(a[2] <= b[1] for a, b in zip(found, found[1:]))


# --- options ------------------------------------------------------------------------------------

def test_public_ip_only() -> None:
    text = "lan 192.168.1.5, loop 127.0.0.1, ::1, doc 10.0.0.0/8, pub 8.8.4.4, 2a00:1450:4001::200e, ::ffff:10.0.0.1"
    every = [text[s:e] for _, s, e in find_pii(text, types=["IP_ADDRESS"])]
    public = [text[s:e] for _, s, e in find_pii(text, types=["IP_ADDRESS"], public_ip_only=True)]
    assert every == ["192.168.1.5", "127.0.0.1", "::1", "10.0.0.0/8", "8.8.4.4", "2a00:1450:4001::200e",
                     "::ffff:10.0.0.1"]
    assert public == ["8.8.4.4", "2a00:1450:4001::200e"]


@pytest.mark.parametrize(
    "text, language, region, expected",
    [
        ("Rufen Sie 030 12345678 an", "de", None, "030 12345678"),
        ("Appelez le 01 42 68 53 00 demain", "fr", None, "01 42 68 53 00"),
        ("Chiamate lo 06 678 4343 oggi", "it", None, "06 678 4343"),
        ("Clomai 044 668 18 00", "rm", None, "044 668 18 00"),
        ("Call (415) 555-0132 today", "en", None, "(415) 555-0132"),
        ("Tel. +41 44 668 18 00", "xx", None, "+41 44 668 18 00"),  # international format: any language
        ("Tel. 044 668 18 00", "en", "CH", "044 668 18 00"),
        ("Tel. 044 668 18 00", "de-CH", None, "044 668 18 00"),
    ],
)
def test_phone_regions(text: str, language: str, region: str | None, expected: str) -> None:
    found = find_pii(text, language, region=region)
    assert [(k, text[s:e]) for k, s, e in found] == [("PHONE_NUMBER", expected)]


def test_phone_needs_a_plausible_region() -> None:
    # A Swiss national-format number is not valid for the US; an unknown language gets no national formats.
    assert find_pii("Tel. 044 668 18 00", "en", region="US") == []
    assert find_pii("Tel. 044 668 18 00", "xx") == []


def test_phone_not_glued_to_other_codes() -> None:
    for text in ("MAC 01-23-45-67-89-AB", "address 192.168.1.256", "ref 2024-030-12345678"):
        assert find_pii(text, "fr", types=["PHONE_NUMBER"]) == [], text


def test_types_filter_and_validation() -> None:
    text = "a@example.com 8.8.8.8"
    assert [k for k, _, _ in find_pii(text, types=["IP_ADDRESS"])] == ["IP_ADDRESS"]
    assert find_pii(text, types=[]) == []
    with pytest.raises(ValueError, match="US_SSN"):
        find_pii(text, types=["US_SSN"])
    with pytest.raises(ValueError, match="region"):
        find_pii(text, region="XQ")
    with pytest.raises(TypeError):
        find_pii(b"a@example.com")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        find_pii(text, phone_leniency=7)


def test_cards() -> None:
    text = "MC 2221 0000 0000 0009, Amex 3782 822463 10005, bad 4111 1111 1111 1112, id 12345678901234567"
    found = [text[s:e] for _, s, e in find_pii(text, types=["CREDIT_CARD"])]
    assert found == ["2221 0000 0000 0009", "3782 822463 10005"]


# --- national ids -------------------------------------------------------------------------------

def test_ch_ahv_checksum_and_opt_in() -> None:
    text = "AHV-Nr. 756.9217.0769.85, falsch 756.9217.0769.84, kompakt 7569217076985."
    assert find_pii(text, "de") == []  # national ids are off by default
    found = find_pii(text, "de", types=["CH_AHV"])
    assert [text[s:e] for _, s, e in found] == ["756.9217.0769.85", "7569217076985"]
    assert redact(text, "de", types=["CH_AHV"])[0].count("<id-pii>") == 2


def test_other_national_ids() -> None:
    text = "CF RSSMRA85T10A562S (falso RSSMRA85T10A562T), DNI 12345678Z, NIE X1234567L, mal 12345678A"
    found = find_pii(text, types=["IT_FISCAL_CODE", "ES_NIF"])
    assert [(k, text[s:e]) for k, s, e in found] == [
        ("IT_FISCAL_CODE", "RSSMRA85T10A562S"), ("ES_NIF", "12345678Z"), ("ES_NIF", "X1234567L")]


# --- no network ---------------------------------------------------------------------------------

def test_email_validation_never_touches_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """With sockets blocked, a fresh extractor (ours and the one Presidio's EmailRecognizer calls
    through ``tldextract.extract``) still loads its suffix list and validates addresses."""
    import tldextract
    import tldextract.tldextract as tld_module
    from presidio_analyzer.predefined_recognizers import EmailRecognizer

    calls: list[tuple] = []

    def blocked(*args, **kwargs):
        calls.append(args)
        raise OSError("network blocked by test")

    monkeypatch.setattr(socket.socket, "connect", blocked)
    monkeypatch.setattr(socket, "create_connection", blocked)
    monkeypatch.setattr(socket, "getaddrinfo", blocked)
    with pytest.raises(OSError):
        socket.create_connection(("example.org", 80))  # the block is in force
    calls.clear()

    fresh = offline.new_offline_extractor()
    monkeypatch.setattr(offline, "OFFLINE_EXTRACTOR", fresh)
    monkeypatch.setattr(tld_module, "TLD_EXTRACTOR", fresh)
    offline.make_tldextract_offline()

    assert [k for k, _, _ in find_pii("mail me: jane@example.co.uk")] == ["EMAIL_ADDRESS"]
    assert find_pii("not an address: jane@example.notatld") == []
    assert tldextract.extract("www.example.co.uk").suffix == "co.uk"
    results = EmailRecognizer().analyze("write to info@presidio.site", entities=["EMAIL_ADDRESS"])
    assert [(r.start, r.end) for r in results] == [(9, 27)]
    assert calls == []

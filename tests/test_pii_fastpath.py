"""Edge cases of curate.pii's candidate search (each finder starts from a cheap hint: an "@", a
".<digit>." or ":..:" run, a digit run) where a hint-anchored search could differ from a scan of the
whole text: boundaries, adjacency, glued characters. Expected values are what the full scans gave."""
from __future__ import annotations

import pytest

from curate.pii import find_pii


def _found(text: str, kind: str, **kw) -> list[str]:
    return [text[s:e] for k, s, e in find_pii(text, types=[kind], **kw) if k == kind]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("mail a.b-c+d@example.com now", ["a.b-c+d@example.com"]),
        ("mail a@example.com@example.org", ["a@example.com"]),  # the second "@" starts inside the first
        ("x a@-b@example.com", ["-b@example.com"]),  # a failed domain leaves the text after it free
        ("mail .ab@example.com and ab.@example.com", []),  # local part starts or ends with a dot
        ("mail jo..hn@example.com", ["jo..hn@example.com"]),  # inner dots: as before (and as Presidio)
        ("@example.com, a@b, @@", []),
        ("zoë@example.fr", ["zoë@example.fr"]),
    ],
)
def test_email_candidates(text: str, expected: list[str]) -> None:
    assert _found(text, "EMAIL_ADDRESS") == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("from 1.2.3.4/5.6.7.8 to", ["1.2.3.4", "5.6.7.8"]),
        ("at 10.0.0.1/24, 10.0.0.2", ["10.0.0.1/24", "10.0.0.2"]),
        ("1234.5.6.7 and 1.2.3.4.5 and v1.2.3.4", []),
        ("1.2.3.4", ["1.2.3.4"]),  # at both ends of the text
        ("ip 1.2.3.4٢ and ١٩٢.١٦٨.١.١", []),  # non-ASCII digits: ipaddress refuses them, so do we
    ],
)
def test_ipv4_candidates(text: str, expected: list[str]) -> None:
    assert _found(text, "IP_ADDRESS") == expected


def test_non_ascii_digits_do_not_break_public_only() -> None:
    # Before, "1.2.3.4٢" was reported as an address and public_ip_only raised ValueError on it.
    assert _found("ip 1.2.3.4٢ x", "IP_ADDRESS", public_ip_only=True) == []
    assert _found("ip 8.8.8.8/٢ x", "IP_ADDRESS", public_ip_only=True) == ["8.8.8.8"]  # without the prefix


@pytest.mark.parametrize(
    "text, expected",
    [
        ("::1", ["::1"]),
        ("x::1 g::1 .::1", []),  # glued to a word character or a dot
        ("(fe80::1%eth0) and [2001:db8::8a2e:370:7334]", ["fe80::1%eth0", "2001:db8::8a2e:370:7334"]),
        ("1:2:3:4:5:6:7:8:9", []),  # nine groups: no address
        ("a 1:2:3:4:5:6:7:8 b", ["1:2:3:4:5:6:7:8"]),
        ("time 10:15:30, ratio 1:2:3:4, x :: Int", []),
        ("::ffff:1.2.3.4 and 2001:db8::1/64", ["::ffff:1.2.3.4", "2001:db8::1/64"]),
    ],
)
def test_ipv6_candidates(text: str, expected: list[str]) -> None:
    assert _found(text, "IP_ADDRESS") == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("4111111111111111", ["4111111111111111"]),  # the whole text
        ("(4111 1111 1111 1111)", ["4111 1111 1111 1111"]),
        ("+4111111111111111, /4111111111111111, 4111111111111111abc, 4111111111111111.5", []),
        ("ref 12 4111-1111-1111-1111", ["4111-1111-1111-1111"]),  # starts inside a longer digit run
        ("cards 4111111111111111 5555555555554444", ["4111111111111111", "5555555555554444"]),
    ],
)
def test_card_candidates(text: str, expected: list[str]) -> None:
    assert _found(text, "CREDIT_CARD") == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Tel.+41 44 668 18 00", ["+41 44 668 18 00"]),  # the "+" before the digit run belongs to it
        ("Ruf (030) 12345678 an", ["(030) 12345678"]),
        ("Nr 12+41 44 668 18 00", ["+41 44 668 18 00"]),
    ],
)
def test_phone_runs_keep_their_plus_or_parenthesis(text: str, expected: list[str]) -> None:
    assert _found(text, "PHONE_NUMBER", region="DE") == expected

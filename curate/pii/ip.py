"""IPv4 and IPv6 addresses (with optional CIDR prefix and IPv6 zone id), validated by ``ipaddress``.

Policy beyond Presidio's IpRecognizer:
- a dotted quad glued to a word or to another dotted number is not an address: ``v1.2.3.4`` (a version
  string, Apertus' regex flags it) and ``1.3.6.1.4.1`` (an OID) are left alone;
- the bare unspecified address ``::`` is never reported: in web text it is far more often C++/Haskell
  syntax (``std::``, ``x :: Int``) than an address, and it identifies nobody.
"""
from __future__ import annotations

import ipaddress
import re

# ASCII digits only, as ``ipaddress`` reads them (``\d`` would take "١.٢.٣.٤", which it then refuses).
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4_BODY = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
# Not preceded by a word char or a dot; not followed by a word char or ".<digit>" (a longer dotted run).
_IPV4 = re.compile(
    rf"(?<![\w.])({_IPV4_BODY})(?:/(3[0-2]|[12]?[0-9])(?!\d))?(?![\w]|\.\d)"
)
_HEX = r"[0-9A-Fa-f]"
# Loose IPv6 candidate (ipaddress decides): 2-7 "group:" runs, a last group or an embedded IPv4,
# optional %zone and /prefix. Not glued to a word, a colon or a dot on the left.
_IPV6 = re.compile(
    rf"(?<![\w:.])((?:{_HEX}{{0,4}}:){{2,7}}(?:\d{{1,3}}(?:\.\d{{1,3}}){{3}}|{_HEX}{{1,4}})?)"
    r"(%[0-9A-Za-z]+)?(/\d{1,3})?"
)
_IPV6_BAD_NEXT = re.compile(r"[\w:]|\.\d")


def _is_public(address: str) -> bool:
    """True for globally routable addresses; an IPv4-mapped IPv6 address is judged by its IPv4 part."""
    ip = ipaddress.ip_interface(address).ip
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global


# Every dotted quad holds ".<digits>.<digits>.<digit>"; a pattern that starts with a literal is found by
# a fast string search, and the strict pattern then runs from the first digit before it.
_IPV4_HINT = re.compile(r"\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]")


def _digits_before(text: str, i: int) -> int:
    """Start of the run of ASCII digits that ends at ``i``."""
    while i and "0" <= text[i - 1] <= "9":
        i -= 1
    return i


def find_ipv4(text: str) -> list[tuple[int, int]]:
    """Return (start, end) of dotted-quad IPv4 addresses, CIDR suffix included when valid."""
    spans: list[tuple[int, int]] = []
    for hint in _IPV4_HINT.finditer(text):
        start = _digits_before(text, hint.start())
        if start == hint.start() or spans and start < spans[-1][1]:
            continue
        m = _IPV4.match(text, start)
        if m:
            spans.append(m.span())
    return spans


# Every IPv6 candidate holds two colons at most four hex digits apart; found by a fast literal search,
# then the loose pattern runs from the start of the hex-and-colon run around them (a candidate cannot
# start inside one: its look-behind refuses a preceding word character or colon).
_IPV6_HINT = re.compile(r":[0-9A-Fa-f]{0,4}:")
_HEX_COLON = frozenset("0123456789abcdefABCDEF:")


def _ipv6_candidates(text: str):
    done = 0
    for hint in _IPV6_HINT.finditer(text):
        start = hint.start()
        while start and text[start - 1] in _HEX_COLON:
            start -= 1
        if start < done:
            continue
        m = _IPV6.match(text, start)
        done = m.end() if m else hint.end()
        if m:
            yield m


def find_ipv6(text: str) -> list[tuple[int, int]]:
    """Return (start, end) of IPv6 addresses, zone id and CIDR suffix included when valid."""
    spans = []
    for m in _ipv6_candidates(text):
        address, zone, prefix = m.group(1), m.group(2) or "", m.group(3) or ""
        if address == "::" or "::" not in address and address.count(":") < 7 and "." not in address:
            continue  # bare "::" (policy) or too few groups to be uncompressed IPv6
        # Largest valid span first: with prefix, then without it (an invalid /9999 is not part of it).
        for candidate in (address + zone + prefix, address + zone):
            end = m.start() + len(candidate)
            if end < len(text) and _IPV6_BAD_NEXT.match(text, end):
                continue
            try:  # the candidate holds a colon, so never IPv4: ip_interface would try that first, in vain
                ipaddress.IPv6Interface(candidate)
            except ValueError:
                continue
            spans.append((m.start(), end))
            break
    return spans


def find_ips(text: str, public_only: bool = False) -> list[tuple[int, int]]:
    """Return (start, end) of IPv4 and IPv6 addresses; ``public_only`` keeps globally routable ones."""
    spans: list[tuple[int, int]] = []
    spans += find_ipv4(text)
    if ":" in text:
        spans += find_ipv6(text)
    if public_only:
        spans = [(s, e) for s, e in spans if _is_public(text[s:e])]
    return spans

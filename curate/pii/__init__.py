"""PII detection and redaction (e-mail, IP, IBAN, phone, payment card; national ids on request).

Entity names are Presidio's. Detection finds candidates cheaply (from each ``@`` for e-mail, from literal
hints such as ``.<digit>.`` for IPv4 and ``:..:`` for IPv6, from one scan for digit runs for phone and card
numbers), then validates each candidate the way Presidio's pattern recognizers do (public-suffix check,
``ipaddress``, mod 97, Luhn, ``phonenumbers``) plus the checks Apertus' regexes lacked. No spaCy model and
no network access are involved.

    >>> redact("Mail jane@example.org or call +41 44 668 18 00")
    ('Mail <email-pii> or call <phone-pii>', {'EMAIL_ADDRESS': 1, 'PHONE_NUMBER': 1})
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from curate.pii.cards import find_cards
from curate.pii.emails import find_emails
from curate.pii.iban import find_ibans
from curate.pii.ip import find_ips
from curate.pii.national_ids import find_ch_ahv, find_es_nif, find_it_fiscal_code
from curate.pii.offline import make_tldextract_offline
from curate.pii.phone import LANGUAGE_REGIONS, digit_runs, find_phones, regions_for

__all__ = [
    "ALL_TYPES", "DEFAULT_TYPES", "LANGUAGE_REGIONS", "MARKERS", "NATIONAL_ID_TYPES", "find_pii",
    "redact", "regions_for",
]

# Presidio's EmailRecognizer (used by the benchmark's baseline, or by anyone importing presidio next to
# us) must not fetch the Public Suffix List either.
make_tldextract_offline()

Span = tuple[str, int, int]

#: Replacement marker per entity type; the Apertus tokenizer maps these to special tokens
#: 36 iban, 37 email, 38 ip, 39 phone, 40 card, 41 id.
MARKERS: dict[str, str] = {
    "EMAIL_ADDRESS": "<email-pii>",
    "IP_ADDRESS": "<ip-pii>",
    "IBAN_CODE": "<iban-pii>",
    "PHONE_NUMBER": "<phone-pii>",
    "CREDIT_CARD": "<card-pii>",
    "CH_AHV": "<id-pii>",
    "IT_FISCAL_CODE": "<id-pii>",
    "ES_NIF": "<id-pii>",
}
#: Types found when ``types`` is not given (national ids are off by default, as in Apertus).
DEFAULT_TYPES: tuple[str, ...] = ("EMAIL_ADDRESS", "IP_ADDRESS", "IBAN_CODE", "PHONE_NUMBER", "CREDIT_CARD")
NATIONAL_ID_TYPES: tuple[str, ...] = ("CH_AHV", "IT_FISCAL_CODE", "ES_NIF")
ALL_TYPES: tuple[str, ...] = DEFAULT_TYPES + NATIONAL_ID_TYPES

# When spans overlap, the longer one wins; on equal length, the more certain type (checksummed ids
# before structural matches before phone numbers, which are the most ambiguous).
_CONFIDENCE = {
    "IBAN_CODE": 6, "CH_AHV": 6, "IT_FISCAL_CODE": 6, "ES_NIF": 5, "CREDIT_CARD": 5,
    "EMAIL_ADDRESS": 4, "IP_ADDRESS": 3, "PHONE_NUMBER": 1,
}
_DIGIT = re.compile(r"\d")  # what the number patterns need; a C-speed scan
_NEEDS_DIGIT = frozenset({"IBAN_CODE", "PHONE_NUMBER", "CREDIT_CARD", "CH_AHV", "ES_NIF"})
_IN_DIGIT_RUNS = frozenset({"PHONE_NUMBER", "CREDIT_CARD", "CH_AHV"})  # what lies in a digit_runs() run


def _check_types(types: Iterable[str] | None) -> tuple[str, ...]:
    if types is None:
        return DEFAULT_TYPES
    if isinstance(types, str):
        types = (types,)
    chosen = tuple(dict.fromkeys(types))
    unknown = [t for t in chosen if t not in MARKERS]
    if unknown:
        raise ValueError(f"unsupported PII type(s) {unknown}; supported: {list(ALL_TYPES)}")
    return chosen


def _resolve_overlaps(spans: list[Span]) -> list[Span]:
    """Keep non-overlapping spans, preferring longer, then more certain, then earlier ones."""
    if len(spans) < 2:  # most texts: nothing to rank
        return spans
    ranked = sorted(set(spans), key=lambda s: (-(s[2] - s[1]), -_CONFIDENCE[s[0]], s[1]))
    kept: list[Span] = []
    for span in ranked:
        if all(span[2] <= k[1] or span[1] >= k[2] for k in kept):
            kept.append(span)
    return sorted(kept, key=lambda s: (s[1], s[2]))


def find_pii(
    text: str,
    language: str = "en",
    *,
    types: Iterable[str] | None = None,
    public_ip_only: bool = False,
    region: str | Iterable[str] | None = None,
    phone_leniency: int = 1,
) -> list[Span]:
    """Find PII in ``text``.

    Returns sorted, non-overlapping ``(entity_type, start, end)`` tuples (Python str offsets, end
    exclusive) with Presidio entity names. ``language`` (ISO 639-1, optionally with a region such as
    ``de-CH``) picks the regions tried for phone numbers in national format; ``region`` (one ISO 3166
    code or several) overrides that choice. ``types`` limits the search (default ``DEFAULT_TYPES``);
    ``public_ip_only`` drops private, loopback, link-local and other non-global addresses;
    ``phone_leniency`` is phonenumbers' Leniency (0-3, default 1 = valid numbers, as Presidio).
    Raises TypeError for non-str text and ValueError for unknown types or regions.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be str, not {type(text).__name__}")
    if phone_leniency not in (0, 1, 2, 3):
        raise ValueError(f"phone_leniency must be 0..3, got {phone_leniency!r}")
    wanted = _check_types(types)
    regions = regions_for(language, region) if "PHONE_NUMBER" in wanted else ()
    spans: list[Span] = []

    def add(kind: str, found: list[tuple[int, int]]) -> None:
        spans.extend((kind, s, e) for s, e in found)

    # Each finder gates itself on a cheap test ("@" in the text, a ":" for IPv6, ...).
    if "EMAIL_ADDRESS" in wanted:
        add("EMAIL_ADDRESS", find_emails(text))
    if "IP_ADDRESS" in wanted:
        add("IP_ADDRESS", find_ips(text, public_only=public_ip_only))
    if "IT_FISCAL_CODE" in wanted:
        add("IT_FISCAL_CODE", find_it_fiscal_code(text))
    if not _NEEDS_DIGIT.isdisjoint(wanted) and _DIGIT.search(text):
        if "IBAN_CODE" in wanted:
            add("IBAN_CODE", find_ibans(text))
        if "ES_NIF" in wanted:
            add("ES_NIF", find_es_nif(text))
        # Phone, card and AHV numbers lie in a digit run (cards and AHV in one of 13+ digits): scan once,
        # and not at all when none of them is wanted (the scan costs as much as the IBAN search).
        runs = digit_runs(text) if not _IN_DIGIT_RUNS.isdisjoint(wanted) else []
        long_runs = [(s, e) for s, e in runs if e - s >= 13 and sum(map(str.isdigit, text[s:e])) >= 13]
        if long_runs and "CREDIT_CARD" in wanted:
            add("CREDIT_CARD", find_cards(text, long_runs))
        if long_runs and "CH_AHV" in wanted:
            add("CH_AHV", find_ch_ahv(text))
        # Phone numbers come last: runs inside an already found span need no phonenumbers work.
        if "PHONE_NUMBER" in wanted:
            taken = [(s, e) for _, s, e in spans]
            add("PHONE_NUMBER", find_phones(text, regions, phone_leniency, taken, runs))
    return _resolve_overlaps(spans)


def redact(
    text: str,
    language: str = "en",
    *,
    types: Iterable[str] | None = None,
    public_ip_only: bool = False,
    region: str | Iterable[str] | None = None,
    phone_leniency: int = 1,
) -> tuple[str, dict[str, int]]:
    """Replace each PII span found by :func:`find_pii` with its marker from ``MARKERS``.

    Returns the redacted text and the number of replacements per entity type (only types seen).
    """
    spans = find_pii(text, language, types=types, public_ip_only=public_ip_only, region=region,
                     phone_leniency=phone_leniency)
    parts: list[str] = []
    counts: dict[str, int] = {}
    last = 0
    for kind, start, end in spans:
        parts += (text[last:start], MARKERS[kind])
        counts[kind] = counts.get(kind, 0) + 1
        last = end
    parts.append(text[last:])
    return "".join(parts), counts

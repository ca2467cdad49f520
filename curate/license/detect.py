"""License detection for code and web pages: SPDX ids with the evidence that found them.

Stages, cheapest first:
1. A keyword prefilter (`_prefilter`): text without "licen", "copyright", "SPDX", "creativecommons",
   "public domain", "rights reserved" (and their German/French/Italian/Spanish forms) costs one regex scan.
2. `SPDX-License-Identifier:` lines and Creative Commons links, on the raw text.
3. On folded words (lower case, no accents, no punctuation, markup or comment markers; see
   `NormalizedText`): full license texts by phrase signatures (curate/data/license/signatures.json),
   license headers ("Licensed under the Apache License, Version 2.0", GNU "either version 2 of the License,
   or (at your option) any later version"...), Creative Commons notices in several languages,
   public-domain dedications and explicit rights reservations.

Results are deduplicated per SPDX id and ordered best first: by kind (an SPDX identifier is the strongest
statement, then a full license text, a header, a CC link, a CC notice, a public-domain dedication, and last a
rights reservation, which is usually the copyright line next to a real license), then confidence, then
position.
"""
from __future__ import annotations

import json
import re
import unicodedata
from bisect import bisect_right
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Callable, Iterator

from curate.license.categories import (
    ALL_RIGHTS_RESERVED,
    PUBLIC_DOMAIN,
    _licensing,
    category,
    scancode_index,
)

EVIDENCE_CHARS = 120

KIND_PRIORITY: dict[str, int] = {
    "spdx-identifier": 0,
    "license-text": 1,
    "license-header": 2,
    "cc-link": 3,
    "cc-notice": 4,
    "public-domain": 5,
    "rights-reserved": 6,
}

# Lower-cased substrings; any license statement we detect contains at least one of them. Plain `in` tests
# on the lower-cased text run at memory speed, unlike a regex alternation (about 10x slower in CPython).
_PREFILTER_KEYWORDS: tuple[str, ...] = (
    "licen", "lizenz", "copyright", "spdx", "creative", "cc by", "cc-by", "cc0", "public domain",
    "public\ndomain", "gemeinfrei", "domaine public", "reserved", "vorbehalten", "droits r", "riservati",
    "reservados", "voorbehouden", "redistribution", "permission", "unencumbered", "do what the fuck",
)


def _prefilter(text: str) -> bool:
    """True when `text` may hold a license statement (cheap; false positives are fine)."""
    lowered = text.lower()
    return any(keyword in lowered for keyword in _PREFILTER_KEYWORDS)


# --------------------------------------------------------------------------------------------------
# Normalisation: folded words with offsets into the original text
# --------------------------------------------------------------------------------------------------

# Tags and entities are skipped whole (so "<b>" does not become the word "b"); words are runs of
# letters/digits (underscore excluded so that "_Version_" markdown splits cleanly).
_TOKEN = re.compile(r"<[^<>]{0,300}>|&(?:[a-zA-Z]{2,8}|#\d{1,6}|#x[0-9a-fA-F]{1,6});|[^\W_]+")


def fold_word(word: str) -> str:
    """Lower-case and strip accents from one word ("Réservés" -> "reserves"); never adds a space."""
    word = word.casefold()
    if word.isascii():
        return word
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch) and not ch.isspace())


def _words(text: str) -> list[str]:
    return [w for w in _TOKEN.findall(text) if w[0] not in "<&"]


def normalize_phrase(phrase: str) -> str:
    """Normalise a phrase exactly like document text: folded words joined by single spaces."""
    return " ".join(fold_word(w) for w in _words(phrase))


class NormalizedText:
    """Folded words of a text joined by spaces; word offsets in the original are computed on demand.

    `text` is padded (" word word ") so that `find(" phrase ")` matches whole words only. Most texts that
    pass the prefilter hold no license, so the per-word offsets are only built when a match needs them.
    """

    def __init__(self, original: str, words: list[str]) -> None:
        self.original = original
        self.words = words
        self.text = " " + " ".join(words) + " "
        self._starts: list[int] | None = None
        self._spans: list[tuple[int, int]] | None = None

    @classmethod
    def of(cls, original: str) -> "NormalizedText":
        """Tokenise and fold `original`, dropping HTML tags and entities."""
        words = _words(original)
        if original.isascii():
            return cls(original, [w.lower() for w in words])
        return cls(original, [fold_word(w) for w in words])

    def _offsets(self) -> tuple[list[int], list[tuple[int, int]]]:
        if self._starts is None or self._spans is None:
            starts, pos = [], 1
            for word in self.words:
                starts.append(pos)
                pos += len(word) + 1
            spans = [m.span() for m in _TOKEN.finditer(self.original) if m.group()[0] not in "<&"]
            self._starts, self._spans = starts, spans
        return self._starts, self._spans

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) range of the normalised text back to the original string."""
        starts, spans = self._offsets()
        if not spans:
            return (0, 0)
        first = max(bisect_right(starts, start) - 1, 0)
        last = max(bisect_right(starts, max(end - 1, start)) - 1, first)
        return (spans[first][0], spans[last][1])

    def find(self, phrase: str) -> int:
        """Offset of the whole-word `phrase` (already normalised), or -1."""
        idx = self.text.find(" " + phrase + " ")
        return idx + 1 if idx >= 0 else -1


# --------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LicenseMatch:
    """One license found in a text, with where and how it was found."""

    spdx: str
    category: str
    kind: str
    evidence: str
    start: int
    end: int
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (for manifests' `detail`)."""
        return asdict(self)


def _snippet(text: str, start: int, end: int) -> str:
    snippet = " ".join(text[start:end].split())
    return snippet if len(snippet) <= EVIDENCE_CHARS else snippet[: EVIDENCE_CHARS - 1] + "…"


def _match(text: str, spdx: str, kind: str, start: int, end: int, confidence: float) -> LicenseMatch:
    return LicenseMatch(spdx, category(spdx), kind, _snippet(text, start, end), start, end, confidence)


# --------------------------------------------------------------------------------------------------
# SPDX-License-Identifier lines
# --------------------------------------------------------------------------------------------------

_SPDX_LINE = re.compile(r"SPDX-License-Identifier\s*:\s*(?P<expr>[^\r\n]+)", re.IGNORECASE)
# comment closers and quotes that may trail the expression on the same line
_SPDX_TAIL = re.compile(r"\s*(?:\*/|-->|\*\)|#\}|%\}|\"\"\"|'''|[\"';,])+\s*$")


def _spdx_identifiers(text: str, lowered: str) -> Iterator[LicenseMatch]:
    if "spdx-license-identifier" not in lowered:
        return
    for m in _SPDX_LINE.finditer(text):
        expr = _SPDX_TAIL.sub("", m.group("expr")).strip()
        if not expr:
            continue
        try:
            parsed = _licensing().parse(expr)
        except Exception:  # license-expression raises several error types; a bad line is not a license
            continue
        if parsed is None:
            continue
        yield _match(text, str(parsed), "spdx-identifier", m.start(), m.start("expr") + len(expr), 1.0)


# --------------------------------------------------------------------------------------------------
# Full license texts: phrase signatures
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    """Phrase rule for one license's full text (see signatures.json)."""

    spdx: str
    all: tuple[tuple[str, ...], ...]
    none: tuple[str, ...]
    overrides: tuple[str, ...]


@lru_cache(maxsize=1)
def signatures() -> tuple[Signature, ...]:
    """Load and normalise the phrase signatures shipped in curate/data/license/signatures.json."""
    raw = json.loads(resources.files("curate").joinpath("data/license/signatures.json").read_text("utf-8"))
    out = []
    for spdx, rule in raw["licenses"].items():
        groups = tuple(
            tuple(normalize_phrase(p) for p in (entry if isinstance(entry, list) else [entry]))
            for entry in rule["all"]
        )
        if not groups:
            raise ValueError(f"signatures.json: {spdx} has no 'all' phrases")
        out.append(Signature(spdx, groups, tuple(normalize_phrase(p) for p in rule.get("none", [])),
                             tuple(rule.get("overrides", []))))
    return tuple(out)


def _full_texts(text: str, norm: NormalizedText) -> tuple[list[LicenseMatch], set[str]]:
    """Signatures that fire, and the ids they override."""
    found: list[LicenseMatch] = []
    overridden: set[str] = set()
    for sig in signatures():
        spans: list[tuple[int, int]] = []
        for group in sig.all:
            for phrase in group:
                pos = norm.find(phrase)
                if pos >= 0:
                    spans.append(norm.original_span(pos, pos + len(phrase)))
                    break
            else:
                break
        if len(spans) != len(sig.all) or any(norm.find(p) >= 0 for p in sig.none):
            continue
        start, end = min(s for s, _ in spans), max(e for _, e in spans)
        first = spans[0]
        m = _match(text, sig.spdx, "license-text", start, end, 0.95)
        found.append(LicenseMatch(m.spdx, m.category, m.kind, _snippet(text, *first), start, end, 0.95))
        overridden.update(sig.overrides)
    return found, overridden


# --------------------------------------------------------------------------------------------------
# License headers (regexes over folded words)
# --------------------------------------------------------------------------------------------------

_GNU = re.compile(
    r"\b(?:under|by) the terms of (?:the )?gnu (?P<variant>lesser |library |affero )?general public licen[cs]e"
    r"(?: as published by the free software foundation)?(?: either)?"
    r"(?: (?:version|v) ?(?P<ver>[123](?: [01])?)| v(?P<ver2>[123](?: [01])?))?(?: of the licen[cs]e)?"
    r"(?P<later> or at your option any later version| or any later version| or later| or newer)?"
)
_GNU_BASE = {"": "GPL", "lesser": "LGPL", "library": "LGPL", "affero": "AGPL"}
_GNU_UNVERSIONED = {"GPL": "GPL-1.0-or-later", "LGPL": "LGPL-2.0-or-later", "AGPL": "AGPL-3.0-or-later"}


def _gnu_id(m: re.Match) -> str | None:
    base = _GNU_BASE[(m.group("variant") or "").strip()]
    ver = m.group("ver") or m.group("ver2")
    if not ver:
        return _GNU_UNVERSIONED[base]
    ver = ver.replace(" ", ".")
    ver = ver if "." in ver else ver + ".0"
    spdx = f"{base}-{ver}-{'or-later' if m.group('later') else 'only'}"
    return spdx if spdx.lower() in scancode_index() else _GNU_UNVERSIONED[base]


def _fixed(spdx: str) -> Callable[[re.Match], str]:
    return lambda _m: spdx


# (needle, pattern, id, confidence): the pattern only runs when the plain needle occurs in the text.
_HEADERS: tuple[tuple[str, re.Pattern, Callable[[re.Match], str | None], float], ...] = (
    (" gnu ", _GNU, _gnu_id, 0.9),
    (" apache ", re.compile(r"\bunder the apache licen[cs]e (?:version |v ?)?2 0\b"), _fixed("Apache-2.0"), 0.9),
    (" apache ", re.compile(r"\blicensed to the apache software foundation asf under one or more contributor "
                            r"licen[cs]e agreements\b"), _fixed("Apache-2.0"), 0.85),
    (" mozilla ", re.compile(r"\bthis source code form is subject to the terms of the mozilla public license "
                             r"v ?2 0\b"), _fixed("MPL-2.0"), 0.9),
    (" eclipse ", re.compile(r"\bunder the (?:terms of the )?eclipse public license (?:v ?|version )?"
                             r"(?P<v>[12]) 0\b"), lambda m: f"EPL-{m.group('v')}.0", 0.9),
    (" eu", re.compile(r"\b(?:under|by) the (?:eupl|european union public licence) (?:v ?|version )?"
                             r"1 (?P<v>[12])\b"), lambda m: f"EUPL-1.{m.group('v')}", 0.85),
    (" boost ", re.compile(r"\bunder the boost software license version 1 0\b"), _fixed("BSL-1.0"), 0.9),
    (" artistic ", re.compile(r"\bunder the (?:terms of the )?artistic license 2 0\b"), _fixed("Artistic-2.0"),
     0.85),
    (" under ", re.compile(r"\b(?:licensed|released|distributed|available|published|licenced) under (?:the )?"
                           r"(?:terms of the )?(?:mit|expat) (?:license|licence)\b"), _fixed("MIT"), 0.85),
    (" permission is hereby granted free of charge to any person obtaining a copy of this software ",
     re.compile(r"\bpermission is hereby granted free of charge to any person obtaining a copy of this "
                r"software\b"), _fixed("MIT"), 0.75),
    (" bsd ", re.compile(r"\b(?:licensed|released|distributed) under (?:the )?(?:terms of the )?"
                         r"(?:(?:new|revised|modified) bsd|bsd 3 clause) licen[cs]e\b"), _fixed("BSD-3-Clause"), 0.8),
    (" bsd ", re.compile(r"\b(?:licensed|released|distributed) under (?:the )?(?:terms of the )?"
                         r"(?:simplified bsd|freebsd|bsd 2 clause) licen[cs]e\b"), _fixed("BSD-2-Clause"), 0.8),
    (" isc ", re.compile(r"\b(?:licensed|released|distributed) under (?:the )?(?:terms of the )?isc licen[cs]e\b"),
     _fixed("ISC"), 0.8),
)


def _headers(text: str, norm: NormalizedText) -> Iterator[LicenseMatch]:
    for needle, pattern, to_id, confidence in _HEADERS:
        if needle not in norm.text:
            continue
        for m in pattern.finditer(norm.text):
            spdx = to_id(m)
            if spdx:
                yield _match(text, spdx, "license-header", *norm.original_span(m.start(), m.end()), confidence)


# --------------------------------------------------------------------------------------------------
# Creative Commons: links, badges and notices
# --------------------------------------------------------------------------------------------------

_CC_LINK = re.compile(
    r"creativecommons\.org/(?:licenses/(?P<type>[a-z]{2}(?:-[a-z]{2}){0,3})(?:/(?P<ver>\d\.\d)"
    r"(?:/(?P<port>[a-z]{2}(?:-[a-z]{2})?)(?![a-z]))?)?|publicdomain/(?P<pd>zero|mark)/(?P<pdver>\d\.\d))",
    re.IGNORECASE,
)
_CC_SHORT = re.compile(r"(?<![\w-])CC[ -]?(?P<type>BY(?:[ -](?:NC|ND|SA)){0,2})(?:[ -]v?(?P<ver>\d\.\d))?(?![\w-])")
_CC0_SHORT = re.compile(r"(?<![\w-])CC0(?:[ -]v?1\.0)?(?![\w-])")
_CC_ORDER = {"BY": 0, "NC": 1, "ND": 2, "SA": 2}
# CC 4.0 is current; a notice without a version gets it, with lower confidence (the category of a CC
# license does not depend on its version).
_CC_DEFAULT_VERSION = "4.0"


def cc_id(elements: list[str], version: str | None, port: str | None = None) -> str | None:
    """SPDX id of a Creative Commons license from its elements ("by", "nc", "sa"...), or None if invalid."""
    parts = sorted({e.upper() for e in elements}, key=lambda e: _CC_ORDER.get(e, 9))
    if not parts or any(p not in _CC_ORDER for p in parts) or ("ND" in parts and "SA" in parts):
        return None
    if parts[0] != "BY":  # CC 1.0 had NC/ND/SA-only licenses; SPDX lists few of them
        spdx = "CC-" + "-".join(parts) + "-" + (version or "1.0")
        return spdx if spdx.lower() in scancode_index() else None
    spdx = "CC-" + "-".join(parts) + "-" + (version or _CC_DEFAULT_VERSION)
    if port and (spdx + "-" + port.upper()).lower() in scancode_index():
        return spdx + "-" + port.upper()
    return spdx if spdx.lower() in scancode_index() else None


def _cc_links(text: str, lowered: str) -> Iterator[LicenseMatch]:
    for m in (_CC_LINK.finditer(text) if "creativecommons.org/" in lowered else ()):
        if m.group("pd"):
            spdx = "CC0-1.0" if m.group("pd").lower() == "zero" else "CC-PDM-1.0"
            yield _match(text, spdx, "cc-link", m.start(), m.end(), 0.95)
            continue
        spdx = cc_id(m.group("type").split("-"), m.group("ver"), m.group("port"))
        if spdx:
            yield _match(text, spdx, "cc-link", m.start(), m.end(), 0.95 if m.group("ver") else 0.7)
    for m in (_CC_SHORT.finditer(text) if "CC" in text else ()):
        spdx = cc_id(re.split(r"[ -]", m.group("type")), m.group("ver"))
        if spdx:
            yield _match(text, spdx, "cc-notice", m.start(), m.end(), 0.9 if m.group("ver") else 0.6)
    for m in (_CC0_SHORT.finditer(text) if "CC0" in text else ()):
        yield _match(text, "CC0-1.0", "cc-notice", m.start(), m.end(), 0.8)


# Element names in English, German, French, Italian, Spanish and Dutch CC license names (folded).
_CC_ELEMENT_WORDS: dict[str, tuple[str, ...]] = {
    "NC": ("noncommercial", "non commercial", "nicht kommerziell", "nichtkommerziell",
           "pas d utilisation commerciale", "non commerciale", "no comercial", "niet commercieel"),
    "ND": ("noderivatives", "no derivatives", "no derivative works", "noderivs", "no derivs",
           "keine bearbeitung", "keine bearbeitungen", "pas de modification", "non opere derivate",
           "sin obra derivada", "sin obras derivadas", "sin derivadas", "geen afgeleide werken"),
    "SA": ("sharealike", "share alike", "weitergabe unter gleichen bedingungen",
           "partage dans les memes conditions", "condividi allo stesso modo", "compartir igual",
           "compartirigual", "gelijk delen"),
}
_CC_NOTICE = re.compile(
    r"\bcreative commons (?:(?:public )?(?:license|licence|lizenz|licenza|licencia|licentie) )?"
    r"(?:attribution|namensnennung|attribuzione|atribucion|reconocimiento|naamsvermelding)"
    r"(?P<rest>(?: (?!\d )[a-z]+){0,10})(?: (?P<ver>[1-4] [05]))?"
)


def _cc_notices(text: str, norm: NormalizedText) -> Iterator[LicenseMatch]:
    if " creative commons " not in norm.text:
        return
    for m in _CC_NOTICE.finditer(norm.text):
        rest = " " + m.group("rest") + " "
        elements = ["BY"] + [el for el, words in _CC_ELEMENT_WORDS.items() if any(f" {w} " in rest for w in words)]
        ver = m.group("ver").replace(" ", ".") if m.group("ver") else None
        spdx = cc_id(elements, ver)
        if spdx:
            yield _match(text, spdx, "cc-notice", *norm.original_span(m.start(), m.end()), 0.9 if ver else 0.6)
    pos = norm.find("cc0 1 0 universal")
    if pos >= 0:
        yield _match(text, "CC0-1.0", "cc-notice", *norm.original_span(pos, pos + 17), 0.9)


# --------------------------------------------------------------------------------------------------
# Public-domain dedications and rights reservations
# --------------------------------------------------------------------------------------------------

_PUBLIC_DOMAIN = re.compile(
    r"\b(?:(?:this|the following) (?:[a-z0-9]+ ){0,3}(?:is|are|has been|have been|was) (?:hereby )?"
    r"(?:released |dedicated |placed |put )?(?:in|into|to) the public domain"
    r"|i (?:hereby )?(?:dedicate|release|place) (?:[a-z0-9]+ ){0,4}(?:in|into|to) the public domain"
    r"|(?:dieses|das) werk ist gemeinfrei"
    r"|(?:est|sont) (?:placee?s? |verse(?:e|s|es)? )?dans le domaine public)\b"
)
_RIGHTS_RESERVED = re.compile(
    r"\b(?:all rights reserved|alle rechte vorbehalten|tous droits reserves|tutti i diritti riservati"
    r"|todos los derechos reservados|alle rechten voorbehouden)\b"
)


def _notices(text: str, norm: NormalizedText) -> Iterator[LicenseMatch]:
    if any(needle in norm.text for needle in (" public domain ", " gemeinfrei ", " domaine public ")):
        for m in _PUBLIC_DOMAIN.finditer(norm.text):
            yield _match(text, PUBLIC_DOMAIN, "public-domain", *norm.original_span(m.start(), m.end()), 0.8)
    if not any(needle in norm.text for needle in (" reserved ", " vorbehalten ", " reserves ", " riservati ",
                                                    " reservados ", " voorbehouden ")):
        return
    for m in _RIGHTS_RESERVED.finditer(norm.text):
        yield _match(text, ALL_RIGHTS_RESERVED, "rights-reserved", *norm.original_span(m.start(), m.end()), 0.9)


# --------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------


def _family(spdx: str) -> str:
    return re.sub(r"-(?:only|or-later)$", "", spdx)


def _sort_key(m: LicenseMatch) -> tuple:
    return (KIND_PRIORITY.get(m.kind, 99), -m.confidence, m.start)


def detect_with_evidence(text: str) -> list[LicenseMatch]:
    """All licenses found in `text`, one match per SPDX id (its strongest evidence), best first.

    A full license text outranks headers of the same family (the GPL text's own "How to apply" appendix
    says "or any later version", which is an example, not a grant).
    """
    if not isinstance(text, str):
        raise TypeError(f"detect expects str, got {type(text).__name__}")
    if not _prefilter(text):
        return []
    return _detect_all(text)


def _detect_all(text: str) -> list[LicenseMatch]:
    """Every detector, without the keyword prefilter (the benchmark's baseline)."""
    if text.startswith("\ufeff"):
        text = " " + text[1:]  # keep offsets while dropping the BOM from evidence
    norm = NormalizedText.of(text)
    full, overridden = _full_texts(text, norm)
    lowered = text.lower()
    candidates = [*_spdx_identifiers(text, lowered), *full, *_headers(text, norm), *_cc_links(text, lowered),
                  *_cc_notices(text, norm), *_notices(text, norm)]
    text_families = {_family(m.spdx) for m in full if m.spdx not in overridden}
    best: dict[str, LicenseMatch] = {}
    for m in sorted(candidates, key=_sort_key):
        if m.spdx in overridden:
            continue
        if m.kind not in ("license-text", "spdx-identifier") and _family(m.spdx) in text_families \
                and m.spdx not in {f.spdx for f in full}:
            continue
        best.setdefault(m.spdx, m)
    return sorted(best.values(), key=_sort_key)


def detect(text: str) -> list[str]:
    """SPDX ids (or SPDX expressions, from `SPDX-License-Identifier` lines) found in `text`, best first.

    Returns an empty list when no license is found.
    """
    return [m.spdx for m in detect_with_evidence(text)]

"""License detection for code and web pages: SPDX ids and expressions with the evidence that found them.

Stages, cheapest first (data and attribution: curate/data/license/NOTICE.md):
1. A keyword gate (`_prefilter`): one case-insensitive RE2 search for substrings ("licen", "copyright",
   "spdx", "creative", "gpl", "warrant", "public domain", "rights reserved"... in several languages). Text
   without any of them returns at once; this keeps license-free prose cheap.
2. `SPDX-License-Identifier:` lines (expressions parsed and normalised by license-expression, so deprecated
   ids such as GPL-2.0+ come out as GPL-2.0-or-later) and Creative Commons links and short forms
   (CC BY-NC 4.0), on the raw text.
3. Exact matching of ScanCode's ~36k license rules (notices, references, tags, URLs, full texts) on
   normalised tokens (curate/license/rules.py; index built once from licensedcode-data and cached, see
   curate/license/index.py). A text with a few keyword occurrences far apart (prose that says "license"
   once, a page with a copyright footer) is tokenised around them only and skips full-text matching (5.);
   texts over WINDOWED_CHARS are tokenised around their keywords only.
   ScanCode keys map to SPDX through each license's `spdx_license_key` ("gpl-2.0-plus" ->
   GPL-2.0-or-later); rule expressions with AND/OR/WITH are kept; ScanCode false-positive rules win their
   place and report nothing. On top of the hits: an exception named after a notice makes "L WITH E", "-only"
   followed by "or later" becomes "-or-later", two licenses joined by "or" become "A OR B".
4. Our own regexes on folded words where exact rules are too rigid: GNU notices ("... as published by the
   Free Software Foundation, version 3" -> GPL-3.0-only) and a few other headers, Creative Commons notices in
   several languages with their NC/ND/SA elements and version, public-domain dedications and explicit rights
   reservations.
5. Full license texts (only when the text holds several license words): ScanCode's license texts of 150+
   tokens by token-bigram containment (candidates: the licenses any rule hit named, and other versions of
   them; a renamed text whose title is not the license's is rejected), then `licenseclassifier`
   (licensecheck's templates for ~690 SPDX licenses) around the rule hits, skipped when one ScanCode text
   already covers nearly the whole document.
6. A post-filter against false alarms: short rules (<= 4 tokens: "the GPL", "MIT license", "under a
   permissive license") count only after a licensing verb ("licensed", "released", "distributed"...) or a
   label ("License: MIT", "@license", '"license": "MIT"', not `license == "MIT"`); a Creative Commons name
   counts when stated (alone, after a separator, after licensing words or ©), not inside a sentence;
   ScanCode's unknown/generic licenses, intros and clues never count; anything inside a full license text
   or a long exact rule is part of it; a reference without a version (or "-only" from a file pointer) yields
   to a versioned statement of the same family; a license URL right after a notice is its pointer.

Results: one match per SPDX expression (its strongest evidence), best first: SPDX identifier, full license
text, notice, license link, CC notice, reference, tag, public-domain dedication, and last a rights
reservation (usually the copyright line next to a real license); then by score, length and position.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Iterable, Iterator

import re2

from curate.license import rules as _rules
from curate.license.categories import ALL_RIGHTS_RESERVED, PUBLIC_DOMAIN, _licensing, canonical_spdx, category, scancode_index

EVIDENCE_CHARS = 120
WINDOWED_CHARS = 32_000  # texts longer than this are tokenised around their license keywords only

KINDS = ("spdx-identifier", "license-text", "notice", "url", "cc-link", "cc-notice", "reference", "tag",
         "public-domain", "rights-reserved")
KIND_PRIORITY: dict[str, int] = {
    "spdx-identifier": 0, "license-text": 1, "notice": 2, "url": 3, "cc-link": 3, "cc-notice": 4,
    "reference": 5, "tag": 5, "public-domain": 6, "rights-reserved": 7,
}

# Lower-cased substrings; any license statement we detect contains at least one of them.
_PREFILTER_KEYWORDS: tuple[str, ...] = (
    "licen", "lizenz", "copyright", "spdx", "creative", "cc by", "cc-by", "cc0", "public domain",
    "public\ndomain", "gemeinfrei", "domaine public", "reserved", "vorbehalten", "droits r", "riservati",
    "reservados", "voorbehouden", "redistribut", "permission", "unencumbered", "do what the fuck", "warrant",
    "freely", "gpl", "著作権", "ライセンス", "クリエイティブ",  # ScanCode has Japanese license texts
)


# RE2 runs the keyword set as one automaton over the text, case-insensitively: about 6x cheaper than
# lower() plus one scan per keyword, and this gate is all that 9 in 10 web documents ever cost here.
_GATE = re2.compile("(?i)" + "|".join(re.escape(k) for k in _PREFILTER_KEYWORDS))


def _prefilter(text: str) -> bool:
    """True when `text` may hold a license statement (cheap; false positives are fine)."""
    try:
        return _GATE.search(text) is not None
    except UnicodeEncodeError:  # lone surrogates cannot go to RE2 (UTF-8): the plain scan
        lowered = text.lower()
        return any(keyword in lowered for keyword in _PREFILTER_KEYWORDS)


# --------------------------------------------------------------------------------------------------
# Normalised words with offsets into the original text
# --------------------------------------------------------------------------------------------------


@lru_cache(maxsize=1 << 14)  # the same few phrases around notices come back on page after page
def normalize_phrase(phrase: str) -> str:
    """Normalise a phrase exactly like document text: folded words joined by single spaces."""
    return " ".join(_rules.rule_words(phrase))


class NormalizedText:
    """Folded words of a text joined by single spaces (padded: " w1 w2 "), with their original spans."""

    def __init__(self, original: str, tokens: "_rules.Tokens") -> None:
        self.original = original
        self.tokens = tokens
        self.text = " " + " ".join(tokens.words) + " "
        # which first words of the detectors' needles occur (a set lookup then answers most needles; a scan
        # of `text` costs more)
        self.heads = _NEEDLE_HEADS.intersection(tokens.words)

    def _word_at(self, pos: int) -> int:
        """The word at offset `pos` of `text` (or the one before, on a space): word k follows the (k + 1)th
        space, words hold no space, so that is the count of spaces before `pos`, less one."""
        return max(self.text.count(" ", 0, pos) - 1, 0)

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) range of the normalised text back to the original string."""
        if not self.tokens.words:
            return (0, 0)
        spaces = self.text.count(" ", 0, start)  # `_word_at(start)`, then on from there to the end
        first = max(spaces - 1, 0)
        spaces += self.text.count(" ", start, max(end - 1, start))
        return (self.tokens.starts[first], self.tokens.ends[max(spaces - 1, first)])

    def find(self, phrase: str) -> int:
        """Offset of the whole-word `phrase` (already normalised), or -1."""
        head = phrase.partition(" ")[0]
        if head in _NEEDLE_HEADS and head not in self.heads:
            return -1
        idx = self.text.find(" " + phrase + " ")
        return idx + 1 if idx >= 0 else -1

    def contains(self, needle: str) -> bool:
        """`needle in self.text` for a needle that starts a word (" gnu ", " creative commons ", " mit licen",
        " eu"): when its first word is whole and one of `_NEEDLE_HEADS`, a set lookup answers or rules the
        text out before any scan."""
        head, whole, rest = needle[1:].partition(" ")
        if not whole or head not in _NEEDLE_HEADS:  # " eu" (the start of a word), or a head not kept
            return needle in self.text
        return head in self.heads and (not rest or needle in self.text)


def _finditer_at(pattern: re.Pattern, text: str, literals: tuple[str, ...]) -> Iterator[re.Match]:
    """`pattern.finditer(text)` for a pattern each of whose matches begins with one of `literals` (after a
    \\b or a lookbehind, which `match` still checks against the text before it): the same matches, but
    str.find finds the few places to try instead of the pattern being tried at every position."""
    return _finditer_from(pattern, text, sorted(i for literal in literals for i in _occurrences(text, literal)))


def _finditer_from(pattern: re.Pattern, text: str, starts: Iterable[int]) -> Iterator[re.Match]:
    """`pattern.finditer(text)` for a pattern whose matches can only begin at the sorted `starts`."""
    end = 0
    for i in starts:
        if i >= end:
            m = pattern.match(text, i)
            if m:
                end = m.end()
                yield m


def _occurrences(text: str, literal: str) -> Iterator[int]:
    i = text.find(literal)
    while i >= 0:
        yield i
        i = text.find(literal, i + 1)


# --------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LicenseMatch:
    """One license found in a text, with where and how it was found.

    `spdx`: SPDX id or expression (current ids); `start`/`end`: character span in the text; `score`: the
    matched fraction of the rule or template (1.0 for exact rule and template matches; our regex notices
    give 0.6-0.95 by how complete they are, e.g. a CC notice without a version); `rule`: the ScanCode rule
    identifier, "licenseclassifier:<id>", "spdx-identifier", "cc-link", "cc-notice", "curate-notice:<id>"...;
    `kind`: one of `KINDS`; `category`: see curate.license.categories; `evidence`: a short snippet.
    """

    spdx: str
    start: int
    end: int
    score: float
    rule: str
    kind: str
    category: str
    evidence: str

    @property
    def confidence(self) -> float:  # the name used before `score`
        return self.score

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (for manifests' `detail`)."""
        return {f: getattr(self, f) for f in _MATCH_FIELDS}  # asdict, without deep-copying str and float


_MATCH_FIELDS = tuple(LicenseMatch.__dataclass_fields__)


def _snippet(text: str, start: int, end: int) -> str:
    snippet = " ".join(text[start:end].split())
    return snippet if len(snippet) <= EVIDENCE_CHARS else snippet[: EVIDENCE_CHARS - 1] + "…"


def _match(text: str, spdx: str, kind: str, start: int, end: int, score: float, rule: str) -> LicenseMatch:
    return LicenseMatch(spdx, start, end, score, rule, kind, category(spdx), _snippet(text, start, end))


# --------------------------------------------------------------------------------------------------
# SPDX-License-Identifier lines
# --------------------------------------------------------------------------------------------------

_SPDX_LINE = re.compile(r"SPDX-License-Identifier\s*:\s*(?P<expr>[^\r\n]+)", re.IGNORECASE)
# comment closers and quotes that may trail the expression on the same line
_SPDX_TAIL = re.compile(r"\s*(?:\*/|-->|\*\)|#\}|%\}|\"\"\"|'''|[\"';,])+\s*$")


def _spdx_identifiers(text: str, present: set[str]) -> Iterator[LicenseMatch]:
    if "spdx-license-identifier" not in present:
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
        yield _match(text, str(parsed), "spdx-identifier", m.start(), m.start("expr") + len(expr), 1.0,
                     "spdx-identifier")

# --------------------------------------------------------------------------------------------------
# GNU and other license notices (regexes over folded words)
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
    (" mozilla ", re.compile(r"\bthis source code form is subject to the terms of the mozilla public license "
                             r"v ?2 0\b"), _fixed("MPL-2.0"), 0.9),
    (" eclipse ", re.compile(r"\bunder the (?:terms of the )?eclipse public license (?:v ?|version )?"
                             r"(?P<v>[12]) 0\b"), lambda m: f"EPL-{m.group('v')}.0", 0.9),
    (" eu", re.compile(r"\b(?:under|by) the (?:eupl|european union public licence) (?:v ?|version )?"
                             r"1 (?P<v>[12])\b"), lambda m: f"EUPL-1.{m.group('v')}", 0.85),
    (" boost ", re.compile(r"\bunder the boost software license version 1 0\b"), _fixed("BSL-1.0"), 0.9),
    (" artistic ", re.compile(r"\bunder the (?:terms of the )?artistic license 2 0\b"), _fixed("Artistic-2.0"),
     0.85),
    (" mit licen", re.compile(r"\b(?:licensed|released|distributed|available|published|licenced) under (?:the )?"
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
    for needle, pattern, to_id, score in _HEADERS:
        if not norm.contains(needle):
            continue
        for m in pattern.finditer(norm.text):
            spdx = to_id(m)
            if spdx:
                yield _match(text, spdx, "notice", *norm.original_span(m.start(), m.end()), score,
                             "curate-notice:" + spdx)


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


# A license name inside running prose ("our post compares CC BY and CC BY-NC licenses") is a mention; it is a
# statement when it stands alone (a caption, a badge, a footer line, after a colon or a separator), or when
# the words before it in its sentence state a license ("available under", "licensed", "Lizenz", "©").
_BOUNDARY = re.compile(r"[.,!?\n\r|/>·•–—:;(\[]")
_LAST_BOUNDARY = re.compile(r"(?s:.*)" + _BOUNDARY.pattern)  # matches up to the end of the last boundary
_STATED_WORDS = frozenset({
    "licensed", "licenced", "license", "licence", "licenses", "licences", "licensing", "released", "distributed",
    "available", "published", "provided", "shared", "under", "covered", "governed", "subject", "terms",
    "lizenziert", "lizenz", "lizenzvertrag", "unter", "licencia", "licenciado", "licenza", "concesso", "sotto",
    "licenza", "distribuita", "licentie", "disposition", "termes", "selon", "bajo", "sous", "onder",
    "rights", "copyright", "photo", "image", "foto", "bild", "text", "texte", "credit", "source",
})
STATED_MAX_PREFIX_WORDS = 0


# a reference whose own words state it ("released under the GPL") needs no context
_STATING_VERBS = frozenset({"licensed", "licenced", "released", "distributed", "available", "published", "under",
                            "covered", "governed", "subject"})
_STATED_AFTER = frozenset({"licensed", "licenced", "lizenziert", "licenciado", "licenziato"})


def _stated(text: str, start: int, end: int | None = None) -> bool:
    """Is the license name at `start` stated (see above) rather than mentioned in a sentence?"""
    if end is not None and _STATED_AFTER & set(normalize_phrase(text[end:end + 40]).split()[:2]):
        return True  # "Images are CC-BY 4.0 licensed."
    lo = max(start - 200, 0)
    prefix = text[lo:start]
    last = _LAST_BOUNDARY.match(prefix)
    cut = last.end() if last else 0 if lo == 0 else -1
    if cut < 0:  # a 200-character run without a boundary: running prose
        return False
    prefix = prefix[cut:]
    if "©" in prefix or "(c)" in prefix.lower():
        return True
    words = normalize_phrase(prefix).split()
    return len(words) <= STATED_MAX_PREFIX_WORDS or any(w in _STATED_WORDS for w in words)


# Every _CC_LINK match begins with "creativecommons.org/", each character of which matches one character of
# the text (IGNORECASE included), the last only "/": the match starts this many characters before a "/".
_CC_LINK_SLASH = len("creativecommons.org")


def _cc_link_matches(text: str) -> Iterator[re.Match]:
    """`_CC_LINK.finditer(text)`, tried only before the "/" signs (the case-insensitive pattern has no
    literal prefix for the regex engine to skip ahead with)."""
    return _finditer_from(_CC_LINK, text, (i - _CC_LINK_SLASH for i in _occurrences(text, "/")
                                           if i >= _CC_LINK_SLASH))


@lru_cache(maxsize=4096)  # a page's footer link comes back on every page of its site
def _cc_link_id(kind: str, version: str | None, port: str | None) -> str | None:
    return cc_id(kind.split("-"), version, port)


def _cc_links(text: str, present: set[str]) -> Iterator[LicenseMatch]:
    for m in (_cc_link_matches(text) if "creativecommons.org/" in present else ()):
        if m.group("pd"):
            spdx = "CC0-1.0" if m.group("pd").lower() == "zero" else "CC-PDM-1.0"
            yield _match(text, spdx, "cc-link", m.start(), m.end(), 0.95, "cc-link")
            continue
        spdx = _cc_link_id(m.group("type"), m.group("ver"), m.group("port"))
        if spdx:
            yield _match(text, spdx, "cc-link", m.start(), m.end(), 0.95 if m.group("ver") else 0.7,
                             "cc-link")
    for m in _finditer_at(_CC_SHORT, text, ("CC",)):
        spdx = cc_id(re.split(r"[ -]", m.group("type")), m.group("ver"))
        if spdx and _stated(text, m.start(), m.end()):
            yield _match(text, spdx, "cc-notice", m.start(), m.end(), 0.9 if m.group("ver") else 0.6,
                         "cc-notice")
    for m in _finditer_at(_CC0_SHORT, text, ("CC0",)) if "cc0" in present else ():  # "CC0" lower-cased
        if not _stated(text, m.start(), m.end()):
            continue
        yield _match(text, "CC0-1.0", "cc-notice", m.start(), m.end(), 0.8, "cc-notice")


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


@lru_cache(maxsize=4096)  # the same few notices come back on page after page
def _cc_notice_id(rest: str, version: str | None) -> str | None:
    """SPDX id of a CC notice from the words after "Attribution" (`rest`) and its version ("4 0")."""
    rest = " " + rest + " "
    elements = ["BY"] + [el for el, words in _CC_ELEMENT_WORDS.items() if any(f" {w} " in rest for w in words)]
    return cc_id(elements, version.replace(" ", ".") if version else None)


def _cc_notices(text: str, norm: NormalizedText) -> Iterator[LicenseMatch]:
    if not norm.contains(" creative commons "):
        return
    for m in _finditer_at(_CC_NOTICE, norm.text, ("creative commons ",)):
        ver = m.group("ver")
        spdx = _cc_notice_id(m.group("rest"), ver)
        if not spdx:
            continue
        span = norm.original_span(m.start(), m.end())
        if _stated(text, *span):
            yield _match(text, spdx, "cc-notice", *span, 0.9 if ver else 0.6,
                         "cc-notice")
    pos = norm.find("cc0 1 0 universal")
    if pos >= 0:
        yield _match(text, "CC0-1.0", "cc-notice", *norm.original_span(pos, pos + 17), 0.9, "cc-notice")

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
_RIGHTS_RESERVED_PHRASES = ("all rights reserved", "alle rechte vorbehalten", "tous droits reserves",
                             "tutti i diritti riservati", "todos los derechos reservados",
                             "alle rechten voorbehouden")
_RIGHTS_RESERVED = re.compile(r"\b(?:" + "|".join(_RIGHTS_RESERVED_PHRASES) + r")\b")

_PUBLIC_DOMAIN_NEEDLES = (" public domain ", " gemeinfrei ", " domaine public ")
_RIGHTS_RESERVED_NEEDLES = (" reserved ", " vorbehalten ", " reserves ", " riservati ", " reservados ",
                            " voorbehouden ")


def _notices(text: str, norm: NormalizedText) -> Iterator[LicenseMatch]:
    if any(map(norm.contains, _PUBLIC_DOMAIN_NEEDLES)):
        for m in _PUBLIC_DOMAIN.finditer(norm.text):
            yield _match(text, PUBLIC_DOMAIN, "public-domain", *norm.original_span(m.start(), m.end()), 0.8,
                         "public-domain")
    if not any(map(norm.contains, _RIGHTS_RESERVED_NEEDLES)):
        return
    for m in _finditer_at(_RIGHTS_RESERVED, norm.text, _RIGHTS_RESERVED_PHRASES):
        yield _match(text, ALL_RIGHTS_RESERVED, "rights-reserved", *norm.original_span(m.start(), m.end()), 0.9,
                     "rights-reserved")

# The first words of the needles above (NormalizedText.contains, .find)
_NEEDLE_HEADS = frozenset(needle[1:].partition(" ")[0] for needle in (
    *(h[0] for h in _HEADERS), " creative commons ", " cc0 ", *_PUBLIC_DOMAIN_NEEDLES, *_RIGHTS_RESERVED_NEEDLES))

# --------------------------------------------------------------------------------------------------
# ScanCode rules, with the post-filter for short weak rules
# --------------------------------------------------------------------------------------------------

_RULE_KIND = {"license-text": "license-text", "notice": "notice", "reference": "reference", "tag": "tag"}
# A short rule ("the GPL", "MIT license", "BSD") is a license statement only when a verb of licensing comes
# within STATEMENT_WINDOW tokens before it ("licensed under the MIT license", "released under the GPL",
# "distributed under the terms of the BSD license"), or a label right before it ("License: MIT",
# "@license MIT", "SPDX"). "This article discusses the GPL" or "the MIT license is popular" name a license
# without stating that the text is under it.
WEAK_RULE_TOKENS = 4
STATEMENT_WINDOW = 6
_STATEMENT_VERBS = frozenset({
    "licensed", "licenced", "relicensed", "released", "distributed", "redistributed", "available", "published",
    "provided", "covered", "governed", "dual", "lizenziert", "veroffentlicht", "licenciado", "distribue",
    "rilasciato", "distribuito",
})
_COPULAS = frozenset({"is", "are", "be", "was", "were", "remains", "stays", "falls", "ist", "sind", "est", "sont"})
_LABELS = frozenset({"license", "licence", "licenses", "licences", "lizenz", "licencia", "licenza", "spdx"})
_URL_START = frozenset({"http", "https", "www", "ftp"})


# between a label and the license name: "License: MIT", "@license MIT", "license = 'MIT'", '"license": "MIT"';
# not a comparison or a list in code (`license == "MIT"`, `LICENSES = ["MIT", ...]`)
_LABEL_GAP = re.compile(r"""\s*["']?\s*(?::|=(?!=))?\s*["']?\s*""")


_LINE_START = re.compile(r"[^\w\n]*")


def _label_gap(tokens: "_rules.Tokens", label: int) -> bool:
    """Is the text between token `label` and the next token a label separator? Bare spaces are one only
    when the label starts its line ("@license MIT", "# License GPL"), not inside a sentence ("... mises
    sous licence GPL par l'éditeur", about some other software)."""
    if not tokens.text or label + 1 >= len(tokens.words):
        return True
    text = tokens.text
    gap = text[tokens.ends[label]:tokens.starts[label + 1]]
    if _LABEL_GAP.fullmatch(gap) is None:
        return False
    if gap.strip():
        return True
    start = tokens.starts[label]
    line = text.rfind("\n", 0, start) + 1
    return _LINE_START.fullmatch(text, line, start) is not None


def _is_statement(tokens: "_rules.Tokens", hit: "_rules.RuleHit") -> bool:
    words = tokens.words
    if any(w in _STATEMENT_VERBS for w in words[hit.tstart:hit.tend]):
        return True
    if words[hit.tstart] in _LABELS and hit.tend - hit.tstart > 1 and _label_gap(tokens, hit.tstart):
        return True  # "License: MIT" (a tag rule that holds the label)
    if hit.tstart > 0 and words[hit.tstart - 1] in _LABELS and _label_gap(tokens, hit.tstart - 1):
        return True  # a label right before the rule
    before = words[max(hit.tstart - STATEMENT_WINDOW, 0):hit.tstart]
    if any(w in _STATEMENT_VERBS for w in before):
        return True
    # "This file is under the PSF license": a copula + "under" right before the name
    k = hit.tstart
    while k > 0 and words[k - 1] in ("the", "a", "an"):
        k -= 1
    return k >= 2 and words[k - 1] == "under" and words[k - 2] in _COPULAS


LONG_RULE_TOKENS = 20
URL_AFTER_NOTICE_CHARS = 300


def _keeps(hit: "_rules.RuleHit", tokens: "_rules.Tokens") -> bool:
    """The post-filter: does this exact rule hit count as a license match?"""
    rule = hit.rule
    if rule.kind not in _RULE_KIND or not hit.spdx:  # false positives, intros, clues, unknown/generic
        return False
    if rule.relevance < 50:
        return False
    if tokens.words[hit.tstart] in _URL_START:
        return True
    return rule.length > WEAK_RULE_TOKENS or _is_statement(tokens, hit)


EXCEPTION_WINDOW = 80  # tokens: an exception named this close after a license notice modifies it


def _is_exception(hit: "_rules.RuleHit") -> bool:
    info = _rules.index().licenses.get(hit.rule.expression)
    return info is not None and info.is_exception


def _with_exceptions(hits: list, tokens: "_rules.Tokens") -> list:
    """ "GPL version 2 only ... subject to the "Classpath" exception" -> one hit `GPL-2.0-only WITH
    Classpath-exception-2.0`. An exception is not a license: alone, it is dropped."""
    out: list = []
    for hit in hits:
        if not _is_exception(hit):
            out.append(hit)
            continue
        if not hit.spdx:  # an exception SPDX has no id for (a LicenseRef): it cannot join an expression
            continue
        base = next((h for h in reversed(out) if hit.tstart - h.tend <= EXCEPTION_WINDOW and h.spdx
                     and " " not in h.spdx and _keeps(h, tokens)), None)
        if base is not None:
            out[out.index(base)] = _rules.RuleHit(base.rule, f"{base.spdx} WITH {hit.spdx}", base.tstart,
                                                  hit.tend, base.start, hit.end)
    return out


_OR_LATER = (("or", "later"), ("or", "any", "later"), ("or", "newer"), ("or", "above"), ("and", "later"),
             ("or", "any", "later", "version"), ("or", "later", "version"))


def _or_later(hits: list, tokens: "_rules.Tokens") -> list:
    """ "licensed under GPLv3 or later": a rule that names "-only" followed by "or later" -> "-or-later"."""
    words = tokens.words
    out = []
    for h in hits:
        if h.spdx.endswith("-only") and " " not in h.spdx:
            after = tuple(words[h.tend:h.tend + 4])
            for phrase in sorted(_OR_LATER, key=len, reverse=True):
                if after[:len(phrase)] == phrase:
                    later = h.spdx[: -len("-only")] + "-or-later"
                    if later.lower() in scancode_index():
                        n = h.tend + len(phrase)
                        h = _rules.RuleHit(h.rule, later, h.tstart, n, h.start, tokens.ends[n - 1])
                    break
        out.append(h)
    return out


_CHOICE_GAP = frozenset({"or", "the", "under", "either", "at", "your", "option"})


def _dual(hits: list, tokens: "_rules.Tokens") -> list:
    """ "under either of Apache License, Version 2.0 or MIT license at your option" -> one hit
    `Apache-2.0 OR MIT`: two licenses joined by "or" (at most 3 words between them) are a choice."""
    words = tokens.words
    out: list = []
    for h in hits:
        prev = out[-1] if out else None
        if prev is not None and prev.spdx and h.spdx and " " not in h.spdx and _keeps(prev, tokens) \
                and 0 < h.tstart - prev.tend <= 3 and "or" in words[prev.tend:h.tstart] \
                and all(w in _CHOICE_GAP for w in words[prev.tend:h.tstart]) and h.spdx != prev.spdx:
            out[-1] = _rules.RuleHit(prev.rule, f"{prev.spdx} OR {h.spdx}", prev.tstart, h.tend, prev.start, h.end)
            continue
        out.append(h)
    return out


def _rule_matches(text: str, tokens: "_rules.Tokens", hits: list) -> Iterator[tuple["_rules.RuleHit", LicenseMatch]]:
    for hit in _dual(_or_later(_with_exceptions(hits, tokens), tokens), tokens):
        if not _keeps(hit, tokens):
            continue
        rule = hit.rule
        kind = "url" if tokens.words[hit.tstart] in _URL_START else _RULE_KIND[rule.kind]
        if kind in ("reference", "tag") and hit.spdx.startswith("CC") and not _stated(text, hit.start, hit.end):
            continue  # "the CC BY-NC license" in a sentence names it; see _stated
        if kind == "reference" and not any(map(str.isdigit, text[hit.start:hit.end])) \
                and not _STATING_VERBS & set(tokens.words[hit.tstart:hit.tend]) and not _stated(text, hit.start, hit.end):
            continue  # "Even though the GNU General Public License does not require..." names it too
        if category(hit.spdx) == "public-domain" and hit.spdx.startswith("LicenseRef-scancode-"):
            kind = "public-domain"  # ScanCode files dedications ("is in the public domain") as texts
        try:
            spdx = canonical_spdx(hit.spdx)
        except ValueError:
            spdx = hit.spdx
        yield hit, _match(text, spdx, kind, hit.start, hit.end, 1.0, rule.identifier)


# --------------------------------------------------------------------------------------------------
# Full license texts: licenseclassifier
# --------------------------------------------------------------------------------------------------

# Words of license texts; licenseclassifier runs when at least FULL_TEXT_MIN_WORDS of them occur.
_FULL_TEXT_WORDS = ("permission", "warrant", "liabil", "redistribut", "licen", "copyright", "condition",
                    "notice", "damages", "distribut", "software", "rights")
FULL_TEXT_MIN_WORDS = 3
NOTICE_WINDOW_CHARS = 600  # characters read on either side of a keyword in a text with ...
NOTICE_MAX_KEYWORDS = 4  # ... this few keyword occurrences (license texts have many more)

FULL_TEXT_MAX_CHARS = 200_000
CLASSIFIER_MARGIN = 1_000  # characters around the rule hits given to licenseclassifier
SKIP_CLASSIFIER_COVERAGE = 0.99  # a ScanCode text this complete over ...
SKIP_CLASSIFIER_SPAN = 0.95  # ... this share of the document's tokens makes licenseclassifier redundant
FULL_TEXT_MIN_TOKENS = 100


def _full_text_candidate(present: set[str]) -> bool:
    return sum(w in present for w in _FULL_TEXT_WORDS) >= FULL_TEXT_MIN_WORDS


_COPYRIGHT_LINE = re.compile(
    r"[^\w\n]*(?:copyright\b|\(c\)|©|all rights reserved|do not alter or remove)[^\n]*\n"
    r"|[^\w\n]*[A-Z][\w-]{0,30}(?: [\w-]+){0,2}:[^\n]*\n"  # "Files: ...", "License: ...", "Upstream-Name: ..."
    r"|[^\w\n]*\n", re.IGNORECASE)


def _without_copyright_lines(text: str, m):
    """licensecheck extends a match back over the copyright lines before it; the license starts after them
    (so that a ScanCode notice on the same lines is compared on the license words alone)."""
    start = m.start
    while start < m.end:
        line = _COPYRIGHT_LINE.match(text, start)
        if not line or line.end() >= m.end:
            break
        start = line.end()
    return type(m)(m.id, start, m.end) if start != m.start else m


def _classifier_windows(text: str, hits: list) -> list[tuple[int, int]]:
    """Where licenseclassifier looks: around the exact rule hits (license words sit there; a long source
    file is not re-tokenised whole), or the start of the text when no rule matched."""
    if not hits:
        return [(0, min(len(text), FULL_TEXT_MAX_CHARS))]
    windows: list[tuple[int, int]] = []
    for h in sorted(hits, key=lambda h: h.start):
        a, b = max(h.start - CLASSIFIER_MARGIN, 0), min(h.end + CLASSIFIER_MARGIN, len(text))
        if windows and a <= windows[-1][1]:
            windows[-1] = (windows[-1][0], b)
        else:
            windows.append((a, b))
    return windows


def _full_texts(text: str, present: set[str], tokens: "_rules.Tokens", hits: list,
                seen: set[str]) -> list[LicenseMatch]:
    """ScanCode's license texts by token-bigram containment (candidates: the licenses that the exact rule
    hits name, and their other versions), and licenseclassifier's template matches, which are skipped when
    one ScanCode text already explains nearly the whole document (licenseclassifier costs most here)."""
    if not _full_text_candidate(present):
        return []
    out = []
    approx = _rules.approximate(tokens, seen)
    for a in approx:
        try:
            spdx = canonical_spdx(a.spdx)
        except ValueError:
            spdx = a.spdx
        out.append(_match(text, spdx, "license-text", a.start, a.end, round(a.coverage, 3), a.rule.identifier))
    n = len(tokens.words)
    if approx and approx[0].coverage >= SKIP_CLASSIFIER_COVERAGE and \
            approx[0].tend - approx[0].tstart >= SKIP_CLASSIFIER_SPAN * n:
        return out
    from licenseclassifier import identify_license

    found = [(w0, m) for w0, w1 in _classifier_windows(text, hits)
             for m in identify_license(text[w0:w1], coverage_threshold=0.0)]
    for w0, m in found:
        try:
            spdx = canonical_spdx(m.id)
        except ValueError:
            continue
        m = _without_copyright_lines(text, type(m)(m.id, m.start + w0, m.end + w0))
        # licensecheck's templates include standard headers: a short match is a notice, not a full text
        kind = "license-text" if len(text[m.start:m.end].split()) >= FULL_TEXT_MIN_TOKENS else "notice"
        out.append(_match(text, spdx, kind, m.start, m.end, 1.0, "licenseclassifier:" + m.id))
    return out


# --------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------


def _sort_key(m: LicenseMatch) -> tuple:
    return (KIND_PRIORITY.get(m.kind, 99), -m.score, -(m.end - m.start), m.start)


def _overlap(a: LicenseMatch, b: LicenseMatch) -> int:
    return max(0, min(a.end, b.end) - max(a.start, b.start))


_VERSION_TAIL = re.compile(r"(?:-(?:only|or-later))?$")
_FAMILY_ID = re.compile(r"^([A-Za-z]+(?:-[A-Za-z]+)*?)(?:-\d.*)?$")


@lru_cache(maxsize=4096)
def _version_base(spdx: str) -> str:
    """"GPL-2.0-or-later" -> "GPL-2.0" (a few ids come back on every document: cached)."""
    return _VERSION_TAIL.sub("", spdx)


@lru_cache(maxsize=4096)
def spdx_family(spdx: str) -> str:
    """"GPL-2.0-or-later" -> "GPL", "LGPL-2.1-only" -> "LGPL", "Artistic-1.0-Perl" -> "Artistic"."""
    m = _FAMILY_ID.match(_version_base(spdx))
    return m.group(1) if m else spdx


def _drop_vague_references(text: str, matches: list[LicenseMatch]) -> list[LicenseMatch]:
    """A match without a version ("the GNU General Public License", "under the terms of the GNU General
    Public License as published by the Free Software Foundation", which ScanCode reads as GPL-1.0-or-later)
    only names the family, and a reference to the same version without "or later"
    ("/usr/share/common-licenses/GPL-2") only names the text. When another match of that family states the
    version (and whether "or later"), that statement is the license."""
    single = [m for m in matches if " " not in m.spdx.partition(" WITH ")[0] and m.kind != "rights-reserved"]
    versioned = [m for m in single if any(map(str.isdigit, text[m.start:m.end]))]
    families = {spdx_family(m.spdx.partition(" WITH ")[0]) for m in versioned}
    strong = {m.spdx for m in versioned if m.kind in ("spdx-identifier", "license-text", "notice", "tag")}
    strong_versions = {_version_base(s) for s in strong}

    def vague(m: LicenseMatch) -> bool:
        base, _, exception = m.spdx.partition(" WITH ")
        if " " in base or " " in exception or m.kind in ("rights-reserved", "spdx-identifier"):
            return False
        if not any(map(str.isdigit, text[m.start:m.end])):
            return spdx_family(base) in families and (not exception or m.kind == "reference")
        if exception:
            return False
        return m.kind in ("reference", "url") and m.spdx not in strong \
            and _version_base(m.spdx) in strong_versions

    return [m for m in matches if not vague(m)]


def _merge_exceptions(matches: list[LicenseMatch]) -> list[LicenseMatch]:
    """ "GPL ... either version 3, or (at your option) any later version" and, below it, "Under Section 7 of
    GPL version 3, you are granted additional permissions described in the GCC Runtime Library Exception"
    are one license: GPL-3.0-or-later WITH GCC-exception-3.1 (the notice decides "or later")."""
    out = list(matches)
    for m in matches:
        base, _, exception = m.spdx.partition(" WITH ")
        if not exception or " " in base or " " in exception or m not in out or m.kind == "spdx-identifier":
            continue  # an SPDX line is complete as it is
        version = _VERSION_TAIL.sub("", base)
        notice = next((n for n in out if n is not m and " " not in n.spdx and n.kind in ("notice", "license-text")
                       and _VERSION_TAIL.sub("", n.spdx) == version), None)
        if notice is None:
            continue
        merged = LicenseMatch(f"{notice.spdx} WITH {exception}", min(notice.start, m.start), max(notice.end, m.end),
                              min(notice.score, m.score), notice.rule + "+" + m.rule, "notice",
                              category(f"{notice.spdx} WITH {exception}"), notice.evidence)
        out = [x for x in out if x is not m and x is not notice] + [merged]
    return out


def _resolve(candidates: list[LicenseMatch], long_exact: list[LicenseMatch]) -> list[LicenseMatch]:
    """Drop what a stronger match covers: anything inside a long exact ScanCode rule (its authors' verdict on
    that very text) or inside a full license text is part of it; a rule hit that overlaps an SPDX
    identifier, a CC link/notice or a longer notice names the same place."""
    if long_exact:  # (the checks below are skipped where their lists are empty, as they mostly are)
        candidates = [m for m in candidates if not any(
            e is not m and e.start <= m.start and m.end <= e.end and (e.end - e.start) > (m.end - m.start)
            for e in long_exact)]
    texts = [m for m in candidates if m.kind == "license-text"]
    fixed = [m for m in candidates if m.kind in ("spdx-identifier", "cc-link", "cc-notice")]
    kept = []
    for m in candidates:
        if texts and m.kind != "license-text" and any(t.start <= m.start and m.end <= t.end for t in texts):
            continue
        if m.kind == "license-text" and any(t is not m and _overlap(t, m) > 0.5 * (m.end - m.start)
                                            and (t.end - t.start) > (m.end - m.start) for t in texts):
            continue  # two full texts over the same place: the longer match explains more of it
        if fixed and m.rule not in ("spdx-identifier", "cc-link", "cc-notice") and m.kind != "license-text" and any(
                f.start < m.end and m.start < f.end for f in fixed):
            continue
        kept.append(m)
    # a license URL right after a notice is where that notice says the terms are ("Licensed under the
    # Apache License 2.0 ... or at https://www.openssl.org/source/license.html"), not a second license
    notices = [m for m in kept if m.kind in ("notice", "license-text")]
    if notices:
        kept = [m for m in kept if not (m.kind == "url" and any(0 <= m.start - n.end <= URL_AFTER_NOTICE_CHARS
                                                               for n in notices))]
    # overlapping notices/references that disagree: the longer span wins
    out = []
    for m in kept:
        if m.kind in ("notice", "reference", "tag", "url") and any(
                o is not m and o.kind in ("notice", "reference", "tag", "url") and o.start < m.end
                and m.start < o.end and (o.end - o.start) > (m.end - m.start) for o in kept):
            continue
        out.append(m)
    return out


def detect_matches(text: str) -> list[LicenseMatch]:
    """All licenses found in `text`, one match per SPDX id or expression (its strongest evidence), best first."""
    if not isinstance(text, str):
        raise TypeError(f"detect expects str, got {type(text).__name__}")
    if not _prefilter(text):
        return []
    return _detect_all(text)


detect_with_evidence = detect_matches  # the name used before detect_matches


# The lower-case strings whose presence decides a step: the keywords, around which a text is read, the
# words of license texts, the starts of SPDX lines and CC links. One RE2 set scan finds which of them
# occur (a DFA over all of them at once, where `in` scans the text once per string); RE2 reads UTF-8, in
# which a string occurs exactly where its characters do.
_LITERALS = tuple(dict.fromkeys(_PREFILTER_KEYWORDS + _FULL_TEXT_WORDS + ("spdx-license-identifier",
                                                                           "creativecommons.org/")))


@lru_cache(maxsize=1)
def _literal_set() -> "re2.Set":
    literals = re2.Set.SearchSet()
    for literal in _LITERALS:
        literals.Add("".join(c if c.isalnum() else f"\\x{{{ord(c):x}}}" for c in literal))
    literals.Compile()
    return literals


def _present(lowered: str) -> set[str]:
    """The strings of `_LITERALS` that occur in `lowered`."""
    try:
        found = _literal_set().Match(lowered)
    except UnicodeEncodeError:  # lone surrogates cannot go to RE2
        found = None
    if found is None:  # nothing found (or a failed search, which RE2 reports alike): the plain scans
        return {w for w in _LITERALS if w in lowered}
    return {_LITERALS[i] for i in found}


def _detect_all(text: str) -> list[LicenseMatch]:
    """Every detector, without the keyword gate (the benchmark's baseline)."""
    if text.startswith("\ufeff"):
        text = " " + text[1:]  # keep offsets while dropping the BOM from evidence
    lowered = text.lower()
    # Long texts are read around their license words only (the gate's keywords; a window is wide enough
    # for any notice, and full license texts are dense with these words, so their windows merge). Texts
    # with a few license keywords far apart (prose that says "license" or "creative" once, a page with a
    # copyright footer) hold at most notices, not a license text: narrow windows around those keywords find
    # the same matches, and full-text matching is skipped. A text whose keywords are many or cover most of
    # it (a short license, a license text in another language) is read whole.
    # (a text read whole needs no points, only to know there are more than NOTICE_MAX_KEYWORDS)
    present = _present(lowered)  # which keywords and other deciding strings occur (one RE2 scan)
    points = _rules.keyword_points(lowered, tuple(k for k in _PREFILTER_KEYWORDS if k in present),
                                   NOTICE_MAX_KEYWORDS + 1 if len(text) <= WINDOWED_CHARS else None)
    windows, sparse = None, False
    if len(points) <= NOTICE_MAX_KEYWORDS:
        windows = _rules.windows_around(points, len(text), NOTICE_WINDOW_CHARS)
        sparse = sum(b - a for a, b in windows) <= len(text) // 2
    if not sparse:
        windows = _rules.windows_around(points, len(text)) if len(text) > WINDOWED_CHARS else None
    tokens = _rules.tokenize(text, windows)
    norm = NormalizedText(text, tokens)
    seen: set[str] = set()
    hits = _rules.find(tokens, seen)
    pairs = list(_rule_matches(text, tokens, hits))
    exact = [m for _, m in pairs]
    long_exact = [m for h, m in pairs if h.tend - h.tstart >= LONG_RULE_TOKENS]
    full = [] if sparse else _full_texts(text, present, tokens, hits, seen)
    candidates = [*_spdx_identifiers(text, present), *full, *exact,
                  *_headers(text, norm), *_cc_links(text, present), *_cc_notices(text, norm),
                  *_notices(text, norm)]
    best: dict[str, LicenseMatch] = {}
    for m in sorted(_drop_vague_references(text, _merge_exceptions(_resolve(candidates, long_exact))),
                    key=_sort_key):
        best.setdefault(m.spdx, m)
    return sorted(best.values(), key=_sort_key)


def detect(text: str) -> list[str]:
    """SPDX ids or expressions found in `text`, best first; an empty list when no license is found."""
    return [m.spdx for m in detect_matches(text)]

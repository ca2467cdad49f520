"""Phone numbers via ``phonenumbers``, run only on windows around digit runs that could be one.

``phonenumbers.PhoneNumberMatcher`` is accurate but slow (a large regex plus parsing, once per region);
Presidio runs it over the whole text for each of 8 regions. We first find runs of at least 7 digits
joined by the separators phone numbers use, and hand the matcher only those runs plus a little context
(it looks at the characters around a candidate to reject numbers glued to letters).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import NamedTuple

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata
from phonenumbers.phonenumberutil import _formatting_rule_has_first_group_only

#: Regions tried for a document in a given language, most likely first. National-format numbers are
#: only recognised for these; numbers written with "+<country code>" are found whatever the region.
LANGUAGE_REGIONS: dict[str, tuple[str, ...]] = {
    "en": ("US", "GB", "AU", "IN", "IE"),
    "de": ("DE", "AT", "CH"),
    "fr": ("FR", "BE", "CH", "CA"),
    "it": ("IT", "CH"),
    "rm": ("CH",),
    "es": ("ES", "MX", "AR", "CO"),
    "pt": ("PT", "BR"),
    "nl": ("NL", "BE"),
    "pl": ("PL",), "cs": ("CZ",), "sk": ("SK",), "sl": ("SI",), "hr": ("HR",), "sr": ("RS",),
    "hu": ("HU",), "ro": ("RO",), "bg": ("BG",), "el": ("GR", "CY"), "da": ("DK",), "sv": ("SE", "FI"),
    "nb": ("NO",), "no": ("NO",), "nn": ("NO",), "fi": ("FI",), "et": ("EE",), "lv": ("LV",),
    "lt": ("LT",), "ga": ("IE",), "mt": ("MT",), "lb": ("LU",), "is": ("IS",), "ca": ("ES", "AD"),
    "tr": ("TR",), "ru": ("RU",), "uk": ("UA",), "he": ("IL",), "ar": ("SA", "EG", "AE", "MA"),
    "ja": ("JP",), "zh": ("CN", "TW", "HK"), "ko": ("KR",), "hi": ("IN",), "id": ("ID",), "vi": ("VN",),
    "th": ("TH",),
}
#: Used for a language we have no mapping for: numbers in international format only.
INTERNATIONAL_ONLY = ("ZZ",)

# >= 7 digits; between two digits at most 3 characters of phone punctuation (no newlines). The pattern
# starts with a plain digit class (the regex engine skips to digits quickly) and only at the first digit
# of a number: a run starting later in the same number holds fewer digits, so it fails too. A leading
# "+" or "(" is added back by digit_runs. Possessive repeats: separators and digits are disjoint, so
# giving back a separator or a group never lets the run match otherwise (and a failed try ends sooner).
_RUN = re.compile(r"\d(?<!\d\d)(?:[ \t\u00a0\u202f().\-/]{0,3}+\d){6,}+")
_DIGITS = re.compile(r"\d+")
_BEFORE, _AFTER = 3, 12  # context handed to the matcher around each run
_DOTTED_QUAD = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_JOINERS = "-./:"


def _glued(text: str, start: int, end: int) -> bool:
    """True when a match is one piece of a longer code: a dotted quad (an IP-like run), or joined by
    ``-./:`` to a further letter/digit after it (``01-23-45-67-89-AB`` is a MAC address) or to a digit
    before it."""
    if _DOTTED_QUAD.fullmatch(text, start, end):
        return True
    if end + 1 < len(text) and text[end] in _JOINERS and text[end + 1].isalnum():
        return True
    return start >= 2 and text[start - 1] in _JOINERS and text[start - 2].isdigit()


def regions_for(language: str, region: str | Iterable[str] | None = None) -> tuple[str, ...]:
    """Regions to try: the explicit ``region`` (one code or several), else the language's list.

    A language tag with a region (``de-CH``, ``fr_BE``) puts that region first.
    Raises ValueError for a region phonenumbers does not know.
    """
    if region is not None and not isinstance(region, str):
        region = tuple(region)
    return _regions_for(language, region)


@lru_cache(maxsize=1024)
def _regions_for(language: str, region: str | tuple[str, ...] | None) -> tuple[str, ...]:
    if region is not None:
        wanted = (region,) if isinstance(region, str) else region
    else:
        base, _, sub = language.replace("_", "-").partition("-")
        wanted = LANGUAGE_REGIONS.get(base.lower(), INTERNATIONAL_ONLY)
        if len(sub) == 2:
            wanted = (sub.upper(),) + tuple(r for r in wanted if r != sub.upper())
    out = []
    for code in wanted:
        code = code.upper()
        if code == "UK":
            code = "GB"  # common alias, as Presidio's old default list used
        if code != "ZZ" and code not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown phone region {code!r} (expected an ISO 3166 alpha-2 code)")
        out.append(code)
    if not out:
        raise ValueError("region must name at least one region")
    return tuple(dict.fromkeys(out))


# Runs that are certainly not phone numbers: dates (12.03.2021, 2021-03-12) and amounts with
# thousands separators (1.250.000, 1 250 000); checked before any phonenumbers work.
_NOT_PHONE = re.compile(
    r"(?:\d{1,2}([./-])\d{1,2}\1(?:19|20)\d\d|(?:19|20)\d\d([./-])\d{1,2}\2\d{1,2}"
    r"|[1-9]\d{0,2}([.,' \u00a0\u202f])\d{3}(?:\3\d{3})+"
    r"|97[89]-\d{1,5}-\d{1,7}-\d{1,7}-\d)"  # ISBN-13
)
_MAX_GROUPS = 12
_NUMBER_TYPES = ("fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost", "personal_number",
                 "voip", "pager", "uan", "voicemail")


class _Rules(NamedTuple):
    """What the prefilter needs of one region, compiled once."""
    lengths: frozenset[int]  # digit counts of a national-format number, with or without the prefix
    general: re.Pattern[str]  # valid national number: one of the number-type patterns
    npfp: re.Pattern[str] | None  # national prefix for parsing
    idd: re.Pattern[str] | None  # international dialling prefix
    # phonenumbers' formatting rules in its order: (leading digits, pattern, national prefix required)
    formats: tuple[tuple[re.Pattern[str] | None, re.Pattern[str], bool], ...]
    loose: re.Pattern[str]  # "(prefix)?(valid number)": one regex that every fitting number matches


def _national_lengths(meta) -> frozenset[int]:
    lengths = set(meta.general_desc.possible_length or range(2, 18))
    prefix = len(meta.national_prefix or "")
    if meta.national_prefix_for_parsing and not (meta.national_prefix or "").isdigit():
        return frozenset(range(2, 20))  # complex prefix rules: do not gate on length
    if meta.national_prefix_for_parsing and meta.national_prefix_for_parsing != meta.national_prefix:
        return frozenset(range(2, 20))
    return frozenset(lengths | {n + prefix for n in lengths})


@lru_cache(maxsize=None)
def _rules(region: str) -> _Rules:
    """A valid number matches one of the region's number-type patterns (what is_valid_number checks)."""
    meta = PhoneMetadata.metadata_for_region(region)
    types = [getattr(meta, name) for name in _NUMBER_TYPES]
    patterns = [d.national_number_pattern for d in types if d is not None and d.national_number_pattern]
    general = re.compile("|".join(f"(?:{p})" for p in patterns) or meta.general_desc.national_number_pattern)
    npfp = meta.national_prefix_for_parsing or meta.national_prefix
    idd = meta.international_prefix
    formats = []
    for rule in meta.number_format:
        np_rule = rule.national_prefix_formatting_rule
        required = bool(np_rule) and not rule.national_prefix_optional_when_formatting \
            and not _formatting_rule_has_first_group_only(np_rule)
        leading = re.compile(rule.leading_digits_pattern[-1]) if rule.leading_digits_pattern else None
        formats.append((leading, re.compile(rule.pattern), required))
    loose = re.compile(f"(?:{npfp})?(?:{general.pattern})" if npfp else general.pattern)
    return _Rules(_national_lengths(meta), general, re.compile(npfp) if npfp else None,
                  re.compile(idd) if idd else None, tuple(formats), loose)


@lru_cache(maxsize=256)
def _any_region(regions: tuple[str, ...]) -> re.Pattern[str]:
    """One regex that every number fitting one of ``regions`` matches: their loose patterns joined."""
    return re.compile("|".join(f"(?:{_rules(r).loose.pattern})" for r in regions if r != "ZZ") or "(?!)")


def _prefix_required(rules: _Rules, nsn: str) -> bool:
    """Whether a national-format number must carry the national prefix (phonenumbers rejects it from
    Leniency.VALID up otherwise): its ``_is_national_prefix_present_if_required``, with the formatting
    rule chosen as its ``_choose_formatting_pattern_for_number`` does (first rule whose last leading
    digits pattern matches and whose pattern matches the whole number)."""
    for leading, pattern, required in rules.formats:
        if (leading is None or leading.match(nsn)) and pattern.fullmatch(nsn):
            return required
    return False


def _fits_region(digits: str, rules: _Rules, strict: bool = False) -> bool:
    """Necessary condition for a national-format number of a region: the digits, with or without
    the national prefix, match one of the region's number-type patterns. ``strict`` (leniency >= 1)
    also requires the national prefix where phonenumbers would."""
    if len(digits) not in rules.lengths or not rules.loose.fullmatch(digits):
        return False  # one regex call rejects most numbers
    m = rules.npfp.match(digits) if rules.npfp else None
    if m and m.end() and rules.general.fullmatch(digits[m.end():]):
        return True  # national prefix present and stripped: the common case, no prefix rule to check
    return bool(rules.general.fullmatch(digits)) and not (strict and rules.npfp and _prefix_required(rules, digits))


def _fits_international(digits: str) -> bool:
    """Necessary condition for ``<country code><national number>`` (the text had + or an IDD prefix)."""
    for size in (1, 2, 3):
        for region in COUNTRY_CODE_TO_REGION_CODE.get(int(digits[:size] or 0), ()):
            if region != "001" and _fits_region(digits[size:], _rules(region)):
                return True
    return False


def _sub_runs(groups: list[str]) -> list[tuple[bool, str]]:
    """Digit strings the matcher may try inside a run: the whole run, its prefixes and suffixes (it
    splits a failed candidate at separators and retries each side), and single groups; only those of
    5-17 digits, each once. Returns (starts at the first group, digits) pairs."""
    joined = "".join(groups)
    offsets = [0]
    for group in groups:
        offsets.append(offsets[-1] + len(group))
    n = len(groups)
    seen: dict[tuple[bool, str], None] = {}
    for i in range(n):
        for first, last in ((0, i + 1), (i, n), (i, i + 1)):
            if 5 <= offsets[last] - offsets[first] <= 17:
                seen[(first == 0, joined[offsets[first]:offsets[last]])] = None
    return list(seen)


def _plausible_regions(run: str, regions: Sequence[str], strict: bool) -> list[str]:
    """Regions worth handing to PhoneNumberMatcher for this run (empty: it holds no possible number).

    Only a cheap necessary condition is checked here (digits against the region's number patterns);
    phonenumbers decides.
    """
    groups = _DIGITS.findall(run)[:_MAX_GROUPS]
    plus = run.startswith("+")
    todo = [(region, _rules(region)) for region in regions if region != "ZZ"]
    any_region = _any_region(tuple(regions))
    wanted: list[str] = []
    for at_start, digits in _sub_runs(groups):
        if plus and at_start and _fits_international(digits):
            return list(regions[:1])  # found whatever the region: one matcher pass is enough
        if digits[0] != "0" and not any_region.fullmatch(digits):
            continue  # no region's number (and no IDD prefix, which starts with 0): one regex call
        for region, rules in todo:
            if region in wanted:
                continue
            if _fits_region(digits, rules, strict):
                wanted.append(region)
                continue
            m = rules.idd.match(digits) if rules.idd and digits[0] == "0" else None  # IDD prefixes start with 0
            if m and m.end() and _fits_international(digits[m.end():]):
                wanted.append(region)
    return wanted


def digit_runs(text: str) -> list[tuple[int, int]]:
    """(start, end) of runs of >= 7 digits joined by phone punctuation, with a "+" or "(" just before
    the first digit; every phone, card or AHV number lies in one."""
    runs = []
    for m in _RUN.finditer(text):
        start = m.start()
        if start and text[start - 1] in "+(":
            start -= 1
        runs.append((start, m.end()))
    return runs


def find_phones(
    text: str,
    regions: Sequence[str],
    leniency: int = 1,
    taken: Sequence[tuple[int, int]] = (),
    runs: Sequence[tuple[int, int]] | None = None,
) -> list[tuple[int, int]]:
    """Return (start, end) of phone numbers valid for one of ``regions`` (or in international format).

    ``leniency`` is phonenumbers' Leniency (0 possible, 1 valid, 2 strict grouping, 3 exact grouping);
    1 is Presidio's default. Digit runs lying inside a ``taken`` span (an IBAN, card or IP already
    found, which would win the overlap anyway) are skipped. ``runs`` passes ``digit_runs(text)`` when
    the caller already has it.
    """
    spans: set[tuple[int, int]] = set()
    n = len(text)
    for run_start, run_end in digit_runs(text) if runs is None else runs:
        run = text[run_start:run_end]
        if _NOT_PHONE.fullmatch(run):
            continue
        if any(s <= run_start and run_end <= e for s, e in taken):
            continue
        plausible = _plausible_regions(run, regions, leniency >= 1)
        if not plausible:
            continue
        w_start, w_end = max(0, run_start - _BEFORE), min(n, run_end + _AFTER)
        window = text[w_start:w_end]
        for region in plausible:
            covered = False
            for match in phonenumbers.PhoneNumberMatcher(window, region, leniency=leniency):
                start, end = w_start + match.start, w_start + match.end
                spans.add((start, end))
                covered |= start <= run_start and end >= run_end
            if covered:  # another region could only add this run's span again or a shorter one
                break
    return sorted(span for span in spans if not _glued(text, *span))

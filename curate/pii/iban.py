"""IBANs in every national format: spaced, unspaced or dashed, with letters in the BBAN (GB, NL, ...).

Validation (as python-stdnum's ``iban.is_valid``): known country, exact national length, BBAN structure
from the SWIFT IBAN registry, ISO 7064 mod 97-10 check digits (02-98, as computed; like Presidio we
reject 00/01/99 even where the remainder fits), and for Spain the national CCC check digits. Letters in the BBAN are accepted in either case (stdnum upper-cases); the country code must be
upper case so prose like ``at 12 34`` never starts a candidate.
"""
from __future__ import annotations

import re

# Country -> BBAN structure from the SWIFT IBAN registry: n = digits, a = upper-case letters,
# c = letters or digits. The IBAN length is 4 + the BBAN length.
_BBAN_SPEC: dict[str, str] = {
    "AD": "4n4n12c", "AE": "3n16n", "AL": "8n16c", "AT": "5n11n", "AZ": "4a20c", "BA": "3n3n8n2n",
    "BE": "3n7n2n", "BG": "4a4n2n8c", "BH": "4a14c", "BI": "5n5n11n2n", "BR": "8n5n10n1a1c",
    "BY": "4c4n16c", "CH": "5n12c", "CR": "4n14n", "CY": "3n5n16c", "CZ": "4n6n10n", "DE": "8n10n",
    "DJ": "5n5n11n2n", "DK": "4n9n1n", "DO": "4c20n", "EE": "2n2n11n1n", "EG": "4n4n17n", "ES": "4n4n1n1n10n",
    "FI": "3n11n", "FK": "2a12n", "FO": "4n9n1n", "FR": "5n5n11c2n", "GB": "4a6n8n", "GE": "2a16n",
    "GI": "4a15c", "GL": "4n9n1n", "GR": "3n4n16c", "GT": "4c20c", "HN": "4a20n", "HR": "7n10n",
    "HU": "3n4n1n15n1n", "IE": "4a6n8n", "IL": "3n3n13n", "IQ": "4a3n12n", "IS": "4n2n6n10n",
    "IT": "1a5n5n12c", "JO": "4a4n18c", "KW": "4a22c", "KZ": "3n13c", "LB": "4n20c", "LC": "4a24c",
    "LI": "5n12c", "LT": "5n11n", "LU": "3n13c", "LV": "4a13c", "LY": "3n3n15n", "MC": "5n5n11c2n",
    "MD": "2c18c", "ME": "3n13n2n", "MK": "3n10c2n", "MN": "4n12n", "MR": "5n5n11n2n", "MT": "4a5n18c",
    "MU": "4a2n2n12n3n3a", "NI": "4a20n", "NL": "4a10n", "NO": "4n6n1n", "OM": "3n16c", "PK": "4a16c",
    "PL": "8n16n", "PS": "4a21c", "PT": "4n4n11n2n", "QA": "4a21c", "RO": "4a16c", "RS": "3n13n2n",
    "RU": "9n5n15c", "SA": "2n18c", "SC": "4a2n2n16n3a", "SD": "2n12n", "SE": "3n16n1n", "SI": "5n8n2n",
    "SK": "4n6n10n", "SM": "1a5n5n12c", "SO": "4n3n12n", "ST": "4n4n11n2n", "SV": "4a20n", "TL": "3n14n2n",
    "TN": "2n3n13n2n", "TR": "5n1n16c", "UA": "6n19c", "VA": "3n15n", "VG": "4a16n", "XK": "4n10n2n",
    "YE": "4a4n18c",
}
_CLASS = {"n": "[0-9]", "a": "[A-Z]", "c": "[A-Z0-9]"}


def _compile_spec(spec: str) -> tuple[int, re.Pattern[str]]:
    parts = re.findall(r"(\d+)([nac])", spec)
    length = sum(int(n) for n, _ in parts)
    return length + 4, re.compile("".join(f"{_CLASS[k]}{{{n}}}" for n, k in parts))


_COUNTRIES: dict[str, tuple[int, re.Pattern[str]]] = {cc: _compile_spec(s) for cc, s in _BBAN_SPEC.items()}
_SEPARATORS = frozenset(" -.\u00a0\u202f")
# A candidate starts with an upper-case country code not glued to a preceding letter or digit,
# then (after at most one separator) the first check digit. The look-behind sits after the first
# letter so that the pattern starts with a plain letter class, which the regex engine skips to quickly.
_HEAD = re.compile(r"([A-Z](?<![A-Za-z0-9][A-Z])[A-Z])[ \-.\u00a0\u202f]?\d")
_LETTER_VALUES = {chr(ord("A") + i): str(10 + i) for i in range(26)}


def mod97_ok(iban: str) -> bool:
    """ISO 7064 MOD 97-10 check of a compact, upper-case IBAN."""
    rearranged = iban[4:] + iban[:4]
    return int("".join(_LETTER_VALUES.get(ch, ch) for ch in rearranged)) % 97 == 1


def _spanish_ccc_ok(bban: str) -> bool:
    """Spanish CCC: two national check digits over bank+branch and over the account number."""
    weights = (1, 2, 4, 8, 5, 10, 9, 7, 3, 6)

    def digit(digits: str) -> str:
        value = 11 - sum(w * int(d) for w, d in zip(weights, digits)) % 11
        return str({11: 0, 10: 1}.get(value, value))

    return digit("00" + bban[:8]) == bban[8] and digit(bban[10:]) == bban[9]


def is_valid_iban(compact: str) -> bool:
    """Validate a compact IBAN (no separators, any letter case in the BBAN)."""
    iban = compact.upper()
    country = _COUNTRIES.get(iban[:2])
    if country is None or len(iban) != country[0] or not iban[2:4].isdigit():
        return False
    if not "02" <= iban[2:4] <= "98":  # MOD 97-10 check digits are never 00, 01 or 99
        return False
    if not country[1].fullmatch(iban[4:]) or not mod97_ok(iban):
        return False
    return iban[:2] != "ES" or _spanish_ccc_ok(iban[4:])


def _collect(text: str, start: int, length: int) -> int | None:
    """Walk ``length`` letters/digits from ``start``, allowing one separator between two of them.

    Returns the end offset, or None when the run is shorter or continues without a separator
    (then it is a longer token, not this IBAN).
    """
    n, i, taken = len(text), start, 0
    while taken < length:
        if i >= n:
            return None
        ch = text[i]
        if ch.isascii() and ch.isalnum():
            taken += 1
            i += 1
        elif ch in _SEPARATORS and taken and i + 1 < n and text[i + 1].isascii() and text[i + 1].isalnum():
            i += 1
        else:
            return None
    if i < n and text[i].isalnum():
        return None
    return i


def find_ibans(text: str) -> list[tuple[int, int]]:
    """Return (start, end) of each valid IBAN, separators inside the span included."""
    spans = []
    for m in _HEAD.finditer(text):
        country = _COUNTRIES.get(m.group(1))
        if country is None:
            continue
        start = m.start()
        end = _collect(text, start, country[0])
        if end is None:
            continue
        compact = "".join(ch for ch in text[start:end] if ch not in _SEPARATORS)
        if is_valid_iban(compact):
            spans.append((start, end))
    return spans

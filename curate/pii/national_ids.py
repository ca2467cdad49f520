"""National identification numbers with a check digit (off by default, as in Apertus).

- CH_AHV: Swiss social security number 756.XXXX.XXXX.XC, dotted or compact, EAN-13 check digit.
- IT_FISCAL_CODE: Italian codice fiscale (16 characters, odd/even table check letter).
- ES_NIF: Spanish DNI number (8 digits + mod-23 letter) and NIE (X/Y/Z + 7 digits + letter).
"""
from __future__ import annotations

import re

_AHV = re.compile(r"(?<![\w.])756(?:\.\d{4}\.\d{4}\.\d{2}|\d{10})(?![\w]|\.\d)")


def ean13_ok(digits: str) -> bool:
    """EAN-13 check: weights 1,3,1,3... over the first 12 digits."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits[:12]))
    return (10 - total % 10) % 10 == int(digits[12])


def find_ch_ahv(text: str) -> list[tuple[int, int]]:
    """Return (start, end) of Swiss AHV/AVS numbers with a valid check digit."""
    if "756" not in text:
        return []
    return [m.span() for m in _AHV.finditer(text) if ean13_ok(m.group().replace(".", ""))]


_CF = re.compile(r"(?<![\w])[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-EHLMPR-T][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z](?!\w)")
_CF_ODD = dict(zip("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                   [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3,
                    6, 8, 12, 14, 16, 10, 22, 25, 24, 23]))


def _cf_even(ch: str) -> int:
    return int(ch) if ch.isdigit() else ord(ch) - ord("A")


def fiscal_code_ok(code: str) -> bool:
    """Check letter of an Italian codice fiscale (odd positions by table, even by value, mod 26)."""
    total = sum(_CF_ODD[ch] if i % 2 == 0 else _cf_even(ch) for i, ch in enumerate(code[:15]))
    return chr(ord("A") + total % 26) == code[15]


def find_it_fiscal_code(text: str) -> list[tuple[int, int]]:
    """Return (start, end) of Italian fiscal codes with a valid check letter."""
    return [m.span() for m in _CF.finditer(text) if fiscal_code_ok(m.group())]


_NIF = re.compile(r"(?<![\w.\-])([XYZ]?)(\d{7,8})-?([A-HJ-NP-TV-Z])(?!\w)")
_NIF_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def find_es_nif(text: str) -> list[tuple[int, int]]:
    """Return (start, end) of Spanish DNI/NIE numbers whose control letter matches."""
    spans = []
    for m in _NIF.finditer(text):
        prefix, digits, letter = m.groups()
        if prefix:
            if len(digits) != 7:
                continue
            digits = str("XYZ".index(prefix)) + digits
        elif len(digits) != 8:
            continue
        if _NIF_LETTERS[int(digits) % 23] == letter:
            spans.append(m.span())
    return spans

"""Payment card numbers: 13-19 digits, contiguous or in the printed groupings, issuer prefix, Luhn.

Issuer prefixes follow Presidio's CreditCardRecognizer (1 UATP, 3 Amex/Diners/JCB, 4 Visa, 50-55
Mastercard/Maestro, 6 Discover/Maestro/UnionPay; a 13-digit number starting with 1 is excluded) plus the
2221-2720 Mastercard range, which Presidio misses.
"""
from __future__ import annotations

import re

_CARD = re.compile(
    r"(?<![\w.,+\-/])"
    r"(?:\d{13,19}"  # contiguous
    r"|\d{4}(?P<s>[ -])\d{4}(?P=s)\d{4}(?P=s)\d{1,4}(?:(?P=s)\d{3})?"  # 4-4-4-4(-3), 4-4-4-1..4
    r"|\d{4}(?P<t>[ -])\d{6}(?P=t)\d{4,5})"  # Amex 4-6-5, Diners 4-6-4
    r"(?![\w]|[.,\-/]\d)"
)
_PREFIX = re.compile(r"(?:[1346]|5[0-5]|222[1-9]|22[3-9]\d|2[3-6]\d\d|27[01]\d|2720)")


def luhn_ok(digits: str) -> bool:
    """Luhn (mod 10) check of a digit string."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def is_valid_card(digits: str) -> bool:
    """True for a plausible card number: length, issuer prefix and Luhn."""
    if not 13 <= len(digits) <= 19 or not _PREFIX.match(digits):
        return False
    if len(digits) == 13 and digits[0] == "1":
        return False
    return luhn_ok(digits)


_IBAN_HEAD_BEFORE = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d\d(?:[ -][A-Za-z0-9]{4}){0,6}[ -]$")


def _tail_of_iban(text: str, start: int) -> bool:
    """True when the number follows an IBAN head (``LT12 1000 ...``, ``AL47 212A ...``): then it is the
    tail of an IBAN (one whose checksum failed), not a card number of its own."""
    return _IBAN_HEAD_BEFORE.search(text, max(0, start - 40), start) is not None


def find_cards(text: str, runs: list[tuple[int, int]] | None = None) -> list[tuple[int, int]]:
    """Return (start, end) of each card number (separators inside the span included).

    ``runs``: the (start, end) digit runs of ``phone.digit_runs`` that hold >= 13 digits. A card number
    lies inside one, so only those are scanned (with the character before and two after, which the
    pattern's look-behind and look-ahead read)."""
    windows = [(0, len(text))] if runs is None else [(max(0, s - 1), e + 2) for s, e in runs]
    spans = []
    for w_start, w_end in windows:
        for m in _CARD.finditer(text[w_start:w_end]):
            digits = m.group().replace(" ", "").replace("-", "")
            start, end = w_start + m.start(), w_start + m.end()
            if is_valid_card(digits) and not _tail_of_iban(text, start):
                spans.append((start, end))
    return spans

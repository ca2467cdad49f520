"""E-mail addresses: a linear-time candidate regex, validated by a public-suffix check.

Same acceptance as Presidio's EmailRecognizer (local part of RFC 5322 atom characters, dotted domain
labels with inner hyphens, registrable domain under a known public suffix), but the candidate regex only
starts at the beginning of a local-part run, so it never rescans a word.
"""
from __future__ import annotations

import re

from curate.pii.offline import has_public_suffix

_ATOM = r"[\w!#$%&'*+\-/=?^`{|}~]"
_EMAIL = re.compile(
    rf"(?<![\w!#$%&'*+\-/=?^`{{|}}~.])"  # start of a local-part run
    rf"({_ATOM}(?:[\w!#$%&'*+\-/=?^`{{|}}~.]*{_ATOM})?)"  # local part: no leading/trailing dot
    r"@(\w+(?:-+\w+)*(?:\.\w+(?:-+\w+)*)+)\b"  # domain: dotted labels, inner hyphens
)


def find_emails(text: str) -> list[tuple[int, int]]:
    """Return (start, end) of each e-mail address whose domain has a public suffix."""
    if "@" not in text:
        return []
    spans = []
    for m in _EMAIL.finditer(text):
        if has_public_suffix(m.group(2)):
            spans.append(m.span())
    return spans

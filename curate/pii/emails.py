"""E-mail addresses: candidates found from each "@", validated by a public-suffix check.

Same acceptance as Presidio's EmailRecognizer (local part of RFC 5322 atom characters, dotted domain
labels with inner hyphens, registrable domain under a known public suffix), but the work starts at each
"@" and walks back over the local part, so text without an "@" costs one ``str.find``.
"""
from __future__ import annotations

import re

from curate.pii.offline import has_public_suffix

_LOCAL_CHARS = frozenset("!#$%&'*+-/=?^`{|}~._")  # besides letters and digits (str.isalnum is \w)
# The domain after the "@": dotted labels, inner hyphens.
_DOMAIN = re.compile(r"@(\w+(?:-+\w+)*(?:\.\w+(?:-+\w+)*)+)\b")


def _local_start(text: str, at: int) -> int:
    """Start of the run of local-part characters (atoms and dots) that ends at ``at``."""
    i = at
    while i and (text[i - 1].isalnum() or text[i - 1] in _LOCAL_CHARS):
        i -= 1
    return i


def find_emails(text: str) -> list[tuple[int, int]]:
    """Return (start, end) of each e-mail address whose domain has a public suffix.

    Work starts only at each "@" (a scan from every word would cost far more): the local part is the
    whole atom-and-dot run before it, not starting or ending with a dot."""
    spans = []
    done = 0  # end of the last candidate: candidates do not overlap
    at = text.find("@")
    while at != -1:
        start = _local_start(text, at)
        m = _DOMAIN.match(text, at)
        if start < at and start >= done and text[start] != "." and text[at - 1] != "." and m:
            done = m.end()
            if has_public_suffix(m.group(1)):
                spans.append((start, m.end()))
        at = text.find("@", at + 1)
    return spans

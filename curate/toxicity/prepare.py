"""Text preparation for the toxicity classifier: the same function at training and at prediction.

Fast by construction (all C-level string operations, no per-character Python):
1. `str.casefold`;
2. ASCII punctuation and symbols become spaces (one `bytes.translate` over the UTF-8 bytes; multi-byte
   characters are untouched, since all their bytes are >= 0x80), and so do a few common non-ASCII
   punctuation marks (`str.replace`, only when the text is not ASCII);
3. URLs and @handles are left to step 2 (they become their pieces, e.g. `https www example com`);
4. every Han character becomes a token of its own (one regex pass, only when the text has any):
   Chinese has no spaces, and the classifier's word bigrams then see character bigrams;
5. split on whitespace and join with single spaces.
Accents are kept: the classifier's character n-grams already relate `hässlich` and `hasslich`.
`_` is kept inside tokens (fastText label syntax `__label__` is then impossible: a leading `__` is cut).

`PREPARE_VERSION` is written into every model's sidecar; a model trained with another preparation is
refused (see `FastTextScorer`).
"""
from __future__ import annotations

import re
from itertools import chain

PREPARE_VERSION = "curate-toxicity-prepare/2"

_ASCII_PUNCT = b"!\"#$%&'()*+,-./:;<=>?@[\\]^`{|}~"
_SENTENCE_END = b".!?;"
_BYTE_TABLE = bytes.maketrans(_ASCII_PUNCT, bytes(b"\n"[0] if c in _SENTENCE_END else 32 for c in _ASCII_PUNCT))
# common non-ASCII punctuation (quotes, dashes, ellipsis, CJK and full-width marks, no-break space)
_UNICODE_ENDS = ("\u3002", "\uff01", "\uff1f", "\uff1b", "\u2026")  # become line breaks (sentence ends)
_UNICODE_PUNCT = ("\u00a0", "\u00ab", "\u00bb", "\u00bf", "\u00a1", "\u2013", "\u2014", "\u2018", "\u2019",
                  "\u201c", "\u201d", "\u201e", "\u2026", "\u3000", "\u3001", "\u3002", "\uff0c", "\uff01",
                  "\uff1f", "\uff1a", "\uff1b", "\uff08", "\uff09", "\u300a", "\u300b", "\u300c", "\u300d")
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_RE = re.compile(rf"[{_HAN}]+")
_HAN_LEAD_BYTES = (b"\xe3", b"\xe4", b"\xe5", b"\xe6", b"\xe7", b"\xe8", b"\xe9", b"\xef")  # UTF-8 of U+3xxx-U+9xxx, U+Fxxx


def _space_han(m: re.Match) -> str:
    return " " + " ".join(m.group()) + " "


def _normalised(text: str) -> str:
    """Casefolded text with punctuation as spaces, sentence ends as line breaks, Han characters spaced."""
    s = text.casefold()
    if s.isascii():
        s = s.translate(_BYTE_TABLE_STR)
    else:
        b = s.encode("utf-8", "surrogatepass").translate(_BYTE_TABLE)
        s = b.decode("utf-8", "surrogatepass")
        for ch in _UNICODE_ENDS:
            if ch in s:
                s = s.replace(ch, "\n")
        for ch in _UNICODE_PUNCT:
            if ch in s:
                s = s.replace(ch, " ")
        if any(lead in b for lead in _HAN_LEAD_BYTES):  # cheap pre-check (memchr); the regex decides
            s = _HAN_RE.sub(_space_han, s)
    if "__" in s:
        s = s.replace("__", " ")
    return s


def prepare_text(text: str) -> str:
    """One line of space-separated tokens, as the classifier sees it ('' when the text has none)."""
    return " ".join(_normalised(text).split())


def prepare_windows(text: str, min_tokens: int = 12, max_tokens: int = 64) -> list[str]:
    """`window_tokens` joined: one prepared line per window."""
    return [" ".join(w) for w in window_tokens(text, min_tokens, max_tokens)]


def window_tokens(text: str, min_tokens: int = 12, max_tokens: int = 64) -> list[list[str]]:
    """The prepared text cut into sentence windows: pieces between sentence ends, merged until a window
    has at least `min_tokens` tokens (a short tail joins the window before it), long ones cut at
    `max_tokens`. The tokens are exactly those of `prepare_text`; always at least one window."""
    tokens, lengths = window_lengths(text, min_tokens, max_tokens)
    out, i = [], 0
    for n in lengths:
        out.append(tokens[i:i + n])
        i += n
    return out


def window_lengths(text: str, min_tokens: int = 12, max_tokens: int = 64) -> tuple[list[str], list[int]]:
    """The tokens of `prepare_text` and the lengths of `window_tokens`' windows, which are consecutive
    slices of them (the scorer wants flat tokens; no per-window lists)."""
    lines = list(map(str.split, _normalised(text).split("\n")))
    lengths: list[int] = []
    cur = 0
    for n in map(len, lines):
        while n > max_tokens:
            if cur:
                lengths.append(cur)
                cur = 0
            lengths.append(max_tokens)
            n -= max_tokens
        cur += n
        if cur >= min_tokens:
            lengths.append(cur)
            cur = 0
    if cur:
        if lengths and lengths[-1] + cur <= max_tokens:
            lengths[-1] += cur
        else:
            lengths.append(cur)
    return list(chain.from_iterable(lines)), lengths or [0]


_BYTE_TABLE_STR = str.maketrans({c: ("\n" if c in ".!?;" else " ") for c in _ASCII_PUNCT.decode()})

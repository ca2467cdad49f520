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
from dataclasses import dataclass
from itertools import chain

import numpy as np

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


def _unicode_marks_as_spaces(s: str) -> str:
    """The common non-ASCII punctuation as spaces, and its sentence ends as line breaks."""
    for ch in _UNICODE_ENDS:
        if ch in s:
            s = s.replace(ch, "\n")
    for ch in _UNICODE_PUNCT:
        if ch in s:
            s = s.replace(ch, " ")
    return s


def _normalised(text: str) -> str:
    """Casefolded text with punctuation as spaces, sentence ends as line breaks, Han characters spaced."""
    s = text.casefold()
    if s.isascii():
        s = s.translate(_BYTE_TABLE_STR)
    else:
        b = s.encode("utf-8", "surrogatepass").translate(_BYTE_TABLE)
        s = _unicode_marks_as_spaces(b.decode("utf-8", "surrogatepass"))
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
    return list(chain.from_iterable(lines)), _merge_lines(list(map(len, lines)), min_tokens, max_tokens)


def _merge_lines(line_tokens: list[int], min_tokens: int, max_tokens: int) -> list[int]:
    """Window lengths from the token counts of a text's lines: lines are merged until a window has at least
    `min_tokens` tokens (a short tail joins the window before it), long ones cut at `max_tokens`."""
    lengths: list[int] = []
    cur = 0
    for n in line_tokens:
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
    return lengths or [0]


_BYTE_TABLE_STR = str.maketrans({c: ("\n" if c in ".!?;" else " ") for c in _ASCII_PUNCT.decode()})


# --- a whole batch of chunks at once, on UTF-8 bytes (the scorer's path) ------------------------------
#
# `prepare_batch` gives exactly the tokens and windows of `window_lengths`, chunk by chunk, but as byte
# ranges of one buffer: no Python string per token. The string steps that are C-level anyway (casefold,
# the punctuation table) stay; what `str.split` and the Han regex did per token is done on the bytes:
# a token is a run of bytes that are not whitespace (as `str.isspace` defines it, multi-byte kinds
# included), and every Han character is a token of its own.

_WS_MULTI = [ch.encode("utf-8") for ch in map(chr, range(0x80, 0x3001)) if ch.isspace()]  # none above U+3000
_WS_2 = np.array(sorted(b[1] for b in _WS_MULTI if len(b) == 2 and b[0] == 0xC2), dtype=np.uint8)
_WS_3 = np.array(sorted({(b[0] & 0x0F) << 12 | (b[1] & 0x3F) << 6 | (b[2] & 0x3F) for b in _WS_MULTI if len(b) == 3}))
_ASCII_LOWER_TABLE = bytes(_BYTE_TABLE[c + 32 if 65 <= c <= 90 else c] for c in range(256))
_HAN_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))
assert all(len(b) in (2, 3) for b in _WS_MULTI) and {b[0] for b in _WS_MULTI if len(b) == 2} == {0xC2}


@dataclass
class TokenBatch:
    """Prepared tokens of several chunks as byte ranges `buf[starts[i]:ends[i]]`, in order, and the window
    lengths (in tokens) of each chunk, as `window_lengths` cuts them."""

    buf: np.ndarray           # uint8, the chunks' prepared bytes one after the other, then 8 NULs (padding
                              # for readers of 8-byte words)
    starts: np.ndarray        # int64, one per token
    ends: np.ndarray
    windows: list[list[int]]  # per chunk: its windows' lengths (tokens of consecutive windows)


def _normalised_bytes(text: str) -> bytes:
    """`_normalised` without the Han spacing (done on the bytes), as UTF-8; the same steps in an order that
    needs one encode: the non-ASCII marks are replaced in the str (`in` on str is fast, on bytes slow),
    the ASCII ones by the byte table, which also lower-cases ASCII text (its casefold)."""
    if text.isascii():
        b = text.encode("ascii").translate(_ASCII_LOWER_TABLE)
    else:
        b = _unicode_marks_as_spaces(text.casefold()).encode("utf-8", "surrogatepass").translate(_BYTE_TABLE)
    if b"__" in b:
        b = b.replace(b"__", b" ")
    return b


def prepare_batch(chunks: list[str], min_tokens: int = 12, max_tokens: int = 64) -> TokenBatch:
    """The tokens and windows of `window_lengths(c)` for every chunk c, computed on bytes for all at once."""
    parts = [_normalised_bytes(c) for c in chunks]
    sizes = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
    first = np.concatenate([[0], np.cumsum(sizes)])  # where each chunk's bytes start (and the end)
    n = int(first[-1])
    buf = np.frombuffer(b"".join(parts) + bytes(8), dtype=np.uint8)  # padding for the look-ahead (and readers)
    sep = (buf == 32) | (buf - np.uint8(9) <= 4) | (buf - np.uint8(28) <= 3)  # the ASCII `str.isspace`
    brk = np.zeros(n + 3, dtype=bool)  # a token boundary before this byte (even without whitespace)
    brk[first] = True
    lead2 = np.flatnonzero(buf == 0xC2)
    ws2 = lead2[np.isin(buf[lead2 + 1], _WS_2)]
    sep[ws2] = sep[ws2 + 1] = True
    lead3 = np.flatnonzero((buf & 0xF0) == 0xE0)
    if len(lead3):
        cp = ((buf[lead3].astype(np.int64) & 0x0F) << 12) | ((buf[lead3 + 1].astype(np.int64) & 0x3F) << 6) \
            | (buf[lead3 + 2].astype(np.int64) & 0x3F)
        ws3 = lead3[np.isin(cp, _WS_3)]
        sep[ws3] = sep[ws3 + 1] = sep[ws3 + 2] = True
        han = np.zeros(len(cp), dtype=bool)
        for lo, hi in _HAN_RANGES:
            han |= (cp >= lo) & (cp <= hi)
        hp = lead3[han]
        brk[hp] = brk[hp + 3] = True
    sep = sep[:n]
    before = np.concatenate([[True], sep[:-1]]) if n else sep
    starts = np.flatnonzero(~sep & (before | brk[:n]))
    after = np.concatenate([sep[1:], [True]]) if n else sep
    ends = np.flatnonzero(~sep & (after | brk[1:n + 1])) + 1
    # lines: a chunk's lines are separated by "\n"; the lines of all chunks, in order, tile the buffer
    newline = np.flatnonzero(buf[:n] == 10)
    chunk_line = np.arange(len(parts)) + np.searchsorted(newline, first[:-1])  # index of each chunk's first line
    line_start = np.empty(len(newline) + len(parts), dtype=np.int64)
    line_start[chunk_line] = first[:-1]
    line_start[np.arange(1, len(newline) + 1) + np.searchsorted(first, newline, side="right") - 1] = newline + 1
    per_line = np.diff(np.searchsorted(starts, line_start), append=len(starts)).tolist()
    bounds = [*chunk_line.tolist(), len(line_start)]
    windows = [_merge_lines(per_line[a:b], min_tokens, max_tokens) for a, b in zip(bounds, bounds[1:])]
    return TokenBatch(buf, starts, ends, windows)

"""fastText's word and character n-gram hashes (Dictionary::hash and computeSubwords), one token at a time
and vectorised in numpy over many tokens at once. The toxicity predictor and the language-ID predictor both
need them: a token's features are its own row (when it is a dictionary word) and the rows of its n-grams."""
from __future__ import annotations

import numpy as np

BOW, EOW = "<", ">"
_OFFSET, _PRIME = 2166136261, 16777619


def fasttext_hash(word: str) -> int:
    """fastText's dictionary hash (FNV-1a over UTF-8 bytes, each byte sign-extended as in the C++ code; a lone
    surrogate, which only JSON input can carry, is hashed as its 3-byte form instead of failing)."""
    h = _OFFSET
    for b in word.encode("utf-8", "surrogatepass"):
        h ^= (b | 0xFFFFFF00) if b >= 128 else b
        h = (h * _PRIME) & 0xFFFFFFFF
    return h


def char_ngram_buckets(token: str, minn: int, maxn: int, bucket: int) -> list[int]:
    """Bucket ids (before the `nwords` offset) of fastText's computeSubwords("<" + token + ">").

    The C++ loop walks UTF-8 bytes but starts and extends n-grams by whole characters, so n counts
    characters; 1-grams at the word boundaries are skipped."""
    if maxn <= 0 or bucket <= 0:
        return []
    w = BOW + token + EOW
    size = len(w)
    out = []
    for i in range(size):
        for n in range(max(minn, 1), maxn + 1):
            if i + n > size:
                break
            if n == 1 and (i == 0 or i + n == size):
                continue
            out.append(fasttext_hash(w[i:i + n]) % bucket)
    return out


def fnv_ranges(sx: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """fastText's hash of many byte ranges at once; `sx` = the bytes sign-extended to 32 bits (uint32: its
    products wrap modulo 2**32, as the C++ uint32_t ones do)."""
    h = np.full(len(starts), _OFFSET, dtype=np.uint32)
    prime = np.uint32(_PRIME)
    order = np.argsort(-lengths, kind="stable")  # longest first: the active ranges are a prefix
    s_sorted, l_sorted = starts[order], lengths[order]
    hs = h[order]
    for k in range(int(l_sorted[0]) if len(l_sorted) else 0):
        n_act = int(np.searchsorted(-l_sorted, -k, side="left"))  # ranges with length > k
        active = hs[:n_act]
        active ^= sx[s_sorted[:n_act] + k]
        active *= prime
    h[order] = hs
    return h


def subword_hashes(tokens: list[str], minn: int, maxn: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hash of each token, token index of each character n-gram, hash of each n-gram), all uint32 hashes as
    `fasttext_hash` gives them; the n-grams of every token are those of `char_ngram_buckets` (before `%
    bucket`), grouped by length. Tokens must hold no line break (they come from splitting on whitespace)."""
    k = len(tokens)
    if not k:
        return np.zeros(0, np.uint32), np.zeros(0, np.int64), np.zeros(0, np.uint32)
    # "<tok>" of every token in one buffer, "\n" after each
    buf = np.frombuffer(("<" + ">\n<".join(tokens) + ">\n").encode("utf-8", "surrogatepass"), dtype=np.uint8)
    sx = buf.astype(np.uint32)
    sx[buf >= 128] |= np.uint32(0xFFFFFF00)  # C++ hashes each byte as int8_t cast to uint32_t
    bend = np.flatnonzero(buf == 10)  # one past each "<tok>"
    if len(bend) != k:
        raise ValueError("tokens must not contain line breaks")
    bstart = np.concatenate([[0], bend[:-1] + 1]).astype(np.int64)
    hashes = fnv_ranges(sx, bstart + 1, bend - bstart - 2)  # the token itself, without "<" ">"
    if maxn <= 0:
        return hashes, np.zeros(0, np.int64), np.zeros(0, np.uint32)
    is_start = ((buf & 0xC0) != 0x80) & (buf != 10)
    cpos = np.flatnonzero(is_start)  # first byte of each character
    nch = np.add.reduceat(is_start.astype(np.int64), bstart)
    ctok = np.repeat(np.arange(k), nch)
    left = np.repeat(np.cumsum(nch), nch) - np.arange(len(cpos))  # characters from here to the token's end
    lead = buf[cpos]
    clen = 1 + (lead >= 0xC0) + (lead >= 0xE0) + (lead >= 0xF0)  # UTF-8 length from the lead byte
    # the n-grams starting at each character, grown one character at a time: an n-gram's hash continues the
    # hash of its first n - 1 characters (the same FNV bytes as computeSubwords hashes)
    g = np.arange(len(cpos))
    h = np.full(len(cpos), _OFFSET, dtype=np.uint32)
    prime = np.uint32(_PRIME)
    tok_parts, h_parts = [], []
    for n in range(1, maxn + 1):
        fits = left >= n
        if not fits.all():
            g, h, left = g[fits], h[fits], left[fits]
        c = g + n - 1  # the character added now
        b0, cl = cpos[c], clen[c]
        h = (h ^ sx[b0]) * prime
        for j in range(1, int(cl.max()) if len(cl) else 1):
            more = np.flatnonzero(cl > j)
            h[more] = (h[more] ^ sx[b0[more] + j]) * prime
        if n >= minn:
            # 1-grams at the word boundaries ("<" and ">") are skipped
            keep = np.flatnonzero((left != n) & (left != nch[ctok[g]])) if n == 1 else slice(None)
            tok_parts.append(ctok[g[keep]])
            h_parts.append(h[keep])
    if not tok_parts:
        return hashes, np.zeros(0, np.int64), np.zeros(0, np.uint32)
    return hashes, np.concatenate(tok_parts), np.concatenate(h_parts)

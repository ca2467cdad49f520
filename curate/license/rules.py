"""Exact matching of ScanCode's license rules on a document's tokens (index: curate/license/index.py).

At every token position the longest rule that matches exactly there is recorded; overlapping hits are then
resolved longest first (a ScanCode false-positive rule wins its place like any other and then reports
nothing, which is how those rules suppress false alarms). Spans map back to characters of the original text.
"""
from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate

import numpy as np

from curate.license import index as _index
from curate.license.index import DOC_TOKEN, KEY_TOKENS, TOKEN_BYTES, Index, Rule, fold

_ZERO = b"\0" * TOKEN_BYTES
_KEY = KEY_TOKENS * TOKEN_BYTES
_SHORT_BYTES = tuple(k * TOKEN_BYTES for k in range(KEY_TOKENS - 1, 0, -1))  # rules shorter than the key


@dataclass(frozen=True)
class RuleHit:
    rule: Rule
    spdx: str  # SPDX expression (current ids), from the rule's ScanCode expression
    tstart: int  # token range [tstart, tend)
    tend: int
    start: int  # character range in the original text
    end: int


@dataclass(frozen=True)
class Tokens:
    words: list[str]
    starts: list[int]  # character span of word k in the original text: [starts[k], ends[k])
    ends: list[int]
    code: bytes
    text: str = ""  # the original text the spans point into


@lru_cache(maxsize=1)
def _tables() -> tuple[Index, dict[str, bytes]]:
    idx = _index.load()
    return idx, {w: i.to_bytes(TOKEN_BYTES, "big") for w, i in idx.vocab.items()}


def index() -> Index:
    return _tables()[0]


@lru_cache(maxsize=1)
def _rule_lengths() -> list[int]:
    return index().rules.column("length")


@lru_cache(maxsize=1)
def _start_filter() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where a rule can start: the sorted (first, second) token pairs of rules of two tokens or more, a
    table of the tokens that start such a pair, and a table of the tokens that are a whole one-token rule.
    Most positions of a text start no rule: the filter keeps about 3-12% of them (prose, footers, code),
    and only those are looked up one by one."""
    idx = index()
    pairs = {int.from_bytes(c[:2 * TOKEN_BYTES], "big") for c in idx.codes if len(c) >= 2 * TOKEN_BYTES}
    single = np.zeros(max(idx.vocab.values(), default=0) + 1, dtype=bool)  # a text's ids: vocab ids or 0
    for c in idx.codes:
        if len(c) == TOKEN_BYTES:
            single[int.from_bytes(c, "big")] = True
    pairs = np.array(sorted(pairs), dtype=np.int64)
    first = np.zeros_like(single)
    first[pairs >> 24] = True
    return pairs, first, single


def _candidate_starts(code: bytes, n: int) -> list[int]:
    pairs, first, single = _start_filter()
    b = np.frombuffer(code, dtype=np.uint8).reshape(n, TOKEN_BYTES).astype(np.int64)
    ids = (b[:, 0] << 16) | (b[:, 1] << 8) | b[:, 2]
    ok = single[ids]
    # a pair is looked up only where its first token starts one (about a fifth of the positions)
    at = first[ids[:-1]].nonzero()[0]
    keys = (ids[at] << 24) | ids[at + 1]
    found = pairs[np.minimum(pairs.searchsorted(keys), len(pairs) - 1)] == keys
    ok[at[found]] = True
    return ok.nonzero()[0].tolist()


WINDOW_CHARS = 2000  # characters tokenised on either side of a license keyword


def keyword_points(lowered: str, keywords: tuple[str, ...], enough: int | None = None) -> list[int]:
    """Sorted offsets of every keyword occurrence in the lower-cased text (with `enough`: once that many are
    found, the keywords not yet searched are skipped, for a caller that only needs to know there are that many)."""
    points = []
    for k in keywords:
        i = lowered.find(k)
        while i >= 0:
            points.append(i)
            i = lowered.find(k, i + len(k))
        if enough is not None and len(points) >= enough:
            break
    points.sort()
    return points


def windows_around(points: list[int], length: int, margin: int = WINDOW_CHARS) -> list[tuple[int, int]]:
    """Merged character ranges of a text of `length` chars within `margin` of the sorted `points`."""
    windows: list[tuple[int, int]] = []
    for p in points:
        a, b = max(p - margin, 0), min(p + margin, length)
        if windows and a <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(windows[-1][1], b))
        else:
            windows.append((a, b))
    return windows


def keyword_windows(lowered: str, keywords: tuple[str, ...], margin: int = WINDOW_CHARS) -> list[tuple[int, int]]:
    """Merged character ranges within `margin` of any keyword occurrence in the lower-cased text."""
    return windows_around(keyword_points(lowered, keywords), len(lowered), margin)


FOLD_CACHE_WORDS = 1 << 18  # distinct words remembered by `tokenize`, twice (bounded memory, a few tens of MB at most)


class _FoldCache(dict):
    """`fold` of each word seen, emptied when full: a plain dict lookup (C, about 2.5x cheaper than
    lru_cache's), so every text, ASCII or not, folds word by word."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def __missing__(self, word: str) -> str:
        if len(self) >= self.limit:
            self.clear()
        folded = self[word] = fold(word)
        return folded


_folded = _FoldCache(FOLD_CACHE_WORDS)


class _CodeCache(_FoldCache):
    """The token-id bytes of each word seen (its folded form's vocabulary id, or zeros): one lookup in this
    cache of recent words costs less than one in the whole vocabulary (about 5% of a gate-passing document)."""

    def __missing__(self, word: str) -> bytes:
        if len(self) >= self.limit:
            self.clear()
        code = self[word] = _tables()[1].get(_folded[word], _ZERO)
        return code


_coded = _CodeCache(FOLD_CACHE_WORDS)
# DOC_TOKEN as a split pattern: [gap, token, gap, token, ..., gap], so that every token's offset is a running
# sum of piece lengths (computed in C) instead of one Match object per token
_DOC_PIECES = re.compile(f"({DOC_TOKEN.pattern})")
_MARKUP = re.compile(DOC_TOKEN.pattern.rsplit("|", 1)[0])  # DOC_TOKEN without its last branch, words: tags, entities
_PLUS_CHAIN = re.compile(r"[^_\W]\+[^_\W]+\+")  # "a+b+c": the second "+" ends a word and starts no word
_SPACE = ord(" ")
_PLUS = ord("+")


@lru_cache(maxsize=1)
def _alnum_table() -> np.ndarray:
    """By code point: is it a letter or digit of DOC_TOKEN's words (`[^_\\W]`)? Taken from the regex itself
    over every code point (about 0.05 s once per process; 1.1 MB)."""
    every = np.arange(sys.maxunicode + 1, dtype=np.uint32).tobytes().decode("utf-32-le", "surrogatepass")
    table = np.zeros(len(every), dtype=bool)
    for m in re.finditer(r"[^_\W]+", every):
        table[m.start():m.end()] = True
    return table


def _split_pieces(part: str, a: int) -> tuple[list[str], list[int], list[int]]:
    """Words of `part` (which starts at offset `a`) and their spans, by DOC_TOKEN, markup skipped."""
    pieces = _DOC_PIECES.split(part)
    offsets = list(accumulate(map(len, pieces), initial=a))  # offsets[i + 1]: where piece i ends
    words, first, last = pieces[1::2], offsets[1:-1:2], offsets[2::2]
    if "<" in part or "&" in part:  # markup (tags, entities) is tokenised to be skipped
        keep = [i for i, w in enumerate(words) if w[0] not in "<&"]
        words, first, last = [words[i] for i in keep], [first[i] for i in keep], [last[i] for i in keep]
    return words, first, last


def _mask_pieces(part: str, a: int) -> tuple[list[str], list[int], list[int]]:
    """`_split_pieces` for a part without markup or "a+b+c": a word is then a run of letters and digits
    with the "+" right after one of them, so a per-character mask (numpy) gives the same words and spans
    about 2.5x cheaper than the regex: spans where the mask changes, words by splitting the part with every
    other character made a space (letters, digits and "+" are never spaces)."""
    cp = np.frombuffer(part.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    alnum = _alnum_table()[cp]
    mask = np.zeros(len(cp) + 2, dtype=bool)  # padded, so that every word has a rising and a falling edge
    mask[1:-1] = alnum
    if "+" in part:
        mask[2:-1] |= alnum[:-1] & (cp[1:] == _PLUS)
    edges = (mask[1:] != mask[:-1]).nonzero()[0]
    edges = (edges + a if a else edges).tolist()
    words = np.where(mask[1:-1], cp, _SPACE).astype(np.uint32, copy=False).tobytes().decode("utf-32-le").split()
    return words, edges[0::2], edges[1::2]


def _plus_chain(part: str) -> bool:
    """Does `part` hold "a+b+c"? (tried only at the "+" signs: the regex alone scans the whole part)"""
    i = part.find("+", 1)
    while i >= 0:
        if _PLUS_CHAIN.match(part, i - 1):
            return True
        i = part.find("+", i + 1)
    return False


def _pieces(part: str, a: int) -> tuple[list[str], list[int], list[int]]:
    """Words of `part` (at offset `a`) and their spans: the mask where it applies, else the regex split."""
    if (("<" in part or "&" in part) and _MARKUP.search(part)) or ("+" in part and _plus_chain(part)):
        return _split_pieces(part, a)
    return _mask_pieces(part, a)


def tokenize(text: str, windows: list[tuple[int, int]] | None = None) -> Tokens:
    """Folded words of `text` (markup skipped), their character spans, and their token-id bytes.

    With `windows`, only those character ranges are tokenised (a long source file is read around its
    license words only); an empty word with an unknown id separates windows, so no rule matches across."""
    if windows is None:
        raw, starts, ends = _pieces(text, 0)
    else:
        raw, starts, ends = [], [], []
        for a, b in windows:
            if raw:
                raw.append("")
                starts.append(a)
                ends.append(a)
            words, first, last = _pieces(text[a:b], a)
            raw += words
            starts += first
            ends += last
    return Tokens(list(map(_folded.__getitem__, raw)), starts, ends, b"".join(map(_coded.__getitem__, raw)), text)


_KEY_TOKEN = re.compile(r"[a-z0-9][a-z0-9.+-]*[a-z0-9+]|[a-z0-9]", re.IGNORECASE)
_OPERATORS = {"and": "AND", "or": "OR", "with": "WITH"}


@lru_cache(maxsize=8192)
def to_spdx(expression: str) -> str | None:
    """ScanCode expression ("gpl-2.0-plus with classpath-exception-2.0") -> SPDX expression, or None when it
    only names unknown/generic licenses."""
    licenses = index().licenses
    known = False

    def repl(m: re.Match) -> str:
        nonlocal known
        token = m.group()
        if token.lower() in _OPERATORS:
            return _OPERATORS[token.lower()]
        info = licenses.get(token)
        if info is None:
            return "LicenseRef-scancode-" + token
        if not info.is_unknown:
            known = True
        return info.spdx

    spdx = _KEY_TOKEN.sub(repl, expression)
    return spdx if known else None


SPLIT_RULES = 8  # a key's rule list longer than this is looked up through a small trie (see _longest_rule)


@dataclass(frozen=True)
class _Split:
    """Rules sharing their first `start + len(prefix)` bytes: `tail` is the first of them that is exactly
    that prefix (None if none is), `children` the longer ones by their next token."""

    start: int  # bytes of the shared prefix already checked by the parent (the key, the child's token)
    prefix: bytes  # the rest of the shared prefix
    tail: int | None
    children: dict[bytes, "_Split | list[int]"]


def _split(rids: list[int], checked: int) -> "_Split | list[int]":
    """A key's rule list (longest first) as a trie node; short lists stay lists."""
    if len(rids) <= SPLIT_RULES:
        return rids
    codes = index().codes
    prefix = os.path.commonprefix([codes[r] for r in rids])
    prefix = prefix[:len(prefix) - len(prefix) % TOKEN_BYTES]
    depth = len(prefix)
    children: dict[bytes, list[int]] = {}
    for r in rids:
        if len(codes[r]) > depth:
            children.setdefault(codes[r][depth:depth + TOKEN_BYTES], []).append(r)
    tail = next((r for r in rids if len(codes[r]) == depth), None)
    return _Split(checked, prefix[checked:], tail,
                  {t: _split(group, depth + TOKEN_BYTES) for t, group in children.items()})


_SPLITS: dict[bytes, "_Split | list[int]"] = {}  # built per key when first looked up


def _longest_rule(key: bytes, rids: list[int], code: bytes, p: int) -> int | None:
    """The first rule of `rids` (longest first) that `code` holds at byte `p`, or None. Long lists (keys
    shared by hundreds of rules, "creative commons attribution") are walked as a trie, which gives the same
    rule: the deepest tail or leaf rule that matches is the longest, and equal lengths keep the list's order."""
    codes = index().codes
    node = _SPLITS.get(key)
    if node is None:
        node = _SPLITS[key] = _split(rids, KEY_TOKENS * TOKEN_BYTES)
    best = None
    while type(node) is _Split:
        if not code.startswith(node.prefix, p + node.start):
            return best
        if node.tail is not None:
            best = node.tail
        q = p + node.start + len(node.prefix)
        node = node.children.get(code[q:q + TOKEN_BYTES])
        if node is None:
            return best
    for r in node:
        if code.startswith(codes[r], p):
            return r
    return best


@lru_cache(maxsize=1)
def _vocab_words() -> dict[int, str]:
    return {i: w for w, i in index().vocab.items()}


@lru_cache(maxsize=None)  # at most one entry per rule
def _names_version(rid: int) -> bool:
    """Does rule `rid` hold a word that starts with a digit? (the words of a hit are its rule's words: the
    same token ids, and a vocabulary id is one word)"""
    words, code = _vocab_words(), index().codes[rid]
    return any(words[int.from_bytes(code[p:p + TOKEN_BYTES], "big")][:1].isdigit()
               for p in range(0, len(code), TOKEN_BYTES))


def find(tokens: Tokens, seen: set[str] | None = None) -> list[RuleHit]:
    """Non-overlapping exact rule hits, in text order (false-positive hits included: the caller drops them).

    `seen`, when given, receives the ScanCode expression of every rule that matched anywhere, overlapped
    or not (the candidates for approximate full-text matching)."""
    idx, _ = _tables()
    code = tokens.code
    by_key, short, rules = idx.by_key, idx.short, idx.rules
    lengths = _rule_lengths()
    n = len(tokens.words)
    raw: list[tuple[int, int, int]] = []
    for i in _candidate_starts(code, n) if n else ():
        p = i * TOKEN_BYTES
        key = code[p:p + _KEY]
        rids = by_key.get(key)
        r = _longest_rule(key, rids, code, p) if rids else None
        if r is None:
            # rules shorter than the key, longest first (past the last token a slice is shorter: the same
            # lookup as the shorter prefix, so the same first hit)
            for k in _SHORT_BYTES:
                s = short.get(code[p:p + k])
                if s:
                    r = s[0]
                    break
            else:
                continue
        raw.append((i, i + lengths[r], r))
    if not raw:
        return []
    if seen is not None:
        seen.update(rules[r].expression for _, _, r in raw if rules[r].expression)
    # longest first; on a tie the hit that names a version ("GPL-2+" over "Licence: GPL"), then the first
    if len(raw) > 1:
        raw.sort(key=lambda h: (h[0] - h[1], not _names_version(h[2]), h[0]))
    taken = bytearray(n)
    hits: list[RuleHit] = []
    starts, ends = tokens.starts, tokens.ends
    for a, b, r in raw:
        if taken.find(1, a, b) >= 0:
            continue
        taken[a:b] = b"\1" * (b - a)
        rule = rules[r]
        spdx = to_spdx(rule.expression) if rule.expression else None
        hits.append(RuleHit(rule, spdx or "", a, b, starts[a], ends[b - 1]))
    hits.sort(key=lambda h: h.tstart)
    return hits


def rule_words(phrase: str) -> list[str]:
    """Folded words of a phrase, as documents are tokenised (the regex split: numpy costs more on a phrase)."""
    return list(map(_folded.__getitem__, _split_pieces(phrase, 0)[0]))


# --------------------------------------------------------------------------------------------------
# Approximate full-text matching: token-bigram containment against ScanCode's license texts
# --------------------------------------------------------------------------------------------------

APPROX_MIN_COVERAGE = 0.80  # share of a license text's token bigrams found in the document
APPROX_MIN_TOKENS = 150  # shorter "texts" are notices in all but name: exact rules handle them
APPROX_PER_LICENSE = 8  # license texts tried per expression: the license's own text, then rule variants
_BIGRAM = 2 * TOKEN_BYTES


@lru_cache(maxsize=1)
def _texts_by_expression() -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    rules = index().rules
    kinds, lengths, expressions = rules.column("kind"), rules.column("length"), rules.column("expression")
    for rid, (kind, length, expression) in enumerate(zip(kinds, lengths, expressions)):
        if kind == "license-text" and length >= APPROX_MIN_TOKENS:
            out.setdefault(expression, []).append(rid)
    for expression, rids in out.items():  # the license's own text first (its identifier is the key)
        rids.sort(key=lambda r: (rules[r].identifier != expression, rules[r].identifier))
        del rids[APPROX_PER_LICENSE:]
    return out


_FAMILY = re.compile(r"^([a-z]+(?:-[a-z]+)*?)(?:-?v?\d.*)?$")


def family(key: str) -> str:
    """ScanCode key without its version and variant ("cecill-2.0" -> "cecill", "gpl-2.0-plus" -> "gpl")."""
    m = _FAMILY.match(key)
    return m.group(1) if m else key


@lru_cache(maxsize=1)
def _expressions_by_family() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for expression in _texts_by_expression():
        if " " not in expression:
            out.setdefault(family(expression), []).append(expression)
    return out


def candidate_expressions(expressions: set[str]) -> set[str]:
    """The expressions seen, and every single-license expression of the same families (other versions)."""
    by_family = _expressions_by_family()
    out = set(expressions)
    for e in expressions:
        for key in _KEY_TOKEN.findall(e):
            if key.lower() not in _OPERATORS:
                out.update(by_family.get(family(key), ()))
    return out


@lru_cache(maxsize=4096)
def _rule_bigrams(rid: int) -> frozenset[bytes]:
    code = index().codes[rid]
    return frozenset(code[p:p + _BIGRAM] for p in range(0, len(code) - _BIGRAM + 1, TOKEN_BYTES))


@dataclass(frozen=True)
class ApproxHit:
    rule: Rule
    spdx: str
    coverage: float  # share of the rule's bigrams present in the document
    matched: int  # number of the rule's bigrams present
    tstart: int
    tend: int
    start: int
    end: int


def _aligned_find(code: bytes, needle: bytes) -> bool:
    pos = code.find(needle)
    while pos >= 0 and pos % TOKEN_BYTES:
        pos = code.find(needle, pos + 1)
    return pos >= 0


def _title_of(rid: int) -> bytes:
    """Token bytes of the title line of a license text (the rule's own, else its license's main text)."""
    idx = index()
    rule = idx.rules[rid]
    if not rule.title:
        main = _texts_by_expression().get(rule.expression, [])
        if not main or idx.rules[main[0]].identifier != rule.expression or not idx.rules[main[0]].title:
            return b""
        rid, rule = main[0], idx.rules[main[0]]
    return idx.codes[rid][:rule.title * TOKEN_BYTES]


def _other_title(code: bytes, words: list[str], title: bytes, start: int) -> bool:
    """True when the document names itself another license: the license's title line is nowhere in it,
    while a title of its own ("... License" in the words just before the match, or in its first
    words) precedes the text (a modified, renamed license)."""
    if _aligned_find(code, title):
        return False
    near = words[max(start - 12, 0):start + 3]
    return any(w.startswith(("licen", "lizenz")) for w in near)


APPROX_GAP = 30  # tokens without a shared bigram that end a matched region


def _dense_region(positions: list[int]) -> tuple[int, int]:
    """The token range of the largest run of shared-bigram positions with gaps under APPROX_GAP (stray
    common phrases elsewhere in the document do not stretch the match)."""
    best = (0, 0, 0)  # count, start, end
    run_start, count = positions[0], 0
    prev = positions[0]
    for p in positions:
        if p - prev > APPROX_GAP:
            if count > best[0]:
                best = (count, run_start, prev + 2)
            run_start, count = p, 0
        count += 1
        prev = p
    if count > best[0]:
        best = (count, run_start, prev + 2)
    return best[1], best[2]


def approximate(tokens: Tokens, expressions: set[str]) -> list[ApproxHit]:
    """License texts (of the ScanCode expressions seen in the exact hits) that the document contains to at
    least APPROX_MIN_COVERAGE (or the rule's own minimum_coverage when higher), best first, non-overlapping."""
    by_expr = _texts_by_expression()
    candidates = [rid for e in sorted(candidate_expressions(expressions)) for rid in by_expr.get(e, ())]
    if not candidates:
        return []
    code = tokens.code
    n = len(tokens.words)
    doc_positions: dict[bytes, list[int]] = {}
    for i in range(n - 1):
        doc_positions.setdefault(code[i * TOKEN_BYTES:(i + 2) * TOKEN_BYTES], []).append(i)
    doc_bigrams = doc_positions.keys()
    rules = index().rules
    scored = []
    for rid in candidates:
        bigrams = _rule_bigrams(rid)
        if not bigrams:
            continue
        common = bigrams & doc_bigrams
        coverage = len(common) / len(bigrams)
        threshold = max(APPROX_MIN_COVERAGE, rules[rid].minimum_coverage / 100)
        if coverage >= threshold:
            scored.append((round(coverage, 2), len(common), rid, common))
    scored.sort(key=lambda s: (-s[0], -s[1]))
    hits: list[ApproxHit] = []
    for coverage, matched, rid, common in scored:
        a, b = _dense_region(sorted(p for b in common for p in doc_positions[b]))
        if any(h.tstart < b and a < h.tend for h in hits):
            continue
        rule = rules[rid]
        title = _title_of(rid)
        if title and _other_title(code, tokens.words, title, a):
            continue
        spdx = to_spdx(rule.expression)
        if spdx:
            hits.append(ApproxHit(rule, spdx, coverage, matched, a, b, tokens.starts[a],
                                  tokens.ends[min(b, n) - 1]))
    return hits

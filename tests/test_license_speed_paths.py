"""The license detector's fast paths give what the plain code they replaced gives, on real texts.

Each fast path is checked against a plain reference written here (the code it replaced): one-split
tokenisation against one Match per token, the numpy-mask tokenisation against the split (and its code-point
table against the regex class on every code point), the trie lookup of long rule lists against trying every
rule of the list, the pair filter of rule starts against every position, str.find-driven regex scans against
`finditer`, the RE2 set of present strings against one `in` per string, the needle checks through the word
set against scans, the space count in `original_span` against a bisect over word starts, detection with the
exact-text caches cleared and bypassed against warm caches, and detection with every fast path swapped for
its plain form at once.
Texts: the license corpora of ../shared/corpora (skipped when absent, a failure under CI=true), the demo
generator's pages (bench/bench_pipeline.py's corpus) and a few notices in prose with markup.
"""
from __future__ import annotations

import importlib
from bisect import bisect_right

import pytest

from conftest import LICENSE_NOTICES, LICENSE_PROSE

det = importlib.import_module("curate.license.detect")  # the module (curate.license.detect is also the function)
from curate.license import categories, rules  # noqa: E402
from curate.license.index import DOC_TOKEN, KEY_TOKENS, TOKEN_BYTES, fold  # noqa: E402


PROSE = LICENSE_PROSE
NOTICES = LICENSE_NOTICES + [
    "Distributed under the MIT License. Texte sous licence CC BY-SA 4.0, CC0 1.0 Universal."]


@pytest.fixture(scope="module")
def texts(corpora) -> list[str]:
    lic = corpora / "license"
    files = sorted((lic / "choosealicense/_licenses").glob("*.txt"))
    files += sorted(p for p in (lic / "licensee_fixtures").rglob("*") if p.is_file() and p.stat().st_size < 200_000)
    out = [p.read_text(encoding="utf-8", errors="replace") for p in files]
    assert len(out) > 100
    from curate.sample import generate

    pages = [d["text"] for docs in generate(400, 7).values() for d in docs]
    out += ["\n\n".join(pages[i:i + 8]) for i in range(0, len(pages), 8)]  # bench_pipeline joins 8 per document
    out += [PROSE[:1500] + "\n" + n + "\n<b>&copy; 2020 A&amp;B</b> " + PROSE[:900] for n in NOTICES]
    return out


def _plain_tokenize(text: str, windows=None) -> tuple[list[str], list[int], list[int]]:
    words, starts, ends = [], [], []
    for a, b in windows if windows is not None else [(0, len(text))]:
        if words:
            words.append("")
            starts.append(a)
            ends.append(a)
        for m in DOC_TOKEN.finditer(text, a, b):
            if m.group()[0] not in "<&":
                words.append(fold(m.group()))
                starts.append(m.start())
                ends.append(m.end())
    return words, starts, ends


def _windows(text: str):
    return rules.keyword_windows(text.lower(), det._PREFILTER_KEYWORDS, det.NOTICE_WINDOW_CHARS)


def test_tokenize_is_the_plain_tokenisation(texts):
    _, vocab = rules._tables()
    for text in texts:
        for windows in (None, _windows(text)):
            tokens = rules.tokenize(text, windows)
            words, starts, ends = _plain_tokenize(text, windows)
            assert (tokens.words, tokens.starts, tokens.ends) == (words, starts, ends)
            assert tokens.code == b"".join(vocab.get(w, b"\0" * TOKEN_BYTES) for w in words)


def _plain_longest(code: bytes, p: int) -> int | None:
    idx = rules.index()
    for r in idx.by_key.get(code[p:p + KEY_TOKENS * TOKEN_BYTES], ()):
        if code.startswith(idx.codes[r], p):
            return r
    return None


def test_trie_lookup_finds_the_rule_that_trying_every_rule_finds(texts):
    idx = rules.index()
    tried = split = 0
    for text in texts:
        code = rules.tokenize(text).code
        for p in range(0, len(code) - KEY_TOKENS * TOKEN_BYTES + 1, TOKEN_BYTES):
            key = code[p:p + KEY_TOKENS * TOKEN_BYTES]
            rids = idx.by_key.get(key)
            if rids:
                tried += 1
                split += len(rids) > rules.SPLIT_RULES
                assert rules._longest_rule(key, rids, code, p) == _plain_longest(code, p), (text[:80], p)
    assert tried > 1000 and split > 100  # the trie really ran


@pytest.mark.parametrize("pattern,literals,on_norm", [
    (det._CC_SHORT, ("CC",), False),
    (det._CC0_SHORT, ("CC0",), False),
    (det._CC_NOTICE, ("creative commons ",), True),
    (det._RIGHTS_RESERVED, det._RIGHTS_RESERVED_PHRASES, True),
])
def test_literal_driven_scans_are_finditer(texts, pattern, literals, on_norm):
    found = 0
    tricky = ("xCC BY 4.0, CC-BY-SA CC0 1.0 (CC BY-NC) creative commons creative commons attribution; "
              "Creative Commons Attribution Creative Commons Attribution ShareAlike 4.0")  # a match holding a literal
    for text in texts + [tricky]:
        s = det.NormalizedText(text, rules.tokenize(text)).text if on_norm else text
        fast = [(m.span(), m.groups()) for m in det._finditer_at(pattern, s, literals)]
        assert fast == [(m.span(), m.groups()) for m in pattern.finditer(s)]
        found += len(fast)
    assert found


def test_mit_header_needle_is_in_every_match(texts):
    needle, pattern, _, _ = next(h for h in det._HEADERS if h[0] == " mit licen")
    for text in texts:
        norm = det.NormalizedText(text, rules.tokenize(text)).text
        assert all(needle in norm[m.start() - 1:m.end()] for m in pattern.finditer(norm))


def test_original_span_is_the_bisect_over_word_starts(texts):
    for text in texts[::3]:
        norm = det.NormalizedText(text, rules.tokenize(text, _windows(text)))
        if not norm.tokens.words:
            continue
        starts, pos = [], 1
        for w in norm.tokens.words:
            starts.append(pos)
            pos += len(w) + 1
        step = max(len(norm.text) // 300, 1)
        for a in range(0, len(norm.text), step):
            for b in (a, a + 1, a + 17, a + 400):
                b = min(b, len(norm.text))
                first = max(bisect_right(starts, a) - 1, 0)
                last = max(bisect_right(starts, max(b - 1, a)) - 1, first)
                assert norm.original_span(a, b) == (norm.tokens.starts[first], norm.tokens.ends[last])


def test_last_boundary_is_the_last_finditer_end(texts):
    for text in texts[::5]:
        for lo in range(0, len(text), 97):
            prefix = text[lo:lo + 200]
            last = det._LAST_BOUNDARY.match(prefix)
            every = [m.end() for m in det._BOUNDARY.finditer(prefix)]
            assert (last.end() if last else None) == max(every, default=None)


def _matches(texts):
    return [[m.to_dict() for m in det.detect_matches(t)] for t in texts]


def test_caches_do_not_change_detections(texts, monkeypatch):
    warm = _matches(texts)
    assert _matches(texts) == warm  # every cache warm
    monkeypatch.setattr(det, "normalize_phrase", det.normalize_phrase.__wrapped__)
    monkeypatch.setattr(det, "canonical_spdx", categories.canonical_spdx.__wrapped__)
    monkeypatch.setattr(det, "_cc_link_id", det._cc_link_id.__wrapped__)
    monkeypatch.setattr(det, "spdx_family", det.spdx_family.__wrapped__)
    monkeypatch.setattr(det, "_version_base", det._version_base.__wrapped__)
    monkeypatch.setattr(det, "_cc_notice_id", det._cc_notice_id.__wrapped__)
    monkeypatch.setattr(rules, "_folded", rules._FoldCache(0))  # emptied at every word
    monkeypatch.setattr(rules, "_coded", rules._CodeCache(0))
    monkeypatch.setattr(rules, "_SPLITS", {})
    monkeypatch.setattr(rules, "SPLIT_RULES", 10 ** 9)  # no trie: every rule list tried in full
    assert _matches(texts) == warm
    assert any(warm)


def test_to_dict_is_asdict():
    from dataclasses import asdict

    m = det.detect_matches("Licensed under the Apache License, Version 2.0.")[0]
    assert m.to_dict() == asdict(m) and list(m.to_dict()) == list(asdict(m))


def test_keyword_points_stop_only_when_the_count_is_all_that_matters(texts):
    limit = det.NOTICE_MAX_KEYWORDS + 1
    for text in texts:
        lowered = text.lower()
        every = rules.keyword_points(lowered, det._PREFILTER_KEYWORDS)
        some = rules.keyword_points(lowered, det._PREFILTER_KEYWORDS, limit)
        assert some == every if len(every) < limit else len(some) >= limit


AWKWARD = ["", " ", "+", "a+", "a+b+c", "a++b", "C++ and g++, GPL-2.0+ or LGPL-2.1+", "x\ud800y \udfff", "\ufeffMIT",
           "a_b __init__ ½ ² ٣ ⅷ", "<b>x</b> &amp; &copy; R&D <not closed", "ΟΔΟΣ ΣΑ", "😀 𝔸𝔹 𝟙", "ﬁ ß İstanbul",
           "tab\tsep\x1cfs\u2028ls\u3000ideo\xa0nbsp", "word\u0301 e\u0301"]


def _random_texts(n: int, seed: int = 0) -> list[str]:
    import random

    rng = random.Random(seed)
    alphabet = list("aZé1+_ -\n\t<>&;#x.9Σ😀\u0301\ud800\xa0") + ["licen", "CC BY ", "&amp;", "<b>"]
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60))) for _ in range(n)]


def test_mask_tokenisation_is_the_split(texts):
    """The numpy mask path gives the regex split's words and spans on every text it is used for (and
    `_pieces` falls back to the split where it is not: markup, "a+b+c")."""
    masked = 0
    for text in texts + AWKWARD + _random_texts(5000):
        for a, b in [(0, len(text))] + _windows(text):
            part = text[a:b]
            expected = rules._split_pieces(part, a)
            assert rules._pieces(part, a) == expected, part[:80]
            assert rules._plus_chain(part) == (rules._PLUS_CHAIN.search(part) is not None)
            if not rules._MARKUP.search(part) and not rules._PLUS_CHAIN.search(part):
                assert rules._mask_pieces(part, a) == expected, part[:80]
                masked += 1
    assert masked > 1000


def test_alnum_table_is_the_word_class():
    import re
    import sys

    table = rules._alnum_table()
    every = "".join(map(chr, range(sys.maxunicode + 1)))
    word = re.compile(r"[^_\W]")
    assert [i for i, ch in enumerate(every) if bool(table[i]) != (word.match(ch) is not None)] == []
    assert not any(ch.isspace() for i, ch in enumerate(every) if table[i])  # the words split on spaces


def test_candidate_starts_are_every_position_a_rule_can_start(texts):
    idx = rules.index()
    singles = {c for c in idx.codes if len(c) == TOKEN_BYTES}
    pairs = {c[:2 * TOKEN_BYTES] for c in idx.codes if len(c) >= 2 * TOKEN_BYTES}
    found = 0
    for text in texts + AWKWARD:
        code = rules.tokenize(text).code
        n = len(code) // TOKEN_BYTES
        plain = [i for i in range(n) if code[i * TOKEN_BYTES:(i + 1) * TOKEN_BYTES] in singles
                 or code[i * TOKEN_BYTES:(i + 2) * TOKEN_BYTES] in pairs]
        assert (rules._candidate_starts(code, n) if n else []) == plain
        found += len(plain)
    assert found > 1000


def test_cc_link_scan_is_finditer(texts):
    tricky = ["CREATIVECOMMONS.ORG/LICENSES/BY-NC/3.0/DE and creativecommons.org/publicdomain/zero/1.0",
              "creativecommonſ.org/licenses/by/4.0 creatİvecommons.org/licenses/by/4.0 KreativeCommons.org/",
              "creativecommons.org/creativecommons.org/licenses/by/2.0/ //creativecommons.org/licenses/by-sa/",
              "ẞ creativecommons.org/licenses/by/4.0" * 3, "/", "creativecommons.org"]
    found = 0
    for text in texts + tricky + AWKWARD:
        fast = [(m.span(), m.groups()) for m in det._cc_link_matches(text)]
        assert fast == [(m.span(), m.groups()) for m in det._CC_LINK.finditer(text)]
        found += len(fast)
    assert found > 10


def test_contains_and_find_are_the_scans(texts):
    needles = [h[0] for h in det._HEADERS] + [" creative commons ", " public domain ", " gemeinfrei ",
                                              " domaine public ", " reserved ", " vorbehalten ", " reserves ",
                                              " riservati ", " reservados ", " voorbehouden ", " cc0 1 0 universal "]
    hits = 0
    for text in texts + AWKWARD:
        for windows in (None, _windows(text)):
            norm = det.NormalizedText(text, rules.tokenize(text, windows))
            words = norm.tokens.words
            probes = needles + [f" {w} " for w in words[:50:7]] + [f" {w[:3]}" for w in words[:50:7] if w] + \
                [f" {' '.join(words[i:i + 3])} " for i in range(0, min(len(words), 60), 11)]
            for needle in probes:
                assert norm.contains(needle) == (needle in norm.text), needle
                hits += norm.contains(needle)
                phrase = needle.strip()
                idx = norm.text.find(" " + phrase + " ")
                assert norm.find(phrase) == (idx + 1 if idx >= 0 else -1)
    assert hits > 1000


def test_rule_words_are_the_plain_words(texts):
    for text in texts[::4] + AWKWARD + _random_texts(2000, seed=1):
        for lo in range(0, min(len(text), 3000), 173):
            phrase = text[lo:lo + 200]
            plain = [fold(m.group()) for m in DOC_TOKEN.finditer(phrase) if m.group()[0] not in "<&"]
            assert rules.rule_words(phrase) == plain


def test_present_is_the_plain_scans(texts):
    found = 0
    extra = ["public\ndomain", "LICEN licen", "redistributed copyrights", "ライセンス クリエイティブ 著作権", "x\ud800licen"]
    for text in texts + AWKWARD + extra + _random_texts(3000, seed=2):
        lowered = text.lower()
        present = det._present(lowered)
        assert present == {w for w in det._LITERALS if w in lowered}
        found += len(present)
        for k in (None, det.NOTICE_MAX_KEYWORDS + 1):  # the points of the keywords present are every point
            assert rules.keyword_points(lowered, tuple(w for w in det._PREFILTER_KEYWORDS if w in present), k) == \
                rules.keyword_points(lowered, det._PREFILTER_KEYWORDS, k)
    assert found > 1000


def test_detections_without_the_fast_paths_are_the_same(texts, monkeypatch):
    """End to end: every fast path of this file swapped for its plain form at once gives the same matches
    (texts over WINDOWED_CHARS included: they are read in windows)."""
    sample = texts + AWKWARD + ["\n".join(texts[i:i + 12]) for i in range(0, len(texts), 12)]
    assert any(len(t) > det.WINDOWED_CHARS for t in sample)
    fast = _matches(sample)
    monkeypatch.setattr(rules, "_pieces", rules._split_pieces)
    monkeypatch.setattr(rules, "_candidate_starts", lambda code, n: list(range(n)))  # every position tried
    monkeypatch.setattr(det, "_present", lambda lowered: {w for w in det._LITERALS if w in lowered})
    monkeypatch.setattr(det.NormalizedText, "contains", lambda self, needle: needle in self.text)
    monkeypatch.setattr(det, "_NEEDLE_HEADS", frozenset())  # `find` scans the text
    monkeypatch.setattr(det, "_cc_link_matches", det._CC_LINK.finditer)
    assert _matches(sample) == fast
    assert sum(map(bool, fast)) > 100


def test_a_hit_names_a_version_as_its_rule_does(texts):
    """The words of an exact hit are its rule's words, so whether one starts with a digit is the rule's."""
    idx = rules.index()
    rids_of: dict[str, list[int]] = {}  # identifiers repeat (a license's text and a rule file of that name)
    for r, ident in enumerate(idx.rules.column("identifier")):
        rids_of.setdefault(ident, []).append(r)
    word_of = rules._vocab_words()
    checked = 0
    for text in texts + AWKWARD:
        tokens = rules.tokenize(text)
        for h in rules.find(tokens):
            rid = next(r for r in rids_of[h.rule.identifier] if idx.rules[r] is h.rule)
            words = tokens.words[h.tstart:h.tend]
            code = idx.codes[rid]
            assert [word_of[int.from_bytes(code[p:p + TOKEN_BYTES], "big")] for p in range(0, len(code), TOKEN_BYTES)] \
                == words
            assert rules._names_version(rid) == any(w[:1].isdigit() for w in words)
            checked += 1
    assert checked > 100

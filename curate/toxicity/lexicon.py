"""Lexicon toxicity scorer: our own per-language word lists plus a few context rules.

A text is folded (NFKC, case, accents), tokenised (Han characters one per token), and matched against
`curate/data/toxicity/<lang>.txt` (format in that folder's README.md). Each match contributes
`weight * context factor`; the text score is `1 - exp(-sum)`, so repetition saturates.

Context factors (why: a word list alone cannot tell abuse from talk about abuse):
- quoted ("the word 'X'") or mentioned ("calling someone X") terms count `QUOTED`/`MENTIONED` of their weight;
- a sentence that condemns the term ("... is unacceptable") counts `CONDEMNED`;
- second-person address ("you are an X", "you X") multiplies by `TARGETED`;
- violence words count only `UNTARGETED_THREAT` of their weight unless aimed at "you" ("I will kill you"),
  because "killed in an accident" is not a threat;
- the k-th repeat of the same entry counts `REPEAT_DECAY ** (k-1)`.
"""
from __future__ import annotations

import math
import re
import unicodedata
from bisect import bisect_right
from collections import Counter
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

SUPPORTED_LANGUAGES: tuple[str, ...] = ("en", "zh", "fr", "de", "it", "nl", "pl", "es", "pt", "rm")
FALLBACK_LANGUAGE = "en"
TOXIC_CATEGORIES: tuple[str, ...] = (
    "slur", "insult", "sexual", "violence-threat", "profanity", "profanity-mild",
)
CUE_CATEGORIES: tuple[str, ...] = ("cue.you", "cue.self", "cue.mention", "cue.condemn")

QUOTED = 0.3
MENTIONED = 0.35
CONDEMNED = 0.5
TARGETED = 1.6
SELF_THREAT = 1.25
UNTARGETED_THREAT = 0.1
REPEAT_DECAY = 0.5
# German and Dutch glue insults into compounds ("Vollidiot", "randdebiel"): there an insult or slur of at
# least _COMPOUND_MIN_HEAD letters and weight >= _COMPOUND_MIN_WEIGHT also matches as the head (end) of a word.
COMPOUND_LANGUAGES = frozenset({"de", "nl"})
_COMPOUND_MIN_HEAD, _COMPOUND_MIN_WEIGHT = 5, 0.6
# Token windows around a match in which a cue counts; Han text has one character per token, so wider.
_WINDOW_BEFORE, _WINDOW_AFTER, _MENTION_BEFORE = 5, 2, 4
_HAN_WINDOW_SCALE = 2

# ISO 639-2/3 and FineWeb-2 style codes ("fra_Latn") for the languages we ship.
_LANGUAGE_ALIASES = {
    "eng": "en", "zho": "zh", "cmn": "zh", "chi": "zh", "fra": "fr", "fre": "fr", "deu": "de",
    "ger": "de", "ita": "it", "nld": "nl", "dut": "nl", "pol": "pl", "spa": "es", "por": "pt",
    "roh": "rm",
}

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN_RE = re.compile(rf"[{_HAN}]|(?:(?![{_HAN}])[\w@$*!|€])+")
_HAN_RE = re.compile(rf"[{_HAN}]")
_EDGE_JUNK = "!|*_"
_SENTENCE_END_RE = re.compile(r"[.!?;\n。！？；]")
_QUOTE_RE = re.compile(
    r'"[^"\n]{1,200}"|“[^”\n]{1,200}”|„[^“”\n]{1,200}[“”]|«[^»\n]{1,200}»|‹[^›\n]{1,200}›'
    r"|「[^」\n]{1,200}」|『[^』\n]{1,200}』|(?<!\w)[‘'][^'\n]{1,80}'(?!\w)"
)
_COMBINING_RE = re.compile(r"[\u0300-\u036f]")
_FOLD_TABLE = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "æ": "ae", "œ": "oe", "’": "'", "`": "'"})
# Leetspeak: only applied to tokens that mix letters with these characters.
_LEET_TABLE = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "9": "g",
                             "@": "a", "$": "s", "!": "i", "|": "i", "€": "e"})
_LEET_CHARS = frozenset("0134579@$!|€")
_REPEAT_RE = re.compile(r"([^\W\d_])\1{2,}")


def normalize_language(language: str) -> str:
    """Map a language code ("en", "en-US", "eng", "fra_Latn") to a lower-case ISO 639-1-style code."""
    if not isinstance(language, str) or not language.strip():
        raise ValueError(f"language must be a non-empty code such as 'en', got {language!r}")
    base = re.split(r"[-_]", language.strip().lower())[0]
    return _LANGUAGE_ALIASES.get(base, base)


def fold(text: str) -> str:
    """Case- and accent-fold text for matching; keeps 'ñ' (Spanish 'coño' is not 'cono')."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_FOLD_TABLE)
    if text.isascii():
        return text
    text = unicodedata.normalize("NFD", text.replace("ñ", "\ue000"))
    return unicodedata.normalize("NFC", _COMBINING_RE.sub("", text)).replace("\ue000", "ñ")


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int


def tokenize(folded: str) -> list[Token]:
    """Split folded text into word tokens (apostrophes and hyphens split; Han one character per token)."""
    tokens = []
    for m in _TOKEN_RE.finditer(folded):
        text = m.group().strip(_EDGE_JUNK)
        if text:
            tokens.append(Token(text, m.start(), m.end()))
    return tokens


def _words(folded: str) -> tuple[list[str], list[int]]:
    """The tokens of `tokenize` as two plain lists (words, start offsets): the hot path of scoring."""
    words, starts = [], []
    for m in _TOKEN_RE.finditer(folded):
        text = m.group().strip(_EDGE_JUNK)
        if text:
            words.append(text)
            starts.append(m.start())
    return words, starts


@dataclass(frozen=True)
class Entry:
    """One lexicon line: a word or phrase (`prefix` = the last word is a stem), its category and weight."""

    pattern: str
    words: tuple[str, ...]
    prefix: bool
    category: str
    weight: float
    line: int


def _pattern_words(pattern: str) -> tuple[tuple[str, ...], bool]:
    """Tokenise a lexicon pattern the same way as text; a trailing '*' marks the last word a stem."""
    prefix = pattern.endswith("*")
    words = tuple(t.text for t in tokenize(fold(pattern.rstrip("*"))))
    return words, prefix


class _Matcher:
    """Exact, stem and phrase lookup for a set of entries."""

    def __init__(self, entries: list[Entry]):
        self.exact: dict[str, Entry] = {}
        self.stems: dict[str, Entry] = {}
        self.phrases: dict[str, list[Entry]] = {}
        for e in entries:
            if len(e.words) > 1:
                self.phrases.setdefault(e.words[0], []).append(e)
                continue
            table = self.stems if e.prefix else self.exact
            old = table.get(e.words[0])
            if old is None or e.weight > old.weight:  # duplicates after folding: keep the stronger
                table[e.words[0]] = e
        for group in self.phrases.values():
            group.sort(key=lambda e: -len(e.words))
        self.min_stem = min((len(k) for k in self.stems), default=1)
        self.max_stem = max((len(k) for k in self.stems), default=0)

    def word(self, token: str) -> Entry | None:
        """Entry for a single token: exact form first, then the longest matching stem."""
        hit = self.exact.get(token)
        if hit is not None:
            return hit
        for n in range(min(len(token), self.max_stem), self.min_stem - 1, -1):
            hit = self.stems.get(token[:n])
            if hit is not None:
                return hit
        return None

    def phrase_at(self, words: list[str], i: int) -> Entry | None:
        """Longest phrase starting at token i."""
        for e in self.phrases.get(words[i], ()):
            n = len(e.words)
            if i + n > len(words):
                continue
            middle_ok = all(words[i + k] == e.words[k] for k in range(1, n - 1))
            last = words[i + n - 1]
            last_ok = last.startswith(e.words[-1]) if e.prefix else last == e.words[-1]
            if middle_ok and last_ok:
                return e
        return None

    def wildcard(self, token: str) -> Entry | None:
        """Match a censored token such as 'f*ck' or 'sh**ty': each run of n stars stands for 1..n+1 letters."""
        letters = sum(c.isalpha() for c in token)
        if letters < 1 or token.count("*") > letters:
            return None
        last_star = token.rfind("*")
        for cut in range(len(token), last_star, -1):  # head keeps every star; the tail is inflection
            head = re.sub(r"\*+", lambda m: r"\w{1,%d}" % (len(m.group()) + 1),
                          re.escape(token[:cut]).replace(r"\*", "*"))
            rx = re.compile(head)
            if cut == len(token):
                for key, e in self.exact.items():
                    if rx.fullmatch(key):
                        return e
            for key, e in self.stems.items():
                if rx.fullmatch(key):
                    return e
        return None


def _variants(token: str) -> list[str]:
    """Token spellings to try: as written, de-leeted, with letter runs ('fuuuck') collapsed."""
    out = [token]
    if any(c in _LEET_CHARS for c in token) and any(c.isalpha() for c in token):
        out.append(token.translate(_LEET_TABLE))
    for t in list(out):
        if _REPEAT_RE.search(t):
            out.append(_REPEAT_RE.sub(r"\1\1", t))
            out.append(_REPEAT_RE.sub(r"\1", t))
    return out


@dataclass
class Match:
    """One scored occurrence, JSON-serialisable via `asdict`."""

    term: str
    category: str
    weight: float
    factor: float
    contribution: float
    context: list[str] = field(default_factory=list)
    token: int = 0


@dataclass
class Analysis:
    """Result of scoring one text with a lexicon."""

    score: float
    language: str
    lexicon: str
    fallback: bool
    matches: list[Match]

    def summary(self, top: int = 5) -> dict[str, Any]:
        """Compact JSON-ready evidence: top terms by contribution and counts per category."""
        ranked = sorted(self.matches, key=lambda m: -m.contribution)[:top]
        return {
            "score": round(self.score, 6),
            "language": self.language,
            "lexicon": self.lexicon,
            "fallback": self.fallback,
            "categories": dict(sorted(Counter(m.category for m in self.matches).items())),
            "top_terms": [
                {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(m).items() if k != "token"}
                for m in ranked
            ],
        }


_MISSING = object()
_WORD_CACHE_MAX = 500_000


class Lexicon:
    """Entries of one language file, split into toxic terms and context cues."""

    def __init__(self, language: str, entries: list[Entry]):
        self.language = language
        self.entries = entries
        self.terms = _Matcher([e for e in entries if e.category in TOXIC_CATEGORIES])
        self.cues = _Matcher([e for e in entries if e.category in CUE_CATEGORIES])
        self.compounds = language in COMPOUND_LANGUAGES
        self._word_hits: dict[str, Entry | None] = {}  # words repeat (Zipf): remember each one's lookup

    def word_entry(self, w: str) -> Entry | None:
        """The toxic entry a single token matches (spelling variants, censored forms, compound heads)."""
        hit = self._word_hits.get(w, _MISSING)
        if hit is not _MISSING:
            return hit
        e = None
        for v in _variants(w):
            e = self.terms.word(v)
            if e is not None:
                break
        if e is None and "*" in w:
            e = _cached_wildcard(self.language, w)
        if e is None and self.compounds and len(w) >= _COMPOUND_MIN_HEAD + 2:
            e = self.compound_head(w)
        if len(self._word_hits) >= _WORD_CACHE_MAX:
            self._word_hits.clear()
        self._word_hits[w] = e
        return e

    def compound_head(self, token: str) -> Entry | None:
        """Insult or slur at the end of a compound word (German/Dutch only)."""
        for start in range(2, len(token) - _COMPOUND_MIN_HEAD + 1):
            e = self.terms.word(token[start:])
            if (e is not None and e.category in ("insult", "slur") and e.weight >= _COMPOUND_MIN_WEIGHT
                    and len(e.words[0]) >= _COMPOUND_MIN_HEAD):
                return e
        return None

    def find_terms(self, words: list[str]) -> list[tuple[int, int, Entry]]:
        """(first token, end token exclusive, entry) for every toxic match; phrases win over their words."""
        found: list[tuple[int, int, Entry]] = []
        covered = [False] * len(words)
        for i in range(len(words)):
            if covered[i]:
                continue
            e = self.terms.phrase_at(words, i)
            if e is not None:
                n = len(e.words)
                found.append((i, i + n, e))
                covered[i:i + n] = [True] * n
        for i, w in enumerate(words):
            if covered[i]:
                continue
            e = self.word_entry(w)
            if e is not None:
                found.append((i, i + 1, e))
        found.sort(key=lambda f: f[0])
        return found

    def find_cues(self, words: list[str]) -> dict[str, list[int]]:
        """Token index of the first word of every cue, per cue category."""
        cues: dict[str, list[int]] = {c: [] for c in CUE_CATEGORIES}
        for i, w in enumerate(words):
            e = self.cues.phrase_at(words, i) or self.cues.word(w)
            if e is not None:
                cues[e.category].append(i)
        return cues


def _data_dir():
    return resources.files("curate") / "data" / "toxicity"


def available_languages() -> list[str]:
    """Languages that have a shipped lexicon file."""
    return sorted(p.name[:-4] for p in _data_dir().iterdir() if p.name.endswith(".txt"))


def parse_lexicon(text: str, language: str, source: str = "<lexicon>") -> Lexicon:
    """Parse lexicon file content; raises ValueError naming the source and line on a bad entry."""
    entries = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) != 3:
            raise ValueError(f"{source}:{n}: expected 'pattern | category | weight', got {raw!r}")
        pattern, category, weight_text = parts
        if category not in TOXIC_CATEGORIES + CUE_CATEGORIES:
            raise ValueError(f"{source}:{n}: unknown category {category!r}")
        try:
            weight = float(weight_text)
        except ValueError:
            raise ValueError(f"{source}:{n}: weight {weight_text!r} is not a number") from None
        if not 0 <= weight <= 5:
            raise ValueError(f"{source}:{n}: weight {weight} outside [0, 5]")
        words, prefix = _pattern_words(pattern)
        if not words:
            raise ValueError(f"{source}:{n}: empty pattern")
        if prefix and len(words[-1]) < 3:
            raise ValueError(f"{source}:{n}: stem {pattern!r} is too short to match safely")
        entries.append(Entry(pattern, words, prefix, category, weight, n))
    return Lexicon(language, entries)


@lru_cache(maxsize=None)
def load_lexicon(language: str) -> Lexicon:
    """The shipped lexicon for a language code (already normalised); KeyError if none ships."""
    path = _data_dir() / f"{language}.txt"
    if not path.is_file():
        raise KeyError(language)
    return parse_lexicon(path.read_text(encoding="utf-8"), language, source=f"curate/data/toxicity/{language}.txt")


@lru_cache(maxsize=4096)
def _cached_wildcard(language: str, token: str) -> Entry | None:
    return load_lexicon(language).terms.wildcard(token)


def resolve_lexicon(language: str) -> tuple[Lexicon, bool]:
    """Lexicon for a language and whether it is the English fall-back (no list ships for that language)."""
    code = normalize_language(language)
    try:
        return load_lexicon(code), False
    except KeyError:
        return load_lexicon(FALLBACK_LANGUAGE), True


def _spans(regex: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in regex.finditer(text)]


def _inside(spans: list[tuple[int, int]], pos: int) -> bool:
    return any(a < pos < b for a, b in spans)


def _any_in(indices: list[int], lo: int, hi: int, sentence: list[int], sid: int) -> bool:
    return any(lo <= k < hi and sentence[k] == sid for k in indices)


def analyze(text: str, language: str) -> Analysis:
    """Score one text with the lexicon for `language` and return the evidence."""
    if not isinstance(text, str):
        raise TypeError(f"text must be str, got {type(text).__name__}")
    lexicon, fallback = resolve_lexicon(language)
    folded = fold(text)
    words, starts = _words(folded)
    lex_name = lexicon.language + (f" (fallback for {normalize_language(language)})" if fallback else "")
    found = lexicon.find_terms(words)
    if not found:
        return Analysis(0.0, normalize_language(language), lex_name, fallback, [])
    cues = lexicon.find_cues(words)
    ends = [m.start() for m in _SENTENCE_END_RE.finditer(folded)]
    sentence = [bisect_right(ends, start) for start in starts]
    quotes = _spans(_QUOTE_RE, folded)
    condemned = {sentence[k] for k in cues["cue.condemn"]}
    seen: Counter[str] = Counter()
    matches = []
    total = 0.0
    for i, j, e in found:
        sid = sentence[i]
        scale = _HAN_WINDOW_SCALE if _HAN_RE.match(words[i]) else 1
        context: list[str] = []
        factor = 1.0
        targeted = _any_in(cues["cue.you"], i - _WINDOW_BEFORE * scale, j + _WINDOW_AFTER * scale, sentence, sid)
        if _inside(quotes, starts[i]):
            factor *= QUOTED
            context.append("quoted")
        elif _any_in(cues["cue.mention"], i - _MENTION_BEFORE * scale, i, sentence, sid):
            factor *= MENTIONED
            context.append("mentioned")
        elif targeted:
            context.append("targeted")
            if e.category == "violence-threat":
                if _any_in(cues["cue.self"], i - _WINDOW_BEFORE * scale - 1, i, sentence, sid):
                    factor *= SELF_THREAT
                    context.append("first-person")
            else:
                factor *= TARGETED
        elif sid in condemned:
            factor *= CONDEMNED
            context.append("condemned")
        if e.category == "violence-threat" and "targeted" not in context:
            factor *= UNTARGETED_THREAT
            context.append("untargeted-threat")
        seen[e.pattern] += 1
        if seen[e.pattern] > 1:
            factor *= REPEAT_DECAY ** (seen[e.pattern] - 1)
            context.append(f"repeat-{seen[e.pattern]}")
        contribution = e.weight * factor
        total += contribution
        matches.append(Match(e.pattern, e.category, e.weight, factor, contribution, context, i))
    score = 1.0 - math.exp(-total)
    return Analysis(score, normalize_language(language), lex_name, fallback, matches)


def score_text(text: str, language: str) -> float:
    """Lexicon toxicity score in [0, 1]."""
    return analyze(text, language).score

"""Toxicity scoring for curate: `score(text, language)` and the `Scorer` used by the pipeline block.

Two back-ends:
- the shipped lexicon scorer (default; `lexicon.py`, lists under `curate/data/toxicity/`) for
  en, zh, fr, de, it, nl, pl, es, pt and rm; other languages fall back to the English list, and
  `Scorer.explain` says so;
- a fastText classifier trained with `curate toxicity train` (`fasttext_model.py`), loaded with
  `Scorer(model="model.bin")`.

Documents are scored like Apertus does it: the maximum over chunks. Apertus chunks by 512 tokens; we
chunk by characters (`DEFAULT_CHUNK_CHARS` = 2000, about 500 tokens of European text at ~4 characters
per token; Chinese has ~1.5 characters per token, so the same chunk covers more tokens there),
breaking at whitespace or sentence punctuation near the limit so that words are not cut.
"""
from __future__ import annotations

import os
import re
from functools import lru_cache
from typing import Any

from . import lexicon
from .lexicon import SUPPORTED_LANGUAGES, normalize_language

__all__ = ["Scorer", "score", "chunk_text", "SUPPORTED_LANGUAGES", "DEFAULT_CHUNK_CHARS"]

DEFAULT_CHUNK_CHARS = 2000
LEXICON_SCORER_NAME = "lexicon-v1"
_BREAK_RE = re.compile(r"[\s。！？；，、.!?;,]")


def chunk_text(text: str, chunk_chars: int = DEFAULT_CHUNK_CHARS) -> list[str]:
    """Split text into pieces of at most `chunk_chars` characters, cutting at a break in the last 20%."""
    if chunk_chars < 1:
        raise ValueError(f"chunk_chars must be >= 1, got {chunk_chars}")
    chunks = []
    start = 0
    while len(text) - start > chunk_chars:
        end = start + chunk_chars
        window_start = start + int(chunk_chars * 0.8)
        cut = None
        for m in _BREAK_RE.finditer(text, window_start, end):
            cut = m.end()
        end = cut or end
        chunks.append(text[start:end])
        start = end
    chunks.append(text[start:])
    return chunks


class Scorer:
    """Toxicity scorer. `model=None` uses the shipped lexicons; a path loads a fastText model of ours."""

    def __init__(self, model: str | os.PathLike | None = None):
        self._fasttext = None
        self.name = LEXICON_SCORER_NAME
        if model is not None:
            from .fasttext_model import FastTextScorer

            self._fasttext = FastTextScorer(model)
            self.name = f"fasttext:{os.path.basename(str(model))}@{self._fasttext.sha256[:12]}"

    def score(self, text: str, language: str) -> float:
        """Toxicity of one text in [0, 1]; higher is more toxic."""
        if self._fasttext is not None:
            _check_inputs(text, language)
            return self._fasttext.score(text)
        return lexicon.score_text(text, language)

    def explain(self, text: str, language: str) -> dict[str, Any]:
        """Score plus evidence (matched terms, categories, context, and whether a fall-back lexicon was used)."""
        if self._fasttext is not None:
            _check_inputs(text, language)
            return {"score": round(self._fasttext.score(text), 6), "scorer": self.name,
                    "language": normalize_language(language), "fallback": False,
                    "note": "fastText classifier: no per-term evidence"}
        out = lexicon.analyze(text, language).summary()
        out["scorer"] = self.name
        if out["fallback"]:
            out["note"] = (f"no lexicon ships for {out['language']!r}; scored with the "
                           f"{lexicon.FALLBACK_LANGUAGE!r} lexicon")
        return out

    def score_document(self, text: str, language: str,
                       chunk_chars: int = DEFAULT_CHUNK_CHARS) -> tuple[float, dict[str, Any]]:
        """Document score = max over character chunks; detail (JSON-ready) is the worst chunk's evidence."""
        chunks = chunk_text(text, chunk_chars)
        best_index, best_score = 0, -1.0
        for i, chunk in enumerate(chunks):
            s = self.score(chunk, language)
            if s > best_score:
                best_index, best_score = i, s
        detail = self.explain(chunks[best_index], language)
        detail.update({"score": round(best_score, 6), "chunk": best_index, "n_chunks": len(chunks),
                       "chunk_chars": chunk_chars})
        return best_score, detail


def _check_inputs(text: str, language: str) -> None:
    if not isinstance(text, str):
        raise TypeError(f"text must be str, got {type(text).__name__}")
    normalize_language(language)


@lru_cache(maxsize=1)
def _default_scorer() -> Scorer:
    return Scorer()


def score(text: str, language: str) -> float:
    """Toxicity of `text` in [0, 1] with the shipped lexicon scorer (higher = more toxic)."""
    return _default_scorer().score(text, language)

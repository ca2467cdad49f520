"""Toxicity scoring for curate: `score(text, language)`, `make_scorer(...)` and the scorers the block uses.

Scorers (every one has `name`, `sha256`, `score(text, language)`,
`score_document(text, language, chunk_chars) -> (score, detail)` and
`score_documents(texts, languages, chunk_chars) -> [(score, detail), ...]`):
- the default: a supervised fastText-format classifier trained on public labelled data
  (`curate/data/toxicity/model/toxicity-ft.bin`, model card beside it; rebuilt by
  `curate toxicity train --recipe default`), one multilingual model, predicted in numpy (the same
  probabilities as fasttext-predict, which is the reference in the tests);
- any fastText .bin with a `__label__toxic` label (`model: path/to/model.bin`);
- Hugging Face models (`model: hf:DIR`, or `encoder: hf:DIR` + `head: FILE`), in `curate.toxicity.hf`;
- `model: lexicon`: the old word-list scorer (`lexicon.py`), kept as an explicit choice and as evidence
  (`explain` lists the lexicon terms found); it no longer decides by default.

Documents are scored like Apertus does it: the maximum over chunks. The fastText scorer scores a chunk as
the maximum over its sentence windows (4-64 tokens; `prepare.prepare_windows`), because it averages its
features and would otherwise dilute one abusive sentence among hundreds of clean tokens. Apertus chunks by 512 tokens; we
chunk by characters (`DEFAULT_CHUNK_CHARS` = 2000, about 500 tokens of European text at ~4 characters
per token; Chinese has ~1.5 characters per token, so the same chunk covers more tokens there),
breaking at whitespace or sentence punctuation near the limit so that words are not cut.
"""
from __future__ import annotations

import hashlib
import os
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

from . import lexicon
from .lexicon import SUPPORTED_LANGUAGES, normalize_language

__all__ = ["make_scorer", "scorer_from_config", "score", "chunk_text", "Scorer", "FastTextToxicityScorer",
           "LexiconScorer", "DEFAULT_MODEL", "SUPPORTED_LANGUAGES", "DEFAULT_CHUNK_CHARS", "SCORER_KEYS"]

DEFAULT_CHUNK_CHARS = 2000
WINDOW_MIN_TOKENS, WINDOW_MAX_TOKENS = 4, 64  # fastText scorer: a chunk's score is the max over its windows
LEXICON_SCORER_NAME = "lexicon-v1"
SCORER_KEYS = ("model", "device", "batch_size", "encoder", "head")  # pipeline keys that choose the scorer
_BREAK_RE = re.compile(r"[\s。！？；，、.!?;,]")


def default_model_path() -> Path:
    """The shipped model file (inside the package)."""
    return Path(str(resources.files("curate") / "data" / "toxicity" / "model" / "toxicity-ft.bin"))


DEFAULT_MODEL = "curate/data/toxicity/model/toxicity-ft.bin"


def chunk_text(text: str, chunk_chars: int = DEFAULT_CHUNK_CHARS) -> list[str]:
    """Split text into pieces of at most `chunk_chars` characters, cutting at a break in the last 20%."""
    if chunk_chars < 1:
        raise ValueError(f"chunk_chars must be >= 1, got {chunk_chars}")
    chunks = []
    start = 0
    while len(text) - start > chunk_chars:
        end = start + chunk_chars
        window_start = start + int(chunk_chars * 0.8)
        m = _BREAK_RE.search(text[window_start:end][::-1])  # the last break: the first one read backwards
        end = end - m.start() if m else end
        chunks.append(text[start:end])
        start = end
    chunks.append(text[start:])
    return chunks


def _check_inputs(text: str, language: str) -> None:
    if not isinstance(text, str):
        raise TypeError(f"text must be str, got {type(text).__name__}")
    normalize_language(language)


class _ChunkMax:
    """score_document / score_documents from a `_score_chunks(list[str]) -> list[float]` (max over chunks)."""

    name: str
    sha256: str

    def _score_chunks(self, chunks: list[str], languages: list[str]) -> list[float]:  # pragma: no cover
        raise NotImplementedError

    def _evidence(self) -> dict[str, Any]:
        return {"scorer": self.name, "model_sha256": self.sha256}

    def score(self, text: str, language: str) -> float:
        """Toxicity of one text (no chunking) in [0, 1]; higher is more toxic."""
        _check_inputs(text, language)
        return self._score_chunks([text], [language])[0]

    def score_documents(self, texts: Sequence[str], languages: Sequence[str],
                        chunk_chars: int = DEFAULT_CHUNK_CHARS) -> list[tuple[float, dict[str, Any]]]:
        """Per document: (max over its chunks, JSON-ready detail); all chunks scored in one batch."""
        if len(texts) != len(languages):
            raise ValueError(f"{len(texts)} texts but {len(languages)} languages")
        chunks: list[str] = []
        chunk_langs: list[str] = []
        spans = []
        for text, lang in zip(texts, languages):
            _check_inputs(text, lang)
            parts = chunk_text(text, chunk_chars)
            spans.append((len(chunks), len(parts)))
            chunks += parts
            chunk_langs += [lang] * len(parts)
        scores = self._score_chunks(chunks, chunk_langs)
        out = []
        for (start, n), lang in zip(spans, languages):
            mine = scores[start:start + n]
            best = max(range(n), key=lambda i: (mine[i], -i))  # first chunk among equal maxima
            value = float(mine[best])
            detail = {"score": round(value, 6), **self._evidence(), "language": normalize_language(lang),
                      "chunk": best, "n_chunks": n, "chunk_chars": chunk_chars}
            out.append((value, detail))
        return out

    def score_document(self, text: str, language: str,
                       chunk_chars: int = DEFAULT_CHUNK_CHARS) -> tuple[float, dict[str, Any]]:
        """Document score = max over character chunks; detail (JSON-ready) names the scorer and model."""
        return self.score_documents([text], [language], chunk_chars)[0]


class FastTextToxicityScorer(_ChunkMax):
    """P(toxic) from a fastText .bin; `path=None` is the shipped default model."""

    lexicon_evidence = True  # the block lists the lexicon's terms for documents it drops (evidence only)

    def __init__(self, path: str | os.PathLike | None = None):
        from .fasttext_model import FastTextScorer

        shipped = path is None
        path = default_model_path() if shipped else Path(path)
        if shipped and not path.is_file():
            raise FileNotFoundError(f"the shipped toxicity model is missing: {path} (reinstall curate, or rebuild it "
                                    "with `curate toxicity train --recipe default --out {path}`)")
        self._ft = FastTextScorer(path)
        self.path = path
        self.sha256 = self._ft.sha256
        self.meta = self._ft.meta
        base = self.meta.get("name") or f"fasttext:{path.name}"
        self.name = base if shipped else f"{base}@{path.name}"

    def _score_chunks(self, chunks: list[str], languages: list[str]) -> list[float]:
        # chunk score = max over sentence windows: the classifier averages its features, so one abusive
        # sentence among 500 clean tokens would be diluted 25-fold; it was trained on texts of ~20 tokens
        return self._ft.max_over_chunks(chunks, WINDOW_MIN_TOKENS, WINDOW_MAX_TOKENS)

    def _evidence(self) -> dict[str, Any]:
        return {"scorer": self.name, "model_sha256": self.sha256,
                "windows": f"sentences, {WINDOW_MIN_TOKENS}-{WINDOW_MAX_TOKENS} tokens", "predictor": self._ft.predictor}

    def explain(self, text: str, language: str) -> dict[str, Any]:
        """Score plus the lexicon's terms found in the text (evidence only: the lexicon does not decide)."""
        _check_inputs(text, language)
        lex = lexicon.analyze(text, language).summary()
        return {"score": round(self.score(text, language), 6), **self._evidence(),
                "language": normalize_language(language),
                "lexicon_terms": [t["term"] for t in lex["top_terms"]], "lexicon": lex["lexicon"]}


class LexiconScorer(_ChunkMax):
    """The shipped word lists with context rules (`lexicon.py`); only on explicit request (`model: lexicon`)."""

    def __init__(self):
        self.name = LEXICON_SCORER_NAME
        h = hashlib.sha256()
        for lang in lexicon.available_languages():
            h.update(lang.encode() + b"\0" + (resources.files("curate") / "data" / "toxicity" / f"{lang}.txt").read_bytes())
        self.sha256 = h.hexdigest()

    def _score_chunks(self, chunks: list[str], languages: list[str]) -> list[float]:
        return [lexicon.score_text(c, lang) for c, lang in zip(chunks, languages)]

    def explain(self, text: str, language: str) -> dict[str, Any]:
        """Score plus evidence (matched terms, categories, context, and whether a fall-back lexicon was used)."""
        _check_inputs(text, language)
        out = lexicon.analyze(text, language).summary()
        out.update(self._evidence())
        if out["fallback"]:
            out["note"] = (f"no lexicon ships for {out['language']!r}; scored with the "
                           f"{lexicon.FALLBACK_LANGUAGE!r} lexicon")
        return out

    def score_documents(self, texts, languages, chunk_chars: int = DEFAULT_CHUNK_CHARS):
        out = super().score_documents(texts, languages, chunk_chars)
        for (value, detail), text, lang in zip(out, texts, languages):
            chunk = chunk_text(text, chunk_chars)[detail["chunk"]]
            ev = lexicon.analyze(chunk, lang).summary()
            detail.update({k: ev[k] for k in ("lexicon", "fallback", "categories", "top_terms")})
        return out


def make_scorer(model: str | os.PathLike | None = None, device: str = "cpu", batch_size: int = 64,
                encoder: str | os.PathLike | None = None, head: str | os.PathLike | None = None):
    """The scorer a pipeline's toxicity keys ask for.

    model None -> the shipped fastText model; "lexicon" -> the word-list scorer; "hf:DIR" -> a Hugging Face
    sequence-classification model; any other value -> a fastText .bin; encoder ("hf:DIR" or DIR) + head
    (FILE) -> mean-pooled encoder embeddings with a small classification head (Apertus' recipe).
    `device` and `batch_size` apply to the Hugging Face scorers."""
    if device not in ("cpu", "cuda") and not str(device).startswith("cuda:"):
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if encoder is not None or head is not None:
        if encoder is None or head is None:
            raise ValueError("the encoder recipe needs both 'encoder' (hf:DIR) and 'head' (FILE)")
        if model is not None:
            raise ValueError("give either 'model' or 'encoder' + 'head', not both")
        from curate.toxicity.hf import EncoderHeadScorer

        enc = str(encoder)
        return EncoderHeadScorer(enc[3:] if enc.startswith("hf:") else enc, str(head), device=device,
                                 batch_size=batch_size)
    if model is not None and str(model).startswith("hf:"):
        from curate.toxicity.hf import HFClassifierScorer

        return HFClassifierScorer(str(model)[3:], device=device, batch_size=batch_size)
    if device != "cpu":
        raise ValueError(f"device {device!r} applies to Hugging Face models only (model: hf:DIR or encoder); "
                         "the fastText and lexicon scorers run on the CPU")
    if model is not None and str(model) == "lexicon":
        return LexiconScorer()
    path = default_model_path() if model is None else Path(model)
    try:
        st = path.stat()
    except OSError:
        return FastTextToxicityScorer(model)  # says what is missing
    return _shared_fasttext(None if model is None else str(model), str(path), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=4)
def _shared_fasttext(model: str | None, _path: str, _size: int, _mtime_ns: int) -> FastTextToxicityScorer:
    """One loaded fastText scorer per process and model file (as it is on disk now): the calibration pass
    and the main pass of a one-worker run share it. Sharing changes no score: a scorer's token table only
    saves work."""
    return FastTextToxicityScorer(model)


def scorer_from_config(cfg: dict):
    """make_scorer from a pipeline's toxicity block (the same keys for calibration and the main pass)."""
    return make_scorer(**{k: cfg[k] for k in SCORER_KEYS if cfg.get(k) is not None})


def Scorer(model: str | os.PathLike | None = None):  # noqa: N802 - kept for callers of the old class
    """Old entry point: `Scorer()` is the shipped model, `Scorer(path)` a fastText .bin, `Scorer("lexicon")`."""
    return make_scorer(model)


@lru_cache(maxsize=1)
def _default_scorer() -> FastTextToxicityScorer:
    return FastTextToxicityScorer()


def score(text: str, language: str) -> float:
    """Toxicity of `text` in [0, 1] with the shipped model (higher = more toxic); no chunking."""
    return _default_scorer().score(text, language)

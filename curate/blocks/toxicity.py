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
                 calibration: dict | None = None, scores_dir: str | None = None):
        super().__init__()
        if thresholds is None and threshold is None:
            raise ValueError("toxicity needs per-language thresholds (from calibration) or an absolute threshold")
        self.thresholds = thresholds or {}
        self.threshold = threshold
        self.top_p = top_p
        self.model = model
        self.chunk_chars = chunk_chars
        self.calibration = calibration or {}
        self.scores_dir = scores_dir  # run directory whose calibration scores can be reused
        self._stem, self._known = None, {}

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
        stem = doc.metadata.get("_stem")
        if self.scores_dir and stem != self._stem:
            from curate.calibrate import load_scores

            self._stem, self._known = stem, load_scores(self.scores_dir, stem)
        if doc.id in self._known:  # scored during calibration: same text, same scorer
            score, detail = self._known[doc.id]
        else:
            score, detail = self.scorer.score_document(doc.text, lang, chunk_chars=self.chunk_chars)
        thr, how = self.threshold_for(lang)
        ev = {"score": round(float(score), 6), "threshold": thr, "rule": how, "language": lang, **detail}
        if self.calibration:
            ev["calibration"] = self.calibration
        if score > thr:
            mark(doc, DROPPED, "toxicity", "toxicity.top_percent" if self.threshold is None else "toxicity.threshold", ev)
        else:
            record(doc, "toxicity", ev)

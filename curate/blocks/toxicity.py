"""toxicity: document score = max over chunks; drop the top p% per language (Apertus' rule), with
per-language thresholds estimated beforehand on a documented sample of the input (the calibration step
of `curate run`), or an absolute threshold. Score, threshold, how it was set, and the scorer's name and
sha256 go into the manifest.

Documents are scored in batches of up to `batch_size` live documents (a Hugging Face model on a GPU wants
them); the output order is the input order, and marked documents pass through untouched in their place.
"""
from __future__ import annotations

from curate.blocks.base import DROPPED, BatchedBlock, mark, record

POOLED = "*"


class Toxicity(BatchedBlock):
    name = "toxicity"
    stage = "toxicity"

    def __init__(self, thresholds: dict[str, float] | None = None, threshold: float | None = None,
                 top_p: float | None = 0.05, model: str | None = None, chunk_chars: int = 2000,
                 calibration: dict | None = None, known_scores=None, device: str = "cpu",
                 batch_size: int = 64, encoder: str | None = None, head: str | None = None):
        super().__init__()
        if thresholds is None and threshold is None:
            raise ValueError("toxicity needs per-language thresholds (from calibration) or an absolute threshold")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.thresholds = thresholds or {}
        self.threshold = threshold
        self.top_p = top_p
        self.model = model
        self.scorer_options = {"model": model, "device": device, "batch_size": batch_size, "encoder": encoder,
                               "head": head}
        self.batch_size = batch_size
        self.chunk_chars = chunk_chars
        self.calibration = calibration or {}
        # stem -> {doc_id: (score, detail)} of documents already scored (the run's calibration pass), so they
        # are not scored twice; the run supplies it, the block knows nothing of where scores are kept
        self.known_scores = known_scores
        self._stem, self._known = None, {}

    def setup(self) -> None:
        from curate.toxicity import scorer_from_config

        self.scorer = scorer_from_config(self.scorer_options)

    def threshold_for(self, language: str | None) -> tuple[float, str]:
        if self.threshold is not None:
            return self.threshold, "absolute"
        if language in self.thresholds:
            return self.thresholds[language], f"top {self.top_p:.2%} of {language}"
        return self.thresholds.get(POOLED, 1.0), f"top {self.top_p:.2%} pooled over all languages"

    def _known_score(self, doc):
        stem = doc.metadata.get("_stem")
        if self.known_scores is not None and stem != self._stem:
            self._stem, self._known = stem, self.known_scores(stem)
        return self._known.get(doc.id)

    def decide(self, doc, score: float, detail: dict) -> None:
        lang = doc.metadata.get("language") or "en"
        thr, how = self.threshold_for(lang)
        # the scorer's evidence, then what the decision used (language = the key the thresholds use)
        ev = {**detail, "score": round(float(score), 6), "threshold": thr, "rule": how, "language": lang}
        if self.calibration:
            ev["calibration"] = self.calibration
        if score > thr:
            if getattr(self.scorer, "lexicon_evidence", False):
                ev["lexicon_terms"] = self._lexicon_terms(doc.text, lang, detail)
            mark(doc, DROPPED, "toxicity", "toxicity.top_percent" if self.threshold is None else "toxicity.threshold", ev)
        else:
            record(doc, "toxicity", ev)

    def _lexicon_terms(self, text: str, lang: str, detail: dict) -> list[str]:
        """Evidence only, for dropped documents: the lexicon's terms in the chunk that decided (the lexicon
        does not decide anything here)."""
        from curate.toxicity import chunk_text, lexicon

        chunks = chunk_text(text, self.chunk_chars)
        chunk = chunks[min(int(detail.get("chunk", 0)), len(chunks) - 1)]
        return [t["term"] for t in lexicon.analyze(chunk, lang).summary()["top_terms"]]

    def process_batch(self, docs: list) -> None:
        todo = []
        for doc in docs:
            known = self._known_score(doc)
            if known is not None:  # scored during calibration: same text, same scorer
                self.decide(doc, *known)
            else:
                todo.append(doc)
        if not todo:
            return
        langs = [doc.metadata.get("language") or "en" for doc in todo]
        results = self.scorer.score_documents([d.text for d in todo], langs, chunk_chars=self.chunk_chars)
        for doc, (score, detail) in zip(todo, results):
            self.decide(doc, score, detail)

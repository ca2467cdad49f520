"""Per-language toxicity thresholds (drop the top p% per language) and a deterministic calibration sampler.

Drop rule: a document is dropped when `score > threshold`. For n sample scores of a language,
`n_drop = floor(top_p * n)` and the threshold is the largest score that is kept, i.e. the
(n - n_drop)-th smallest. With distinct scores exactly `n_drop` documents are dropped. Ties at the
boundary are all kept (we never drop more than p%): with scores [.1, .5, .5, .5] and p = 0.5 the
threshold is 0.5 and nothing is dropped. Languages with fewer than `min_docs` sample scores use the
threshold of all scores pooled, and the table records that.

Small or empty samples (`calibration_table`, what `curate run` writes to calibration/toxicity.json): a
top-p threshold needs at least `min_pooled_docs(top_p)` = ceil(1 / top_p) pooled scores (20 for 5%) before
it can drop even one document. Below that (a run of 20 documents sampled at 5%, or a sample where every
document was opted out or quarantined before toxicity) there is no threshold: `thresholds == {"*": 1.0}`,
which keeps every document (scores are in [0, 1] and the rule is `score > threshold`), `source["*"] ==
"none"` and `note` says why. Languages with fewer than `min_docs` scores are left out of `thresholds`, so
the block applies the pooled threshold `"*"` to them (and to languages never sampled), and `warnings`
lists them.

Sampling: a document is in the calibration sample when sha256(seed + doc_id) maps below `fraction`, so
the decision depends on the document alone, never on input order or task partitioning.
"""
from __future__ import annotations

import hashlib
import heapq
import math
from typing import Iterable, Mapping, Sequence

DEFAULT_SEED = "curate-toxicity-calibration"
POOLED = "*"


def _validated(scores: Iterable[float], language: str) -> list[float]:
    out = []
    for s in scores:
        s = float(s)
        if not math.isfinite(s):
            raise ValueError(f"non-finite toxicity score {s!r} for language {language!r}")
        out.append(s)
    return out


def quantile_threshold(scores: Sequence[float], top_p: float) -> float:
    """Largest kept score so that floor(top_p * n) documents have `score > threshold` (ties kept)."""
    if not scores:
        raise ValueError("cannot compute a threshold from no scores")
    ordered = sorted(scores)
    n_drop = math.floor(top_p * len(ordered) + 1e-9)
    return ordered[len(ordered) - n_drop - 1] if n_drop < len(ordered) else -math.inf


def is_dropped(score: float, threshold: float) -> bool:
    """The drop rule that `estimate_thresholds` calibrates for."""
    return score > threshold


class ThresholdTable(dict):
    """dict language -> threshold, plus how each was obtained (JSON-ready via `to_json`)."""

    def __init__(self, top_p: float, min_docs: int, pooled: float):
        super().__init__()
        self.top_p = top_p
        self.min_docs = min_docs
        self.pooled = pooled
        self.source: dict[str, str] = {}  # language -> "own" | "pooled"
        self.counts: dict[str, int] = {}

    def threshold_for(self, language: str) -> float:
        """Threshold for a language; languages never seen in calibration get the pooled one."""
        return self.get(language, self.pooled)

    def to_json(self) -> dict:
        return {"top_p": self.top_p, "min_docs": self.min_docs, "pooled": self.pooled,
                "thresholds": dict(sorted(self.items())), "source": dict(sorted(self.source.items())),
                "counts": dict(sorted(self.counts.items()))}


def estimate_thresholds(scores_by_language: Mapping[str, Iterable[float]], top_p: float = 0.05,
                        min_docs: int = 200) -> ThresholdTable:
    """Per-language thresholds that drop the top `top_p` of each language's sample.

    `min_docs` (default 200, i.e. 10 documents above a 5% cut) is the smallest sample trusted for a
    language of its own; smaller samples fall back to the pooled threshold (`table.source[lang] == "pooled"`).
    """
    if not 0 <= top_p < 1:
        raise ValueError(f"top_p must be in [0, 1), got {top_p}")
    if min_docs < 1:
        raise ValueError(f"min_docs must be >= 1, got {min_docs}")
    per_lang = {lang: _validated(s, lang) for lang, s in scores_by_language.items()}
    pooled_scores = [s for scores in per_lang.values() for s in scores]
    if not pooled_scores:
        raise ValueError("no scores given: cannot estimate thresholds")
    table = ThresholdTable(top_p=top_p, min_docs=min_docs, pooled=quantile_threshold(pooled_scores, top_p))
    for lang, scores in sorted(per_lang.items()):
        table.counts[lang] = len(scores)
        if len(scores) >= min_docs:
            table[lang] = quantile_threshold(scores, top_p)
            table.source[lang] = "own"
        else:
            table[lang] = table.pooled
            table.source[lang] = "pooled"
    table.counts[POOLED] = len(pooled_scores)
    return table


NO_THRESHOLD = 1.0  # keeps every document: scores are in [0, 1] and a document is dropped when score > threshold


def min_pooled_docs(top_p: float) -> int:
    """The smallest pooled sample whose top-p threshold drops at least one document (ceil(1 / top_p))."""
    return 1 if top_p <= 0 else max(1, math.ceil(1.0 / top_p - 1e-9))


def calibration_table(scores_by_language: Mapping[str, Iterable[float]], top_p: float = 0.05,
                      min_docs: int = 200) -> dict:
    """JSON-ready thresholds for the toxicity block, never raising on a small or empty sample.

    `thresholds`: own-threshold languages plus `"*"` (pooled, for every other language); `source`: per
    sampled language "own" or "pooled", and for `"*"` "pooled" or "none" (no threshold: every document is
    kept); `sample_sizes`; `warnings` (one line each); `note` when there is no threshold.
    """
    per_lang = {lang: _validated(s, lang) for lang, s in scores_by_language.items()}
    sizes = {lang: len(v) for lang, v in sorted(per_lang.items())}
    n_pooled = sum(sizes.values())
    need = min_pooled_docs(top_p)
    out = {"top_p": top_p, "min_docs": min_docs, "min_pooled_docs": need, "sample_sizes": sizes,
           "warnings": []}
    if n_pooled < need:
        why = ("no document reached toxicity scoring in the calibration sample" if n_pooled == 0 else
               f"{n_pooled} sampled document(s), fewer than the {need} a top {top_p:.2%} threshold needs")
        out.update(thresholds={POOLED: NO_THRESHOLD}, source={POOLED: "none"},
                   note=f"no calibration sample: {why}; no threshold, every document is kept by toxicity")
        out["warnings"].append(f"toxicity calibration: {why}; no threshold is set and toxicity keeps every document "
                               f"(raise sample_fraction or set an absolute threshold)")
        return out
    table = estimate_thresholds(per_lang, top_p=top_p, min_docs=min_docs)
    out["thresholds"] = {**{k: v for k, v in sorted(table.items()) if table.source[k] == "own"},
                         POOLED: table.pooled}
    out["source"] = {**dict(sorted(table.source.items())), POOLED: "pooled"}
    small = [f"{k} ({n})" for k, n in sizes.items() if table.source[k] == "pooled"]
    if small:
        out["warnings"].append(f"toxicity calibration: {len(small)} language(s) with fewer than {min_docs} sampled "
                               f"documents use the pooled threshold: {', '.join(small)}")
    return out


def calibration_key(doc_id: str, seed: str = DEFAULT_SEED) -> float:
    """Uniform value in [0, 1) fixed by (seed, doc_id)."""
    if not isinstance(doc_id, str) or not doc_id:
        raise ValueError(f"doc_id must be a non-empty string, got {doc_id!r}")
    digest = hashlib.sha256(f"{seed}\0{doc_id}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def in_calibration_sample(doc_id: str, fraction: float, seed: str = DEFAULT_SEED) -> bool:
    """Whether a document belongs to the calibration sample (per document, so any task can decide)."""
    return calibration_key(doc_id, seed) < fraction


def sample_for_calibration(doc_ids: Iterable[str], fraction: float, max_docs: int | None = None,
                           seed: str = DEFAULT_SEED) -> list[str]:
    """Doc ids in the sample, sorted by key; with `max_docs`, the `max_docs` smallest keys.

    Because the key depends only on the id, merging per-task samples and re-applying `max_docs` gives the
    same result as sampling everything at once. Duplicate ids are counted once.
    """
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction must be in [0, 1], got {fraction}")
    if max_docs is not None and max_docs < 0:
        raise ValueError(f"max_docs must be >= 0, got {max_docs}")
    keyed = {(calibration_key(d, seed), d) for d in doc_ids if in_calibration_sample(d, fraction, seed)}
    chosen = heapq.nsmallest(max_docs, keyed) if max_docs is not None else sorted(keyed)
    return [d for _, d in chosen]

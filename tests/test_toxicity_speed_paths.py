"""The fast paths of the default toxicity scorer give the scores of the plain computation.

The reference here is independent of the fast code: the .bin parsed word by word, features from the
trainer's `Featurizer` (pure Python, checked against fasttext-predict in tests/test_toxicity.py), windows
cut by the rule as it was written before `window_lengths`, and fasttext-predict itself. Also: the derived
cache under $CURATE_CACHE (absent, present, damaged, unwritable), cold and warm token tables, and the
fall-back to fasttext-predict for models the numpy predictor does not handle."""
from __future__ import annotations

import math
import os
import random
import struct

import numpy as np
import pytest

from curate.toxicity import FastTextToxicityScorer, chunk_text, default_model_path, recipe
from curate.toxicity import fasttext_model as ftm
from curate.toxicity import prepare
from curate.toxicity.prepare import prepare_text, window_lengths, window_tokens

WMIN, WMAX = 4, 64  # the scorer's window bounds (curate.toxicity.WINDOW_MIN_TOKENS / _MAX_TOKENS)


def _old_window_tokens(text: str, min_tokens: int, max_tokens: int) -> list[list[str]]:
    """The window rule as written before `window_lengths` (lists of tokens, line by line)."""
    windows, cur = [], []
    for line in prepare._normalised(text).split("\n"):
        toks = line.split()
        while len(toks) > max_tokens:
            if cur:
                windows.append(cur)
                cur = []
            windows.append(toks[:max_tokens])
            toks = toks[max_tokens:]
        cur += toks
        if len(cur) >= min_tokens:
            windows.append(cur)
            cur = []
    if cur:
        if windows and len(windows[-1]) + len(cur) <= max_tokens:
            windows[-1] = windows[-1] + cur
        else:
            windows.append(cur)
    return windows or [[]]


class Reference:
    """P(toxic) of a window from the .bin read entry by entry and the trainer's Featurizer."""

    def __init__(self, path):
        data = path.read_bytes()
        (dim, _ws, _ep, _mc, _neg, word_ngrams, _loss, _model, bucket, minn, maxn, _lru, _t) = \
            struct.unpack_from("<12id", data, 8)
        off = 8 + struct.calcsize("<12id")
        size, nwords, _nlabels, _ntok, _prune = struct.unpack_from("<iiiqq", data, off)
        off += struct.calcsize("<iiiqq")
        words, labels = [], []
        for _ in range(size):
            end = data.index(b"\0", off)
            (labels if data[end + 9] == 1 else words).append(data[off:end].decode("utf-8"))
            off = end + 10
        _q, m, n = struct.unpack_from("<?qq", data, off)
        off += 17
        inp = np.frombuffer(data, "<f4", m * n, off).reshape(m, n).astype(np.float64)
        off += 4 * m * n + 17
        out = np.frombuffer(data, "<f4", 2 * n, off).reshape(2, n).astype(np.float64)
        t = labels.index(ftm.TOXIC_LABEL)
        self.v = inp @ (out[t] - out[1 - t])
        cfg = ftm.TrainConfig(word_ngrams=word_ngrams, minn=minn, maxn=maxn, bucket=bucket)
        self.featurizer = ftm.Featurizer(words, cfg)

    def window(self, tokens: list[str]) -> float:
        ids = self.featurizer.features(" ".join(tokens))
        return 1.0 / (1.0 + math.exp(-math.fsum(self.v[ids]) / len(ids)))

    def document(self, text: str) -> float:
        return max(max(self.window(w) for w in _old_window_tokens(c, WMIN, WMAX)) for c in chunk_text(text, 2000))


@pytest.fixture(scope="module")
def texts(corpora):
    """A few hundred real labelled texts (every language), plus 3.5 KB documents joined from them."""
    rows = recipe.load_rows(corpora / "toxicity" / "train")
    picked = rows[::331][:300]
    docs, cur = [], ""
    for r in rows[7::97]:
        cur += r["text"].replace("\n", " ") + " "
        if len(cur) >= 3500:
            docs.append((cur[:3500], r["lang"]))
            cur = ""
        if len(docs) == 24:
            break
    return [(r["text"], r["lang"]) for r in picked] + docs


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CURATE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "toxicity"


def test_window_lengths_cut_the_windows_the_old_rule_cut(texts):
    rng = random.Random(5)
    words = ["idiot", "Haus,", "公园", "the.", "x!", "été;", "a", "\n", "?", "ok吧"]
    samples = [t for t, _ in texts] + ["", " ", "。", "a " * 200, "a. " * 10, ("b " * 70 + ". ") * 3]
    samples += [" ".join(rng.choice(words) for _ in range(rng.randint(0, 300))) for _ in range(200)]
    for text in samples:
        for lo, hi in ((WMIN, WMAX), (12, 64), (1, 3)):
            old = _old_window_tokens(text, lo, hi)
            tokens, lengths = window_lengths(text, lo, hi)
            assert window_tokens(text, lo, hi) == old
            assert tokens == prepare_text(text).split() and lengths == [len(w) for w in old]


def test_default_scores_equal_the_reference_and_fasttext_predict(texts, cache_dir):
    ref = Reference(default_model_path())
    scorer = FastTextToxicityScorer()
    assert scorer._ft.predictor == "numpy-linear" and scorer._ft._cpp is None  # no C++ load needed
    got = scorer.score_documents([t for t, _ in texts], [lang for _, lang in texts])
    for (text, _), (value, _) in zip(texts, got):
        assert value == pytest.approx(ref.document(text), abs=1e-9), text[:80]
    # fasttext-predict (float32, p + 1e-5) on the windows of the short texts; loaded only when asked for
    lines = [" ".join(w) for text, _ in texts[:150] for w in window_tokens(text, WMIN, WMAX)]
    fast = scorer._ft._linear.window_probabilities(lines)
    cpp = scorer._ft.score_prepared(lines)
    assert scorer._ft._cpp is not None
    assert np.allclose(fast, cpp, rtol=0, atol=1e-5)


def test_cold_warm_batched_and_reset_tables_give_identical_scores(texts, cache_dir):
    docs, langs = [t for t, _ in texts], [lang for _, lang in texts]
    cold = FastTextToxicityScorer().score_documents(docs, langs)
    one_by_one = FastTextToxicityScorer()
    singles = [one_by_one.score_document(t, lang) for t, lang in zip(docs, langs)]
    assert singles == cold
    assert one_by_one.score_documents(docs, langs) == cold  # warm: every token in the table
    one_by_one._ft._linear._reset_cache()  # the memory guard of long runs
    assert one_by_one.score_documents(docs[::-1], langs[::-1])[::-1] == cold


def test_derived_cache_is_written_once_read_back_and_rebuilt_when_damaged(texts, cache_dir, monkeypatch):
    docs, langs = [t for t, _ in texts[:80]], [lang for _, lang in texts[:80]]
    path = default_model_path()
    plain = ftm.LinearPredictor(path, cache=False)  # derived in memory, no file
    assert not cache_dir.exists()
    built = FastTextToxicityScorer()
    (file,) = cache_dir.glob("*.npz")
    assert built.sha256 in file.name and not list(cache_dir.glob("*.tmp"))
    expected = built.score_documents(docs, langs)
    windows = [w for t in docs for w in window_tokens(t, WMIN, WMAX)]
    assert np.array_equal(plain.token_window_probabilities(windows), built._ft._linear.token_window_probabilities(windows))
    stamp = file.stat().st_mtime_ns
    assert FastTextToxicityScorer().score_documents(docs, langs) == expected and file.stat().st_mtime_ns == stamp
    good = file.read_bytes()
    for damage in (b"", b"not a zip file", good[: len(good) // 2]):
        file.write_bytes(damage)
        assert FastTextToxicityScorer().score_documents(docs, langs) == expected
        assert file.read_bytes() != damage and ftm._read_derived(file, built._ft._linear.nwords) is not None
    blocker = cache_dir.parent.parent / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv("CURATE_CACHE", str(blocker))  # not a directory: the cache cannot be written
    assert FastTextToxicityScorer().score_documents(docs, langs) == expected


def test_other_models_fall_back_to_fasttext_predict(tmp_path, cache_dir):
    texts = ["tu es un idiot stupide", "quel beau jour", "du bist ein Arschloch", "we go to the park"] * 5
    labels = [True, False, True, False] * 5
    model = ftm.train_classifier(texts, labels, ftm.TrainConfig(epoch=5, lr=0.5, bucket=500, minn=2, maxn=4))
    path = tmp_path / "three.bin"
    model.labels = ["__label__toxic", "__label__clean", "__label__other"]  # three labels: not the numpy kind
    model.label_counts = [10, 10, 0]
    model.output_matrix = np.vstack([model.output_matrix, np.zeros((1, 2), np.float32)])
    ftm.save_fasttext_bin(model, path)
    scorer = ftm.FastTextScorer(path)
    assert scorer.predictor == "fasttext-predict" and scorer._cpp is not None
    chunks = [window_lengths(t + ". and another sentence here, with words", 2, 4) for t in texts[:4]]
    got = scorer.max_over_windows(chunks)
    for (tokens, lengths), value in zip(chunks, got):
        bounds = np.cumsum([0, *lengths])
        lines = [" ".join(tokens[a:b]) for a, b in zip(bounds, bounds[1:])]
        assert value == max(scorer.score_prepared(lines))
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"\0" * 64)
    with pytest.raises(ValueError, match="not a fastText model"):
        ftm.FastTextScorer(bad)


def test_token_rows_match_the_featurizer_on_awkward_tokens(cache_dir):
    ref = Reference(default_model_path())
    lp = FastTextToxicityScorer()._ft._linear
    tokens = ["a", "ab", "abc", "idiot", "你", "你好", "😪", "😪🤕x", "İstanbul", "ße", "ﬁ", "\x00\ufffd", "_x_",
              "é" * 7, "x" * 420, "a\x01b", "zażółć", "ÿ"]
    known = np.array([ref.featurizer._word_ids.get(t, -1) for t in tokens])
    h, s, c = lp._token_rows(tokens, known)
    for i, t in enumerate(tokens):
        _hash, ids = ref.featurizer.token(t)
        assert c[i] == len(ids) and s[i] == pytest.approx(math.fsum(ref.v[ids]), abs=1e-12), t
        assert int(h[i]) == (_hash & (2**64 - 1)), t
    with pytest.raises(ValueError, match="line breaks"):
        lp._token_rows(["a\nb"], np.array([-1]))


# --- the byte path: whole batches of chunks tokenised and looked up on UTF-8 bytes ---------------------

_AWKWARD = ["", " ", "\n\n", "a\u2028b\u0085c\x1cd\x1fe\u3000f\u00a0g\u1680h\u2009i\u205fj\u202fk", "中文字符测试。好的！",
            "ab中cd", "中", "x\ud800y z", "a\0b c", "__label__x y__z", "ＷＩＤＴＨ ǅungla İstanbul ß",
            "\u3400\u4dbf\u4e00\u9fff\uf900\ufaff\u3399\u4dc0\ufb00", "。。。！？；…", "a" * 5000, "é" * 9 + " " + "ß" * 8]


def _awkward_samples(n: int = 1500) -> list[str]:
    rng = random.Random(11)
    alphabet = [chr(c) for c in (9, 10, 11, 12, 13, 28, 31, 32, 0x85, 0xA0, 0x1680, 0x2000, 0x2028, 0x202F, 0x3000,
                                 0x3002, 0x4E00, 0x9FFF, 0xF900, 0xE9, 0x41, 0x2E, 0x5F, 0x61, 0x1F600, 0xD800, 0)]
    return _AWKWARD + ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(n)]


def test_prepare_batch_gives_the_tokens_and_windows_of_window_lengths(texts):
    samples = [t for t, _ in texts] + [c for t, _ in texts for c in chunk_text(t, 2000)] + _awkward_samples()
    for lo, hi in ((WMIN, WMAX), (12, 64), (2, 4), (1, 1)):
        for i in range(0, len(samples), 37):  # batches of several chunks, as the scorer sends them
            batch = samples[i:i + 37]
            got = prepare.prepare_batch(batch, lo, hi)
            raw = got.buf.tobytes()
            assert raw.endswith(bytes(8))  # the padding readers of 8-byte words rely on
            tokens = [raw[a:b].decode("utf-8", "surrogatepass") for a, b in zip(got.starts.tolist(), got.ends.tolist())]
            expected = [window_lengths(t, lo, hi) for t in batch]
            assert tokens == [tok for toks, _ in expected for tok in toks]
            assert got.windows == [lengths for _, lengths in expected]
    assert prepare.prepare_batch([], WMIN, WMAX).windows == []
    # the byte rules know every `str.isspace` character; none lies above U+3000
    assert not [c for c in range(0x3001, 0x110000) if chr(c).isspace()]


def test_word_table_finds_exactly_the_dictionary_rows(cache_dir):
    lp = FastTextToxicityScorer()._ft._linear
    words = lp.words
    vocab = {w: i for i, w in enumerate(words)}
    rng = random.Random(3)
    picked = rng.sample(words, 3000)
    # near misses: same first or last 8 bytes, one byte more or less, exactly 8 / 16 / 17 bytes, NUL inside
    near = [w + "x" for w in picked[:300]] + [w[:-1] for w in picked[300:600] if len(w) > 1]
    near += ["x" + w for w in picked[600:900]] + ["abcdefgh", "abcdefghabcdefgh", "abcdefghabcdefghi", "a\0", "\0a"]
    near += [w for w in words if len(w.encode()) > 16][:200]  # long words: looked up by their strings
    tokens = picked + near + [t for t in _AWKWARD for t in t.split()]
    buf = np.frombuffer("\n".join(tokens).encode("utf-8", "surrogatepass") + bytes(8), dtype=np.uint8)
    ends = np.flatnonzero(buf[:len(buf) - 8] == 10).tolist() + [len(buf) - 8]
    starts = [0] + [e + 1 for e in ends[:-1]]
    got = lp._words.rows_of(buf, np.array(starts), np.array(ends))
    for tok, row in zip(tokens, got.tolist()):
        expected = vocab.get(tok, -1) if len(tok.encode("utf-8", "surrogatepass")) <= 16 else -1
        assert row == expected, tok


def test_byte_path_scores_equal_the_string_path_bit_for_bit(texts, cache_dir):
    chunks = [c for t, _ in texts for c in chunk_text(t, 2000)] + _awkward_samples(300)
    byte_path = FastTextToxicityScorer()._ft
    string_path = FastTextToxicityScorer()._ft
    got = byte_path.max_over_chunks(chunks, WMIN, WMAX)
    assert got == string_path.max_over_windows([window_lengths(c, WMIN, WMAX) for c in chunks])
    assert byte_path.max_over_chunks(chunks, WMIN, WMAX) == got  # warm: the unseen tokens now in the table


def test_one_scorer_per_process_and_model_file(tmp_path, cache_dir):
    """Calibration and the main pass of a one-worker run share the loaded scorer; a changed file is loaded anew."""
    from curate.toxicity import make_scorer, scorer_from_config

    assert scorer_from_config({"model": None}) is make_scorer()
    texts = ["tu es un idiot stupide", "quel beau jour", "du bist ein Arschloch", "we go to the park"] * 5
    model = ftm.train_classifier(texts, [True, False, True, False] * 5, ftm.TrainConfig(epoch=2, bucket=100))
    path = tmp_path / "m.bin"
    ftm.save_fasttext_bin(model, path)
    first = make_scorer(str(path))
    assert make_scorer(str(path)) is first
    model.input_matrix[:, 0] += 1.0
    ftm.save_fasttext_bin(model, path)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # a clearly newer file
    second = make_scorer(str(path))
    assert second is not first and second.sha256 != first.sha256
    with pytest.raises(FileNotFoundError):
        make_scorer(str(tmp_path / "absent.bin"))

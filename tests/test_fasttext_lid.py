"""The numpy predictor of lid.176 (curate.fasttext_lid) against fastText's own C++ predictor: the same labels
and scores on real multilingual text and on odd inputs, batch or not, whatever its token cache holds."""
import random

import numpy as np
import pytest

import curate.fasttext_lid as F
from curate.blocks.language import LanguageId, identify, identify_many, lid176_path
from curate.fasttext_subwords import char_ngram_buckets, fasttext_hash, subword_hashes

from test_language import _multilingual_documents


@pytest.fixture(scope="module")
def both():
    return LanguageId(predictor="numpy"), LanguageId(predictor="fasttext")


def _same(a, b):
    assert a[0] == b[0], (a, b)
    assert abs(a[1] - b[1]) < 1e-5, (a, b)


def test_the_default_is_the_numpy_predictor_for_lid176():
    lid = LanguageId()
    assert lid.predictor == "numpy" and lid.model_path == lid176_path()


def test_same_labels_and_scores_as_fasttext_on_the_multilingual_set(corpora, both):
    """What the block reads (500 and 2,000 characters) and whole texts: demo pages, real crawl documents, UD
    sentences in seven languages. Batched as the block batches (64)."""
    ours, ref = both
    texts = [t for _, t in _multilingual_documents(corpora)]
    assert len(texts) > 6500
    for cut in (500, 2000, None):
        parts = [t if cut is None else t[:cut] for t in texts]
        got = [r for i in range(0, len(parts), 64) for r in ours.predict_many(parts[i:i + 64])]
        want = [ref.predict(p) for p in parts]
        assert sum(a[0] == b[0] for a, b in zip(got, want)) == len(parts), cut
        assert max(abs(a[1] - b[1]) for a, b in zip(got, want)) < 1e-5, cut


ODD = ["Hi", "a", "Zürich", "🏔️ Berge", "日本語のテキストです", "x" * 3000, "word\0word another",
       "hello </s> bonjour tout le monde", "__label__en __label__de das ist ein deutscher Satz",
       "__label__fr", "Grüezi mitenand, wie gaht's?", "Ελληνικά κείμενα εδώ", "مرحبا بالعالم",
       "a\u00a0b\u2003c\u3000d e", "tab\tsep\x0bvt\x0cff\rcr\nnl"]


@pytest.mark.parametrize("text", ODD)
def test_odd_inputs_match_fasttext(both, text):
    ours, ref = both
    _same(ours.predict(text), ref.predict(text))


def test_a_lone_surrogate_gets_a_label(both):
    """Only JSON input carries one; fastText's binding refuses such a string, the numpy predictor reads its
    3-byte form (as the toxicity predictor does)."""
    ours, ref = both
    label, score = ours.predict("\ud800 ceci est un texte en français")
    assert label == "fr" and score > 0.5
    with pytest.raises(TypeError):
        ref.predict("\ud800 ceci est un texte en français")


def test_a_batch_gives_what_each_line_alone_gives(both):
    ours, _ = both
    fresh = LanguageId(predictor="numpy")
    alone = [fresh.predict(t) for t in ODD]
    assert ours.predict_many(ODD) == alone


def test_results_do_not_depend_on_the_token_cache(monkeypatch, both):
    """The cache starts over when full (memory guard): a tiny limit forces it within batches."""
    ours, _ = both
    texts = [f"{' '.join(random.Random(i).sample(ODD[6:], 4))} {i}" for i in range(40)]
    want = ours.predict_many(texts)
    monkeypatch.setattr(F, "_MAX_CACHED", 12)
    small = LanguageId(predictor="numpy")
    got = [r for i in range(0, len(texts), 5) for r in small.predict_many(texts[i:i + 5])]
    assert got == want
    assert len(small._numpy.index) <= 12 + 60


def test_identify_many_is_identify_for_each(both):
    ours, _ = both
    texts = ["Hola hello bonjour ciao hallo " * 100, "Der Gemeinderat hat beraten. " * 50, "", "12345", "Hi"]
    assert identify_many(ours, texts) == [identify(ours, t) for t in texts]


def test_other_models_go_to_fasttext_and_numpy_refuses_them():
    from curate.toxicity import default_model_path

    path = str(default_model_path())  # a softmax model, not quantised: not what QuantizedLid reads
    with pytest.raises(F.UnsupportedModel):
        F.QuantizedLid(path)
    with pytest.raises(F.UnsupportedModel):
        LanguageId(path, predictor="numpy")
    lid = LanguageId(path)
    assert lid.predictor == "fasttext"
    label, score = lid.predict("you are a wonderful person")
    assert label in ("toxic", "clean") and 0.0 < score <= 1.0
    with pytest.raises(ValueError, match="predictor"):
        LanguageId(predictor="gpu")


def test_subword_hashes_are_fasttexts():
    rng = random.Random(5)
    alphabet = "abcxyzäöüß日本語🏔️é\u0301ЖΩ"
    tokens = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 9))) for _ in range(300)] + ["a", "ab"]
    for minn, maxn in ((2, 4), (3, 5), (1, 1), (0, 0)):
        hashes, toks, grams = subword_hashes(tokens, minn, maxn)
        assert hashes.tolist() == [fasttext_hash(t) for t in tokens]
        for i, t in enumerate(tokens):
            want = sorted(char_ngram_buckets(t, minn, maxn, 2**32)) if maxn > 0 else []
            assert sorted(grams[toks == i].tolist()) == want, (t, minn, maxn)
    assert [a.size for a in subword_hashes([], 2, 4)] == [0, 0, 0]
    with pytest.raises(ValueError):
        subword_hashes(["a\nb"], 2, 4)

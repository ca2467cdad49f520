"""Bring-your-own-model toxicity scorers (curate.toxicity.hf) on tiny randomly initialised models built here.

Nothing is downloaded: the models are transformers configs with random weights, the tokenizer a word-level
`tokenizers` model over a small vocabulary, all saved with save_pretrained in tmp_path."""
from __future__ import annotations

import json
import random

import pytest

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")
tokenizers = pytest.importorskip("tokenizers")

from curate.toxicity import hf  # noqa: E402

WORDS = ("the a and of to in is it you that he she they we this was for on are with as at be by "
         "good kind nice friendly lovely warm calm happy helpful gentle "
         "hate stupid idiot ugly awful kill disgusting vile trash loser").split()
CLEAN = WORDS[:30]
TOXIC = WORDS[30:]


def _tokenizer(directory):
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    vocab = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3}
    for w in WORDS:
        vocab.setdefault(w, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2),
                                                                                                 ("[SEP]", 3)])
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]",
                                                cls_token="[CLS]", sep_token="[SEP]")
    fast.save_pretrained(str(directory))
    return len(vocab)


def _config(vocab_size, init=0.5, **kw):
    return transformers.BertConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                   intermediate_size=64, max_position_embeddings=64, pad_token_id=0,
                                   initializer_range=init, **kw)  # wide init: random scores that differ


@pytest.fixture(scope="module")
def classifier_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("clf")
    n = _tokenizer(d)
    torch.manual_seed(0)
    model = transformers.BertForSequenceClassification(_config(n, num_labels=2))
    model.save_pretrained(str(d))
    return d


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("enc")
    n = _tokenizer(d)
    torch.manual_seed(1)
    # the default narrow init keeps mean-pooled embeddings close to a bag of words: a toy set is separable
    transformers.BertModel(_config(n, init=0.02)).save_pretrained(str(d))
    return d


def _doc(rng, n_words, pool=WORDS):
    return " ".join(rng.choice(pool) for _ in range(n_words))


def test_batching_equals_one_at_a_time(classifier_dir):
    rng = random.Random(0)
    docs = [_doc(rng, rng.randint(0, 150)) for _ in range(12)]
    langs = ["en", "de", "fr"] * 4
    big = hf.HFClassifierScorer(f"hf:{classifier_dir}", batch_size=64, max_tokens=32)
    one = hf.HFClassifierScorer(classifier_dir, batch_size=1, max_tokens=32)
    batched = big.score_documents(docs, langs, 2000)
    singles = [one.score_document(d, lang, 2000) for d, lang in zip(docs, langs)]
    assert len({round(s, 3) for s, _ in batched}) > 1  # the random model does not answer a constant
    for (s1, d1), (s2, d2) in zip(batched, singles):
        assert s1 == pytest.approx(s2, abs=1e-5)
        assert d1["chunk"] == d2["chunk"] and d1["n_chunks"] == d2["n_chunks"]
    assert batched[0][1]["batch_size"] == 64 and singles[0][1]["batch_size"] == 1


def test_long_document_is_chunked_and_max_pooled(classifier_dir):
    scorer = hf.HFClassifierScorer(classifier_dir, batch_size=8, max_tokens=32)
    assert scorer.window == 30  # [CLS] + 30 words + [SEP]
    rng = random.Random(1)
    words = _doc(rng, 200).split()
    groups = [words[i:i + 30] for i in range(0, 200, 30)]  # one word = one token: a group is a chunk
    first = [scorer.score_chunk(c) for c in scorer.chunk_ids(" ".join(words))]
    top = first.index(max(first))
    groups[top], groups[3] = groups[3], groups[top]  # the worst chunk in the middle: neither first nor last
    if len(groups[top]) != 30 or len(groups[3]) != 30:
        pytest.skip("the worst group is the short last one")
    text = " ".join(w for g in groups for w in g)
    chunks = scorer.chunk_ids(text)
    assert len(chunks) == 7  # ceil(200 / 30)
    assert all(len(c) <= 32 and c[0] == 2 and c[-1] == 3 for c in chunks)
    per_chunk = [scorer.score_chunk(c) for c in chunks]
    assert max(per_chunk) - min(per_chunk) > 1e-4  # chunks differ, so the max is a real choice
    score, detail = scorer.score_document(text, "en")
    assert score == pytest.approx(max(per_chunk), abs=1e-5)
    assert detail["chunk"] == per_chunk.index(max(per_chunk)) == 3
    assert detail["n_chunks"] == 7
    # a chunk scored as its own document gives the same score as inside the long one
    assert scorer.score_document(" ".join(text.split()[:30]), "en")[0] == pytest.approx(per_chunk[0], abs=1e-5)


def test_detail_evidence_and_sha_follows_weights(classifier_dir, tmp_path):
    scorer = hf.HFClassifierScorer(classifier_dir, max_tokens=32)
    _, detail = scorer.score_document("you are kind", "en")
    json.dumps(detail)
    for key in ("score", "scorer", "model_sha256", "chunk", "n_chunks", "device", "batch_size"):
        assert key in detail
    assert detail["scorer"] == scorer.name == f"hf:{classifier_dir.name}@{scorer.sha256[:12]}"
    assert detail["model_sha256"] == scorer.sha256 == hf.model_dir_sha256(classifier_dir)
    assert detail["device"] == "cpu" and detail["n_chunks"] == 1 and detail["chunk"] == 0
    assert detail["label_index"] == 1  # LABEL_0 / LABEL_1: no toxic name, so index 1

    # one changed weight changes the hash and the scorer's name
    copy = tmp_path / "copy"
    model = transformers.AutoModelForSequenceClassification.from_pretrained(str(classifier_dir))
    with torch.no_grad():
        model.classifier.bias[1] += 0.5
    model.save_pretrained(str(copy))
    scorer.tokenizer.save_pretrained(str(copy))
    changed = hf.HFClassifierScorer(copy, max_tokens=32)
    assert changed.sha256 != scorer.sha256
    assert changed.score("you are kind", "en") != pytest.approx(scorer.score("you are kind", "en"), abs=1e-6)
    # files that do not change the model (a README) leave the hash alone
    (copy / "README.md").write_text("notes")
    assert hf.model_dir_sha256(copy) == changed.sha256


def test_toxic_label_rule():
    assert hf.toxic_label_index({0: "non-toxic", 1: "toxic"}, 2) == 1
    assert hf.toxic_label_index({0: "TOXIC", 1: "neutral"}, 2) == 0
    assert hf.toxic_label_index({0: "normal", 1: "offensive", 2: "hateful"}, 3) == 1
    assert hf.toxic_label_index({0: "not_hate", 1: "neither", 2: "hate"}, 3) == 2
    assert hf.toxic_label_index({0: "LABEL_0", 1: "LABEL_1"}, 2) == 1
    assert hf.toxic_label_index({0: "LABEL_0"}, 1) == 0


def test_named_toxic_label_and_single_logit(tmp_path):
    n = _tokenizer(tmp_path / "named")
    torch.manual_seed(3)
    transformers.BertForSequenceClassification(_config(n, num_labels=2, id2label={0: "toxic", 1: "clean"},
                                                       label2id={"toxic": 0, "clean": 1})
                                               ).save_pretrained(str(tmp_path / "named"))
    named = hf.HFClassifierScorer(tmp_path / "named", max_tokens=32)
    assert named.label_index == 0 and named.label == "toxic"
    ids = named.chunk_ids("you are vile")[0]
    with torch.no_grad():
        logits = named.model(input_ids=torch.tensor([ids])).logits[0]
    assert named.score("you are vile", "en") == pytest.approx(float(torch.softmax(logits, -1)[0]), abs=1e-6)

    _tokenizer(tmp_path / "one")
    transformers.BertForSequenceClassification(_config(n, num_labels=1)).save_pretrained(str(tmp_path / "one"))
    one = hf.HFClassifierScorer(tmp_path / "one", max_tokens=32)
    with torch.no_grad():
        logit = one.model(input_ids=torch.tensor([one.chunk_ids("you are vile")[0]])).logits[0, 0]
    assert one.score("you are vile", "en") == pytest.approx(float(torch.sigmoid(logit)), abs=1e-6)


def test_max_tokens_capped_by_positions(classifier_dir):
    scorer = hf.HFClassifierScorer(classifier_dir, max_tokens=512)
    assert scorer.max_tokens == 64  # max_position_embeddings of the tiny config
    assert all(len(c) <= 64 for c in scorer.chunk_ids(_doc(random.Random(2), 300)))


def test_clear_errors(tmp_path, classifier_dir):
    with pytest.raises(hf.ModelNotFoundError, match="not found"):
        hf.HFClassifierScorer(tmp_path / "nope")
    with pytest.raises(hf.ModelNotFoundError, match="Hub id.*never"):
        hf.HFClassifierScorer("hf:unitary/toxic-bert")
    with pytest.raises(hf.ModelLoadError, match="not a local path"):
        hf.HFClassifierScorer("hf:https://huggingface.co/unitary/toxic-bert")
    (tmp_path / "empty").mkdir()
    with pytest.raises(hf.ModelLoadError, match="no config.json"):
        hf.HFClassifierScorer(tmp_path / "empty")
    with pytest.raises(ValueError, match="batch_size"):
        hf.HFClassifierScorer(classifier_dir, batch_size=0)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            hf.HFClassifierScorer(classifier_dir, device="cuda")
    with pytest.raises(hf.ModelNotFoundError, match="head file not found"):
        hf.EncoderHeadScorer(classifier_dir, tmp_path / "missing.safetensors")


def test_missing_transformers_names_the_extra(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "transformers":
            raise ImportError("No module named 'transformers'", name="transformers")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=r"pip install 'curate\[hf\]'"):
        hf.HFClassifierScorer("/nonexistent")


def _toy_set(n, seed):
    rng = random.Random(seed)
    texts, labels, langs = [], [], []
    for i in range(n):
        toxic = i % 2 == 1
        pool = TOXIC if toxic else CLEAN[20:]
        texts.append(_doc(rng, rng.randint(4, 10), pool))
        labels.append(toxic)
        langs.append("en" if i % 3 else "de")
    return texts, labels, langs


def test_encoder_head_train_and_score(encoder_dir, tmp_path):
    texts, labels, langs = _toy_set(120, 0)
    head = tmp_path / "head.safetensors"
    info = hf.train_head(encoder_dir, texts, labels, langs, head, epochs=60, lr=3e-3, seed=0, hidden=16,
                         max_tokens=32, min_rows=30)
    assert info["languages"] == ["de", "en"]
    assert set(info["heads"]) == {"de", "en", "_fallback"}
    again = hf.train_head(encoder_dir, texts, labels, langs, tmp_path / "again.safetensors", epochs=60, lr=3e-3,
                          seed=0, hidden=16, max_tokens=32, min_rows=30)
    assert again["sha256"] == info["sha256"]  # deterministic for a seed

    scorer = hf.EncoderHeadScorer(encoder_dir, head, max_tokens=32, batch_size=16)
    test_texts, test_labels, _ = _toy_set(40, 1)
    for lang in ("en", "it"):  # en has its own head; it has none and falls back
        scored = scorer.score_documents(test_texts, [lang] * len(test_texts), 2000)
        tox = [s for (s, _), y in zip(scored, test_labels) if y]
        clean = [s for (s, _), y in zip(scored, test_labels) if not y]
        pairs = sum(t > c for t in tox for c in clean) / (len(tox) * len(clean))
        assert pairs > 0.95, (lang, pairs)
        assert {d["head"] for _, d in scored} == {"en" if lang == "en" else "fallback"}
    one = hf.EncoderHeadScorer(encoder_dir, head, max_tokens=32, batch_size=1)
    mixed = ["en", "de", "it", "fr"] * 10  # heads differ within a batch: each chunk must get its own
    for (s1, d1), (s2, d2) in zip(scorer.score_documents(test_texts, mixed), one.score_documents(test_texts, mixed)):
        assert s1 == pytest.approx(s2, abs=1e-5) and d1["head"] == d2["head"]
    _, detail = scorer.score_document("you are kind", "de")
    json.dumps(detail)
    assert detail["head"] == "de" and detail["pooling"] == "mean"
    assert detail["encoder_sha256"] == hf.model_dir_sha256(encoder_dir)
    assert detail["model_sha256"] == scorer.sha256 != detail["encoder_sha256"]

    # a long document: score = max over its chunks, batched or not
    long_text = _doc(random.Random(5), 100, CLEAN[20:]) + " " + _doc(random.Random(6), 20, TOXIC)
    score, detail = scorer.score_document(long_text, "en")
    per_chunk = [scorer.score_chunk(c, "en") for c in scorer.chunk_ids(long_text)]
    assert detail["n_chunks"] == len(per_chunk) == 4
    assert score == pytest.approx(max(per_chunk), abs=1e-5) and detail["chunk"] == 3


def test_head_must_match_its_encoder(encoder_dir, classifier_dir, tmp_path):
    texts, labels, langs = _toy_set(40, 2)
    head = tmp_path / "h.safetensors"
    hf.train_head(encoder_dir, texts, labels, langs, head, epochs=2, lr=1e-3, seed=0, hidden=8, max_tokens=32)
    with pytest.raises(hf.ModelLoadError, match="trained on encoder"):
        hf.EncoderHeadScorer(classifier_dir, head, max_tokens=32)
    (tmp_path / "bad.safetensors").write_bytes(b"not a head")
    with pytest.raises(hf.ModelLoadError, match="not a safetensors head"):
        hf.EncoderHeadScorer(encoder_dir, tmp_path / "bad.safetensors")


def test_read_labelled_rows(tmp_path):
    p = tmp_path / "rows.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in [
        {"text": "a", "label": 1, "lang": "de"}, {"text": "b", "label": 0}, {"text": "c", "label": -1}]) + "\n")
    texts, labels, langs, stats = hf.read_labelled_rows(p, default_language="en")
    assert (texts, labels, langs) == (["a", "b"], [True, False], ["de", "en"])
    assert stats["skipped_unlabelled"] == 1
    c = tmp_path / "rows.csv"
    c.write_text("text,toxic,obscene\nx,0,1\ny,0,0\n")
    texts, labels, _, _ = hf.read_labelled_rows(c, label_columns=["toxic", "obscene"], language_column=None,
                                                default_language="fr")
    assert labels == [True, False]


def test_cli_train_head(encoder_dir, tmp_path):
    from click.testing import CliRunner

    from curate.toxicity.cli import toxicity

    texts, labels, langs = _toy_set(60, 3)
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps({"text": t, "label": int(y), "lang": lg}) + "\n"
                            for t, y, lg in zip(texts, labels, langs)))
    out = tmp_path / "head.safetensors"
    args = ["train-head", "--encoder", f"hf:{encoder_dir}", "--data", str(data), "--out", str(out), "--epochs", "3",
            "--hidden", "8", "--max-tokens", "32", "--seed", "1"]
    res = CliRunner().invoke(toxicity, args)
    assert res.exit_code == 0, res.output
    info = json.loads(res.output.strip().splitlines()[-1])
    assert info["rows"] == 60 and info["sha256"] == hf._file_sha256(out) and info["seed"] == 1
    assert hf.EncoderHeadScorer(encoder_dir, out, max_tokens=32).languages == info["languages"]
    bad = CliRunner().invoke(toxicity, [*args[:2], str(tmp_path / "none"), *args[3:]])
    assert bad.exit_code != 0 and "not found" in bad.output

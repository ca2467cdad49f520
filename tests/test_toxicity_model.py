"""The shipped toxicity classifier: loading, preparation, chunk/window max, batching, the block, the scorer
factory and config keys, determinism, and that the training recipe rebuilds the shipped file.
(Quality figures are in bench/bench_toxicity.py on held-out external data, never here.)"""
from __future__ import annotations

import hashlib
import json
import math
import random

import pytest
from click.testing import CliRunner
from datatrove.data import Document

from curate.blocks.base import FILE_END, QUARANTINED, mark, state
from curate.blocks.toxicity import Toxicity
from curate.toxicity import (DEFAULT_CHUNK_CHARS, FastTextToxicityScorer, LexiconScorer, chunk_text,
                             default_model_path, make_scorer, score, scorer_from_config)
from curate.toxicity import fasttext_model as ftm
from curate.toxicity import recipe
from curate.toxicity.cli import toxicity
from curate.toxicity.prepare import PREPARE_VERSION, prepare_text, prepare_windows

NEUTRAL = "The river flows quietly past the old mill, and the ducks swim near the bank. "
FIXED = ["You are a worthless idiot and I will find you.", "The museum opens at nine on Sundays.",
         "Du bist ein Arschloch.", "Le conseil municipal se réunit mardi.", "你这个傻逼，去死吧！",
         "Jesteś debilem.", "Você é um idiota.", "Sei un idiota.", "Eres un imbécil.", "Jij bent een klootzak.",
         "", NEUTRAL * 40 + "Shut up, you disgusting moron."]


@pytest.fixture(scope="module")
def shipped():
    return FastTextToxicityScorer()


def test_shipped_model_is_in_the_package_small_and_named(shipped):
    path = default_model_path()
    assert path.is_file() and path.stat().st_size <= 30 * 2**20
    assert shipped.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    meta = json.loads(path.with_name(path.name + ".json").read_text())
    assert meta["prepare"] == PREPARE_VERSION and meta["recipe"] == "default" and meta["sha256"] == shipped.sha256
    assert shipped.name == "curate-toxicity-ft/default"
    _, detail = shipped.score_document("hello", "en")
    assert detail["scorer"] == shipped.name and detail["model_sha256"] == shipped.sha256


@pytest.mark.parametrize("text", ["", " ", "hello", "idiot " * 500, "你" * 50, "\x00\ufffd", "f*** **** ***",
                                  "__label__toxic", "\n\n\t"])
def test_scores_are_probabilities(shipped, text):
    for lang in ("en", "zh", "xx"):
        s = shipped.score(text, lang)
        assert 0.0 <= s <= 1.0 and not math.isnan(s)
    assert 0.0 <= score(text, "en") <= 1.0


def test_prepare_is_one_line_han_split_and_windows_keep_the_tokens():
    assert prepare_text("Hello, WORLD!  I'm   here\n") == "hello world i m here"
    assert prepare_text("我们去公园。OK吧") == "我 们 去 公 园 ok 吧"
    assert prepare_text("«Ça va?» — oui… d’accord") == "ça va oui d accord"
    assert prepare_text("__label__toxic x") == "label toxic x"  # fastText label syntax cannot be smuggled in
    rng = random.Random(3)
    words = ["idiot", "Haus,", "公园", "the.", "x!", "été;", "a"]
    for _ in range(50):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(0, 200)))
        wins = prepare_windows(text, 8, 64)
        assert " ".join(wins).split() == prepare_text(text).split()
        assert wins and all(len(w.split()) <= 64 for w in wins) and all("\n" not in w for w in wins)


def test_vectorised_predictor_agrees_with_fasttext_predict(shipped, corpora):
    assert shipped._ft.predictor == "numpy-linear"
    texts = FIXED + [r["text"] for r in recipe.load_rows(corpora / "toxicity" / "train")[::500]]
    lines = [prepare_text(t) for t in texts]
    fast = shipped._ft._linear.window_probabilities(lines)
    for text, p in zip(texts, fast):
        assert shipped._ft.score(text) == pytest.approx(p, abs=1e-5), text


def test_document_score_is_max_over_chunks_and_windows(shipped):
    insult = "Shut up, you disgusting moron, nobody wants you here."
    doc = NEUTRAL * 60 + insult + " " + NEUTRAL * 10
    s, detail = shipped.score_document(doc, "en", chunk_chars=DEFAULT_CHUNK_CHARS)
    chunks = chunk_text(doc, DEFAULT_CHUNK_CHARS)
    assert detail["n_chunks"] == len(chunks) > 2 and insult in chunks[detail["chunk"]]
    assert s == max(shipped.score(c, "en") for c in chunks)
    # one abusive sentence among ~800 clean tokens is not diluted: the window that holds it decides
    assert s > shipped.score(NEUTRAL * 70, "en") and s == pytest.approx(shipped.score(insult, "en"), abs=0.05)
    assert json.loads(json.dumps(detail)) == detail


def test_batch_scores_equal_single_scores_and_are_deterministic(shipped):
    langs = ["en", "en", "de", "fr", "zh", "pl", "pt", "it", "es", "nl", "en", "en"]
    batch = shipped.score_documents(FIXED, langs, 300)
    single = [shipped.score_document(t, l, 300) for t, l in zip(FIXED, langs)]
    assert batch == single
    again = FastTextToxicityScorer().score_documents(FIXED[::-1], langs[::-1], 300)[::-1]
    assert again == batch  # a fresh load, another order: the same scores
    with pytest.raises(ValueError):
        shipped.score_documents(["a", "b"], ["en"], 300)


def _docs(n: int, seed: int = 0) -> list[Document]:
    rng = random.Random(seed)
    pool = FIXED[:-1] + [NEUTRAL, "Go to hell, you piece of shit.", "Das Wetter ist schön."]
    docs = []
    for i in range(n):
        doc = Document(text=" ".join(rng.choice(pool) for _ in range(rng.randint(1, 6))), id=f"d{i}",
                       metadata={"language": rng.choice(["en", "de", "fr"])})
        if i % 7 == 3:
            mark(doc, QUARANTINED, "input", "input.test")  # marked earlier: passes through untouched
        docs.append(doc)
    docs.insert(n // 2, Document(text="", id="end", metadata={FILE_END: {"file": "x"}}))
    return docs


def _run_block(batch_size: int, docs: list[Document]) -> list[tuple]:
    block = Toxicity(threshold=0.5, batch_size=batch_size)
    out = list(block.run(iter(docs)))
    return [(d.id, json.dumps(state(d), sort_keys=True) if FILE_END not in d.metadata else "end") for d in out]


def test_block_batches_keep_order_and_give_the_same_decisions():
    results = [_run_block(bs, _docs(40)) for bs in (1, 3, 64)]
    assert results[0] == results[1] == results[2]
    ids = [i for i, _ in results[0]]
    assert ids == [d.id for d in _docs(40)]
    decided = [json.loads(s) for i, s in results[0] if s != "end"]
    assert sum(s["reason"] == "input.test" for s in decided) == len([i for i in range(40) if i % 7 == 3])
    tox = [s["detail"]["toxicity"] for s in decided if "toxicity" in s["detail"]]
    assert tox and all(t["scorer"] == "curate-toxicity-ft/default" and len(t["model_sha256"]) == 64 for t in tox)
    assert any(s["status"] == "dropped" for s in decided) and any(s["status"] == "kept" for s in decided)
    # evidence only: the lexicon's terms are listed for dropped documents, and never decide
    dropped = [s["detail"]["toxicity"] for s in decided if s["status"] == "dropped"]
    assert all("lexicon_terms" in t for t in dropped) and any(t["lexicon_terms"] for t in dropped)
    assert all("lexicon_terms" not in s["detail"]["toxicity"] for s in decided
               if s["status"] == "kept" and "toxicity" in s["detail"])


def test_explain_lists_lexicon_terms_as_evidence(shipped):
    info = shipped.explain("You are a stupid idiot.", "en")
    assert "idiot*" in info["lexicon_terms"] and info["scorer"] == shipped.name
    assert info["score"] == round(shipped.score("You are a stupid idiot.", "en"), 6)


def test_block_quarantines_only_the_failing_document(monkeypatch):
    block = Toxicity(threshold=0.5, batch_size=8)
    block.setup()
    real = block.scorer.score_documents

    def flaky(texts, languages, chunk_chars):
        if any("BOOM" in t for t in texts):
            raise RuntimeError("bad document")
        return real(texts, languages, chunk_chars)

    monkeypatch.setattr(block, "setup", lambda: None)
    monkeypatch.setattr(block.scorer, "score_documents", flaky)
    docs = [Document(text=t, id=str(i), metadata={"language": "en"}) for i, t in enumerate(["ok", "BOOM", "fine"])]
    out = list(block.run(iter(docs)))
    assert [state(d)["status"] for d in out] == ["kept", "quarantined", "kept"]
    assert state(out[1])["reason"] == "toxicity.error"


def test_make_scorer_choices_and_errors(tmp_path):
    assert isinstance(make_scorer(), FastTextToxicityScorer)
    assert isinstance(make_scorer("lexicon"), LexiconScorer)
    assert isinstance(make_scorer(str(default_model_path())), FastTextToxicityScorer)
    assert scorer_from_config({"model": "lexicon", "device": "cpu", "batch_size": 8}).name == "lexicon-v1"
    with pytest.raises(ValueError, match="Hugging Face"):
        make_scorer(device="cuda")
    with pytest.raises(ValueError, match="device"):
        make_scorer(device="tpu")
    with pytest.raises(ValueError, match="both"):
        make_scorer(encoder="hf:/x")
    with pytest.raises(ValueError, match="batch_size"):
        make_scorer(batch_size=0)
    with pytest.raises(FileNotFoundError):
        make_scorer(str(tmp_path / "missing.bin"))
    with pytest.raises(FileNotFoundError):  # routed to curate.toxicity.hf, "hf:" stripped
        make_scorer(f"hf:{tmp_path / 'no-such-dir'}")
    with pytest.raises(FileNotFoundError):
        make_scorer(encoder=f"hf:{tmp_path / 'no-such-dir'}", head=str(tmp_path / "head.pt"))
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="fastText"):
        make_scorer(str(bad))
    old = tmp_path / "old.bin"
    old.write_bytes(default_model_path().read_bytes())
    (tmp_path / "old.bin.json").write_text(json.dumps({"prepare": "curate-toxicity-prepare/1"}))
    with pytest.raises(ValueError, match="retrain"):
        make_scorer(str(old))


def _pipeline(tmp_path, tox: str):
    from curate.config import load_pipeline

    (tmp_path / "p.yaml").write_text("name: t\nblocks:\n  - toxicity: " + tox + "\n  - tokenize: {}\n")
    return load_pipeline(tmp_path / "p.yaml")


def test_config_keys_resolve_and_fail_early(tmp_path):
    from curate.config import ConfigError

    cfg = _pipeline(tmp_path, "{model: lexicon, batch_size: 16}").block("toxicity")
    assert cfg["model"] == "lexicon" and cfg["batch_size"] == 16 and cfg["device"] == "cpu"
    (tmp_path / "m.bin").write_bytes(default_model_path().read_bytes())
    cfg = _pipeline(tmp_path, "{model: m.bin}").block("toxicity")
    assert cfg["model"] == str((tmp_path / "m.bin").resolve())
    (tmp_path / "hfdir").mkdir()
    cfg = _pipeline(tmp_path, "{model: 'hf:hfdir', device: cuda}").block("toxicity")
    assert cfg["model"] == "hf:" + str((tmp_path / "hfdir").resolve())
    for bad, msg in [("{model: nope.bin}", "does not exist"), ("{model: 'hf:nodir'}", "does not exist"),
                     ("{device: cuda}", "cuda"), ("{encoder: 'hf:hfdir'}", "go together"),
                     ("{batch_size: 0}", "batch_size"), ("{device: gpu}", "device")]:
        with pytest.raises(ConfigError, match=msg):
            _pipeline(tmp_path, bad)


def test_splits_are_fixed_by_the_text():
    assert recipe.split_of("hello") == recipe.split_of("hello")
    counts = {"test": 0, "dev": 0, "train": 0}
    for i in range(20000):
        counts[recipe.split_of(f"text {i}")] += 1
    assert 1800 < counts["test"] < 2200 and 1800 < counts["dev"] < 2200


def test_recipe_rebuilds_the_shipped_model(corpora, tmp_path, shipped):
    """`curate toxicity train --recipe default` from the shared data gives the shipped scores (CI=true runs it)."""
    data = corpora / "toxicity" / "train"
    out = tmp_path / "rebuilt.bin"
    result = CliRunner().invoke(toxicity, ["train", "--recipe", "default", "--train-data", str(data),
                                           "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["rows"] > 100_000
    rebuilt = FastTextToxicityScorer(out)
    for text, lang in zip(FIXED, ["en"] * len(FIXED)):
        assert rebuilt.score(text, lang) == pytest.approx(shipped.score(text, lang), abs=1e-3), text
    held_out = [r["text"] for r in recipe.load_rows(data) if r["split"] == "test"][:300]
    a = [shipped.score(t, "en") for t in held_out]
    b = [rebuilt.score(t, "en") for t in held_out]
    assert max(abs(x - y) for x, y in zip(a, b)) < 1e-3


def test_cli_score_names_the_model():
    result = CliRunner().invoke(toxicity, ["score", "-l", "en", "you are an idiot"])
    assert result.exit_code == 0, result.output
    detail = json.loads(result.output)
    assert detail["scorer"] == "curate-toxicity-ft/default" and 0 <= detail["score"] <= 1
    result = CliRunner().invoke(toxicity, ["train", "--out", "x.bin"])
    assert result.exit_code != 0 and "exactly one" in result.output


def test_pipeline_scores_and_thresholds_do_not_depend_on_the_task_count(tmp_path):
    """Same input and model: the same toxicity scores, thresholds and decisions with 1 or 3 tasks."""
    from conftest import run_cli

    from curate.manifest import connect

    rng = random.Random(11)
    pool = FIXED[:-1] + [NEUTRAL, "Go to hell, you piece of shit.", "We planted tomatoes this spring."]
    inputs = tmp_path / "in"
    inputs.mkdir()
    for f in range(3):
        docs = [{"id": f"f{f}-{i}", "url": f"https://h{f}.example/{i}",
                 "text": " ".join(rng.choice(pool) for _ in range(rng.randint(1, 8)))} for i in range(40)]
        (inputs / f"part{f}.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    (tmp_path / "p.yaml").write_text("name: tox\ninput: {format: jsonl}\nblocks:\n"
                                     "  - toxicity: {top_p: 0.1, batch_size: 7}\n  - tokenize: {}\n")
    results = []
    for tasks in (1, 3):
        out = tmp_path / f"out{tasks}"
        run_cli("run", tmp_path / "p.yaml", "--input", str(inputs / "*.jsonl"), "--out", out,
                "--tasks", str(tasks), "--no-progress")
        rows = connect(out).execute("SELECT doc_id, status, reason, detail FROM manifest ORDER BY doc_id").fetchall()
        cal = json.loads((out / "calibration" / "toxicity.json").read_text())
        results.append((rows, cal["thresholds"]))
    assert results[0] == results[1]
    rows = results[0][0]
    assert len(rows) == 120 and any(r[1] == "dropped" for r in rows)
    scored = [json.loads(r[3])["toxicity"] for r in rows if r[1] != "quarantined"]  # empty texts are quarantined
    assert len(scored) > 100 and all(t["model_sha256"] == FastTextToxicityScorer().sha256 for t in scored)

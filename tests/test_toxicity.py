"""Tests for curate.toxicity: the lexicon scorer (now an explicit choice, `model: lexicon`) and its context
rules, thresholds, sampler, the fastText trainer. The shipped classifier: tests/test_toxicity_model.py."""
from __future__ import annotations

import json
import math
import random
import struct

import pytest
from click.testing import CliRunner

from curate.toxicity import LexiconScorer, Scorer, chunk_text
from curate.toxicity import fasttext_model as ftm
from curate.toxicity import lexicon, thresholds
from curate.toxicity.cli import toxicity
from curate.toxicity.prepare import prepare_text

score = lexicon.score_text  # the lexicon tests below test the word lists and their context rules

JIGSAW_LABELS = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]

# (toxic, neutral) hand-written pairs, two per language
PAIRS = {
    "en": [("You are a pathetic idiot and everyone hates you.", "The committee approved the budget for the new library."),
           ("I will kill you if you come back here.", "We will visit you when you come back home.")],
    "de": [("Du bist ein verdammtes Arschloch.", "Das Wetter in Berlin ist heute sonnig und warm."),
           ("Halt die Fresse, du Vollidiot!", "Bitte schließen Sie die Tür, wenn Sie gehen.")],
    "fr": [("Ferme ta gueule, espèce de connard.", "Le musée ouvre ses portes à neuf heures."),
           ("Je vais te tuer, sale pute.", "Je vais te rendre visite demain matin.")],
    "it": [("Sei proprio uno stronzo e un idiota.", "Il treno per Milano parte alle otto."),
           ("Vaffanculo, testa di cazzo!", "Grazie mille per il tuo aiuto di ieri.")],
    "nl": [("Jij bent een vuile klootzak.", "De bakker op de hoek verkoopt heerlijk brood."),
           ("Ik maak je af, kankerlijer.", "Ik maak je ontbijt klaar, lieverd.")],
    "pl": [("Jesteś skończonym debilem, spierdalaj.", "Dzisiaj idziemy do kina na nowy film."),
           ("Zabiję cię, ty kurwo.", "Zadzwonię do ciebie jutro rano.")],
    "es": [("Eres un imbécil y un hijo de puta.", "La biblioteca abre todos los días a las nueve."),
           ("Te voy a matar, pendejo.", "Te voy a llamar mañana por la tarde.")],
    "pt": [("Você é um idiota e um filho da puta.", "A padaria abre cedo todos os dias."),
           ("Vou te matar, seu otário.", "Vou te ligar amanhã de manhã.")],
    "zh": [("你这个傻逼，去死吧！", "今天的天气很好，我们去公园散步。"),
           ("我要杀了你这个混蛋。", "我明天去图书馆看书。")],
    "rm": [("Ti es in tamberl e in idiot.", "Jau vom a Cuira cun il tren."),
           ("Jau ta mazz, putana!", "Jau ta scriv ina brev.")],
}

# (counter-speech or reported speech, direct abuse with the same term)
COUNTER = [
    ("en", "Calling someone a faggot is unacceptable.", "You are a faggot."),
    ("en", 'He used the word "bitch" and was suspended.', "You stupid bitch."),
    ("de", "Das Wort „Schwuchtel“ ist beleidigend.", "Du bist eine Schwuchtel."),
    ("fr", "Traiter quelqu'un de connard est inacceptable.", "T'es un connard."),
    ("es", 'Llamar a alguien "maricón" es inaceptable.', "Eres un maricón."),
    ("pl", "Słowo „debil” jest obraźliwe.", "Jesteś debilem."),
    ("zh", "“傻逼”这个词是侮辱性的，不应该说。", "你这个傻逼。"),
]


def test_all_ten_languages_ship_a_lexicon():
    assert set(lexicon.SUPPORTED_LANGUAGES) <= set(lexicon.available_languages())
    for lang in lexicon.SUPPORTED_LANGUAGES:
        lex = lexicon.load_lexicon(lang)
        cats = {e.category for e in lex.entries}
        assert "insult" in cats and "cue.you" in cats, lang


@pytest.mark.parametrize("text", ["", " ", "hello", "idiot " * 500, "你" * 50, "\x00\ufffd", "f*** **** ***"])
def test_score_in_unit_interval(text):
    for lang in ("en", "zh", "xx"):
        s = score(text, lang)
        assert 0.0 <= s <= 1.0 and not math.isnan(s)


@pytest.mark.parametrize("lang", sorted(PAIRS))
def test_toxic_above_neutral_per_language(lang):
    for toxic, neutral in PAIRS[lang]:
        st, sn = score(toxic, lang), score(neutral, lang)
        assert st > sn, (lang, toxic, st, neutral, sn)
        assert st > 0.5 and sn < 0.1, (lang, st, sn)


@pytest.mark.parametrize("lang,counter,direct", COUNTER)
def test_counter_speech_below_direct_abuse(lang, counter, direct):
    sc, sd = score(counter, lang), score(direct, lang)
    assert 0 < sc < sd, (counter, sc, direct, sd)


@pytest.mark.parametrize("lang,counter,used", [
    ("en", "Calling someone a faggot is unacceptable.", "That guy is a faggot."),
    ("en", 'The word "retard" is a slur.', "Those people are retards."),
    ("de", "Das Wort „Schwuchtel“ ist beleidigend.", "Er ist eine Schwuchtel."),
    ("it", "Chiamare qualcuno «stronzo» è inaccettabile.", "Quel tizio è uno stronzo."),
])
def test_mention_below_third_person_use(lang, counter, used):
    """Without second-person address on either side, quoting/mentioning still lowers the score."""
    assert 0 < score(counter, lang) < score(used, lang) - 0.2


def test_second_person_and_threat_context():
    assert score("You are an idiot.", "en") > score("That plan was idiotic.", "en") > 0
    threat, news = score("I will kill you.", "en"), score("The storm could kill crops in the valley.", "en")
    assert threat > 0.6 and news < 0.2


@pytest.mark.parametrize("lang,text", [
    ("en", "Scunthorpe United won the class assessment in Middlesex."),
    ("en", "The assassin ordered a cocktail; Dickens wrote about a therapist and a grape harvest."),
    ("en", "Shiitake mushrooms and a pussycat at the Arsenal match, cumulative scores."),
    ("pl", "To był wielki sukces naszej firmy."),
    ("nl", "Hoera, we hebben gewonnen!"),
    ("es", "Compré un cono de helado en la playa."),
    ("fr", "La connexion au conseil municipal est rétablie."),
    ("de", "Der Mistral weht über die Provence."),
])
def test_scunthorpe_words_are_clean(lang, text):
    assert score(text, lang) == 0.0, lexicon.analyze(text, lang).matches


def test_obfuscation_case_and_inflection():
    for text in ["f*ck you", "you stupid b1tch", "FUUUUCK", "sh*tty", "you a$$hole", "IDIOTS"]:
        assert score(text, "en") > 0.3, text
    assert score("Arschlöcher", "de") > 0.3
    assert score("estupido", "es") == score("estúpido", "es") > 0


def test_repetition_saturates():
    one, two, many = (score(" ".join(["idiot"] * k), "en") for k in (1, 2, 50))
    assert one < two < many < 1.0
    assert two - one < one  # diminishing increments


def test_unknown_language_falls_back_and_says_so():
    info = LexiconScorer().explain("you idiot", "xx")
    assert info["fallback"] is True and info["lexicon"].startswith("en") and "xx" in info["note"]
    assert info["score"] > 0.5
    assert lexicon.normalize_language("fra_Latn") == "fr" and lexicon.normalize_language("pt-BR") == "pt"
    assert LexiconScorer().explain("du idiot", "deu_Latn")["fallback"] is False
    with pytest.raises(ValueError):
        LexiconScorer().score("text", "")


def test_score_document_is_max_over_chunks_and_json():
    neutral = "The river flows quietly past the old mill. " * 120
    doc = neutral + "You are a worthless idiot."
    s, detail = LexiconScorer().score_document(doc, "en", chunk_chars=500)
    chunks = chunk_text(doc, 500)
    assert "".join(chunks) == doc and all(len(c) <= 500 for c in chunks)
    assert detail["chunk"] == len(chunks) - 1 == detail["n_chunks"] - 1
    assert s == max(score(c, "en") for c in chunks) > 0.5
    assert detail["top_terms"][0]["term"] == "idiot*" and detail["categories"]["insult"] >= 1
    assert json.loads(json.dumps(detail)) == detail
    assert LexiconScorer().score_document("", "en")[0] == 0.0
    assert detail["scorer"] == "lexicon-v1" and len(detail["model_sha256"]) == 64


def test_lexicon_parse_errors_name_the_line():
    with pytest.raises(ValueError, match="x.txt:2"):
        lexicon.parse_lexicon("idiot | insult | 1\nbad line without fields\n", "en", "x.txt")
    with pytest.raises(ValueError, match="unknown category"):
        lexicon.parse_lexicon("idiot | nasty | 1\n", "en", "x.txt")
    with pytest.raises(ValueError, match="too short"):
        lexicon.parse_lexicon("as* | profanity | 1\n", "en", "x.txt")


# --- thresholds -----------------------------------------------------------------------------------

def test_thresholds_drop_exactly_top_p_per_language():
    rng = random.Random(7)
    data = {"en": [rng.random() for _ in range(1000)], "de": [rng.betavariate(2, 5) for _ in range(400)],
            "rm": [rng.random() for _ in range(30)]}
    table = thresholds.estimate_thresholds(data, top_p=0.05, min_docs=200)
    for lang, n_drop in (("en", 50), ("de", 20)):
        assert table.source[lang] == "own"
        assert sum(thresholds.is_dropped(s, table[lang]) for s in data[lang]) == n_drop
    assert table.source["rm"] == "pooled" and table["rm"] == table.pooled
    pooled = data["en"] + data["de"] + data["rm"]
    assert sum(s > table.pooled for s in pooled) == math.floor(0.05 * len(pooled))
    assert table.threshold_for("never-seen") == table.pooled
    assert json.loads(json.dumps(table.to_json()))["counts"]["*"] == 1430


def test_threshold_ties_are_kept_and_bad_input_fails():
    table = thresholds.estimate_thresholds({"en": [0.1, 0.5, 0.5, 0.5]}, top_p=0.5, min_docs=1)
    assert table["en"] == 0.5  # floor(2) would split the tie: keep all tied documents
    table = thresholds.estimate_thresholds({"en": [0.0] * 95 + [1.0] * 5}, top_p=0.05, min_docs=1)
    assert sum(s > table["en"] for s in [0.0] * 95 + [1.0] * 5) == 5
    with pytest.raises(ValueError, match="non-finite"):
        thresholds.estimate_thresholds({"en": [0.1, float("nan")]})
    with pytest.raises(ValueError):
        thresholds.estimate_thresholds({})
    with pytest.raises(ValueError):
        thresholds.estimate_thresholds({"en": [0.1]}, top_p=1.5)


def test_sampler_is_independent_of_order_and_partition():
    ids = [f"doc-{i}" for i in range(5000)]
    full = thresholds.sample_for_calibration(ids, 0.1, max_docs=300)
    assert len(full) == 300
    shuffled = ids[:]
    random.Random(1).shuffle(shuffled)
    assert thresholds.sample_for_calibration(shuffled, 0.1, max_docs=300) == full
    parts = [shuffled[k::3] for k in range(3)]  # three tasks sample their own part, then merge
    merged = [d for p in parts for d in thresholds.sample_for_calibration(p, 0.1, max_docs=300)]
    assert thresholds.sample_for_calibration(merged, 1.0, max_docs=300) == full
    uncapped = thresholds.sample_for_calibration(ids, 0.1)
    assert 400 < len(uncapped) < 600
    assert all(thresholds.in_calibration_sample(d, 0.1) for d in uncapped)
    assert thresholds.sample_for_calibration(ids, 0.1, seed="other") != uncapped


# --- fastText trainer -----------------------------------------------------------------------------

def test_fasttext_hash_matches_fnv1a():
    assert ftm.fasttext_hash("") == 2166136261
    assert ftm.fasttext_hash("a") == 0xE40C292C  # FNV-1a 32-bit test vector


def _fasttext_module():
    return pytest.importorskip("fasttext", reason="fasttext-predict is needed to load trained models")


def test_fasttext_bin_loads_and_predicts_like_our_forward_pass(tmp_path):
    _fasttext_module()
    texts = ["tu es un idiot stupide", "quel beau jour à Zürich", "du bist ein Arschloch",
             "我们去公园散步", "you are a moron", "the café opens at nine"] * 5
    labels = [True, False, True, False, True, False] * 5
    probe = texts[:6] + ["Zürich café 公园 idiot", "", "unseen words entirely", "ße ﬁ İstanbul ÿ " * 30,
                         "__label__toxic idiot", "a\tb\u00a0c\u3000d。e！"]
    for cfg in (ftm.TrainConfig(epoch=20, lr=0.5, bucket=5000),  # words + word bigrams
                ftm.TrainConfig(epoch=20, lr=0.5, bucket=5000, minn=2, maxn=5, word_ngrams=3),  # + char n-grams
                ftm.TrainConfig(epoch=20, lr=0.5, word_ngrams=1)):  # words only, no buckets
        model = ftm.train_classifier(texts, labels, cfg)
        path = tmp_path / "m.bin"
        digest = ftm.save_fasttext_bin(model, path)
        with open(path, "rb") as fh:
            assert struct.unpack("<ii", fh.read(8)) == (793712314, 12)
        meta = json.loads((tmp_path / "m.bin.json").read_text())
        assert meta["sha256"] == digest and meta["stats"]["toxic"] == 15
        scorer = ftm.FastTextScorer(path)  # one line as fasttext-predict sees it (no sentence windows)
        assert scorer.sha256 == digest
        ours = [1 / (1 + math.exp(-z)) for z in model.logits(probe)]
        fast = ftm.LinearPredictor(path).window_probabilities([prepare_text(t) for t in probe])
        for text, p, q in zip(probe, ours, fast):
            assert scorer.score(text) == pytest.approx(p, abs=1e-4), (cfg, text)
            assert q == pytest.approx(p, abs=1e-6), (cfg, text)  # the vectorised predictor the scorer uses
            assert model.predict_proba(text) == pytest.approx(p, abs=1e-5)
        assert Scorer(str(path)).score("you are an idiot", "en") > Scorer(str(path)).score("the café opens", "en")
    with pytest.raises(ValueError, match="unknown training option"):
        ftm.TrainConfig.from_dict({"dim": 8})


def test_train_on_jigsaw_then_score_test_split(corpora, tmp_path):
    _fasttext_module()
    base = corpora / "toxicity" / "detoxify_dummy_jigsaw"
    out = tmp_path / "jigsaw.bin"
    args = ["train", "--data", str(base / "train.csv"), "--out", str(out), "--text-column", "comment_text",
            "--epoch", "25", "--lr", "0.5", "--bucket", "20000"]
    for col in JIGSAW_LABELS:
        args += ["--label-column", col]
    result = CliRunner().invoke(toxicity, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["rows"] == 282 and report["toxic"] == 29
    texts, labels, stats = ftm.read_labelled_csv(base / "test.csv", "comment_text", JIGSAW_LABELS)
    assert stats["skipped_unlabelled"] > 0 and any(labels) and not all(labels)
    scorer = Scorer(str(out))
    scores = [scorer.score(t, "en") for t in texts]
    toxic = [s for s, y in zip(scores, labels) if y]
    clean = [s for s, y in zip(scores, labels) if not y]
    assert sum(toxic) / len(toxic) > sum(clean) / len(clean)


def test_labelled_csv_errors(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nhello,maybe\n", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.csv:2"):
        ftm.read_labelled_csv(bad)
    with pytest.raises(ValueError, match="missing column"):
        ftm.read_labelled_csv(bad, text_column="body")
    one_class = tmp_path / "one.csv"
    one_class.write_text("text,label\nhello,0\nworld,0\n", encoding="utf-8")
    result = CliRunner().invoke(toxicity, ["train", "--data", str(one_class), "--out", str(tmp_path / "x.bin")])
    assert result.exit_code != 0 and "both classes" in result.output


def test_german_dutch_compound_insults_without_false_compounds():
    assert score("Du Vollidiot!", "de") > 0.5 and score("Jij randdebiel", "nl") > 0.5
    for text, lang in [("Das Verkehrsopfer lag im Krankenhaus.", "de"), ("Kinderarzt und Hauptbahnhof", "de"),
                       ("Het kankeronderzoek gaat vooruit.", "nl")]:
        assert score(text, lang) == 0.0, text

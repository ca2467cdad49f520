"""The tekken tokenizer with Apertus' PII ids, and our Megatron writer against megatron-core's reader."""
import numpy as np
import pytest

from curate.megatron import IndexedReader, IndexedWriter
from curate.tokenizer import BOS, EOS, MARKER_IDS, get_tokenizer


def test_documents_are_framed_and_markers_are_special_ids():
    tok = get_tokenizer()
    ids = tok.encode("Write to <email-pii> or wire to <iban-pii>, server <ip-pii>.")
    assert ids[0] == BOS and ids[-1] == EOS
    assert [i for i in ids if i < 1000 and i not in (BOS, EOS)] == [37, 36, 38]
    assert MARKER_IDS == {"<iban-pii>": 36, "<email-pii>": 37, "<ip-pii>": 38, "<phone-pii>": 39,
                          "<card-pii>": 40, "<id-pii>": 41}
    assert ids.max() < 131072 and ids.dtype == np.int32


@pytest.mark.parametrize("text", ["Grüezi mitenand 🏔️\r\n\ttabs", "Ils Rumantschs discurran rumantsch.",
                                  "<phone-pii><card-pii><id-pii>", "a" * 5000, "中文 text 日本語"])
def test_decode_gives_back_the_text(text):
    tok = get_tokenizer()
    assert tok.decode(tok.encode(text)) == text


def test_agrees_with_mistral_common_on_plain_text():
    from mistral_common.tokens.tokenizers.tekken import Tekkenizer

    tok = get_tokenizer()
    ref = Tekkenizer.from_file(tok.file)
    s = "The Apertus model was trained on 15T tokens in over 1,000 languages."
    assert list(tok.encode(s)) == list(ref.encode(s, bos=True, eos=True))


def test_writer_output_opens_in_megatron_core(tmp_path):
    from megatron.core.datasets.indexed_dataset import IndexedDataset

    rng = np.random.default_rng(0)
    seqs = [rng.integers(0, 131072, size=n, dtype=np.int32) for n in (5, 1, 300, 17)]
    w = IndexedWriter(tmp_path / "s")
    for s in seqs:
        w.add(s)
    assert not (tmp_path / "s.bin").exists()  # only the temporary name until close
    w.close()
    ds = IndexedDataset(str(tmp_path / "s"))
    ours = IndexedReader(tmp_path / "s")
    assert len(ds) == len(ours) == 4
    for i, s in enumerate(seqs):
        assert np.array_equal(ds[i], s) and np.array_equal(ours[i], s)
    assert list(ds.document_indices) == [0, 1, 2, 3, 4]

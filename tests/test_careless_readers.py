"""One huge record (issue 13, item 7): the documented max_chars guard quarantines it as input.too_large
(or cuts it, too_large: truncate), and nothing else changes."""
import json

import pytest

from conftest import run_cli
from curate.blocks.base import state
from curate.config import ConfigError, load_pipeline
from curate.manifest import connect
from curate.readers import InputReader, ReaderOptions, list_inputs


def _write(tmp_path, n_big):
    inp = tmp_path / "in.jsonl"
    docs = [{"id": "small", "url": "https://a.example/1", "text": "a short text"},
            {"id": "big", "url": "https://a.example/2", "text": "word " * (n_big // 5)},
            {"id": "after", "url": "https://a.example/3", "text": "another short text"}]
    inp.write_text("".join(json.dumps(d) + "\n" for d in docs))
    return inp


def _read(inp, **opts):
    return list(InputReader(list_inputs(str(inp)), ReaderOptions(**opts)).read_file(list_inputs(str(inp))[0]))


def test_a_record_over_max_chars_is_quarantined_and_let_go(tmp_path):
    docs = _read(_write(tmp_path, 1_500_000))  # the default max_chars is 1,000,000
    st = {d.id: state(d) for d in docs}
    assert st["big"]["status"] == "quarantined" and st["big"]["reason"] == "input.too_large"
    assert "1500000 characters" in st["big"]["detail"]["input"]["error"]
    assert [d.text for d in docs if d.id == "big"] == [""]
    assert st["small"]["status"] == st["after"]["status"] == "kept"


def test_truncate_policy_keeps_the_first_max_chars(tmp_path):
    docs = _read(_write(tmp_path, 5000), max_chars=1000, too_large="truncate")
    big = next(d for d in docs if d.id == "big")
    assert len(big.text) == 1000 and state(big)["status"] == "kept"
    assert state(big)["detail"]["input"] == {"truncated": True, "n_chars_read": 5000, "max_chars": 1000}


def test_pipeline_keys_and_the_manifest(tmp_path):
    inp = _write(tmp_path, 5000)
    pipe = tmp_path / "p.yaml"
    pipe.write_text("input: {max_chars: 1000}\nblocks:\n  - tokenize: {}\n")
    out = tmp_path / "out"
    run_cli("run", pipe, "--input", inp, "--out", out, "--no-progress")
    rows = dict(connect(out).execute("SELECT doc_id, reason FROM manifest").fetchall())
    assert rows == {"small": None, "big": "input.too_large", "after": None}
    for bad in ("max_chars: 0", "too_large: drop"):
        pipe.write_text(f"input: {{{bad}}}\nblocks:\n  - tokenize: {{}}\n")
        with pytest.raises(ConfigError, match=bad.split(":")[0]):
            load_pipeline(pipe)

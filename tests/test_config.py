"""Pipeline files are validated before any work starts; errors name the file and the key."""
import pytest

from conftest import REPO, run_cli
from curate.config import ConfigError, load_pipeline


def write(tmp_path, text):
    p = tmp_path / "p.yaml"
    p.write_text(text)
    return p


def test_bundled_pipelines_load():
    for name in ("demo", "apertus"):
        pipe = load_pipeline(REPO / "pipelines" / f"{name}.yaml")
        names = [n for n, _ in pipe.blocks]
        assert names[0] == "optout" and names[-1] == "tokenize"
        assert names == ["optout", "language", "toxicity", "license", "pii", "tokenize"]


@pytest.mark.parametrize("body,needle", [
    ("blocks:\n  - dedup: {}\n  - tokenize: {}\n", "unknown block 'dedup'"),
    ("blocks:\n  - toxicity: {topp: 0.1}\n  - tokenize: {}\n", "unknown key 'topp'"),
    ("blocks:\n  - toxicity: {top_p: 2}\n  - tokenize: {}\n", "key 'top_p'"),
    ("blocks:\n  - optout: {policy: sometimes}\n  - tokenize: {}\n", "key 'policy' has value 'sometimes'"),
    ("blocks:\n  - pii: {types: [SSN]}\n  - tokenize: {}\n", "unknown PII type 'SSN'"),
    ("blocks:\n  - language: {keep: en}\n  - tokenize: {}\n", "key 'keep' must be a list"),
    ("blocks:\n  - pii: {}\n", "last block must be 'tokenize'"),
    ("blocks:\n  - pii: {}\n  - pii: {}\n  - tokenize: {}\n", "appears twice"),
    ("blok: []\n", "unknown key 'blok'"),
    ("input: {format: xml}\nblocks: [tokenize]\n", "key 'format' has value 'xml'"),
    ("blocks: [tokenize\n", "not valid YAML"),
])
def test_bad_pipeline_files_name_file_and_key(tmp_path, body, needle):
    p = write(tmp_path, body)
    with pytest.raises(ConfigError) as e:
        load_pipeline(p)
    assert str(p) in str(e.value) and needle in str(e.value)


def test_cli_rejects_bad_config_before_writing_anything(tmp_path):
    p = write(tmp_path, "blocks:\n  - toxicity: {top_pp: 0.1}\n  - tokenize: {}\n")
    inp = tmp_path / "x.jsonl"
    inp.write_text('{"text": "hello", "id": "1", "url": "https://a.example/"}\n')
    out = tmp_path / "out"
    proc = run_cli("run", p, "--input", inp, "--out", out, check=False)
    assert proc.returncode == 2 and "unknown key 'top_pp'" in proc.stderr and str(p) in proc.stderr
    assert not out.exists()


def test_optout_without_cache_is_an_error(tmp_path):
    p = write(tmp_path, "blocks:\n  - optout: {}\n  - tokenize: {}\n")
    inp = tmp_path / "x.jsonl"
    inp.write_text('{"text": "hello", "id": "1", "url": "https://a.example/"}\n')
    proc = run_cli("run", p, "--input", inp, "--out", tmp_path / "out", check=False)
    assert proc.returncode == 2 and "robots cache" in proc.stderr

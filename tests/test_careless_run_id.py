"""The run id comes from content (issue 13, item 2): agent lists, models, inputs' bytes; hashed once and
remembered by (path, size, mtime); an input edited in place is never reported done."""
import json
import os

import pytest

from conftest import REPO, run_cli
from curate.run import HashCache, compute_run_id, decision_files, resolve, run_key

CACHE = REPO / "robots_cache" / "demo"


def _inputs(tmp_path, n=5):
    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(json.dumps({"id": f"d{i}", "url": f"https://a.example/{i}", "text": f"text number {i}"}) + "\n"
                           for i in range(n)))
    return inp


def _run_id(pipe, inp, cache=None):
    p, files, digest = resolve(str(pipe), [str(inp)], "unused", cache)
    return compute_run_id(p, files, digest)


def test_agent_list_contents_change_the_run_id(tmp_path):
    inp = _inputs(tmp_path)
    agents = tmp_path / "agents.txt"
    pipe = tmp_path / "p.yaml"
    pipe.write_text(f"blocks:\n  - optout: {{agents: {agents}}}\n  - tokenize: {{}}\n")
    agents.write_text("GPTBot\n")
    first = _run_id(pipe, inp, str(CACHE))
    agents.write_text("CCBot\n")
    assert _run_id(pipe, inp, str(CACHE)) != first


def test_toxicity_model_contents_change_the_run_id(tmp_path):
    inp = _inputs(tmp_path)
    model = tmp_path / "model.bin"
    pipe = tmp_path / "p.yaml"
    pipe.write_text(f"blocks:\n  - toxicity: {{model: {model}, threshold: 0.5}}\n  - tokenize: {{}}\n")
    model.write_bytes(b"one model")
    first = _run_id(pipe, inp)
    model.write_bytes(b"another model")
    assert _run_id(pipe, inp) != first
    p, _, _ = resolve(str(pipe), [str(inp)], "unused")
    files = decision_files(p)
    assert str(model) in files and any(f.endswith("en.txt") for f in files)  # the model and the lexicons


def test_the_shipped_models_decide_and_their_model_cards_do_not(tmp_path):
    """curate's own data: the default toxicity model, its sidecar and the lexicons are decision files; the
    Markdown beside them (model card, README, notices) is not, so a documentation edit keeps the run id."""
    inp = _inputs(tmp_path)
    p, _, _ = resolve(str(REPO / "pipelines" / "apertus.yaml"), [str(inp)], "unused", str(CACHE))
    names = [os.path.basename(f) for f in decision_files(p)]
    assert {"toxicity-ft.bin", "toxicity-ft.bin.json", "en.txt", "lid.176.ftz"} <= set(names)
    assert not [n for n in names if n.endswith(".md")]
    assert (REPO / "curate" / "data" / "toxicity" / "MODEL_CARD.md").is_file()  # it exists, and is left out


def test_input_bytes_change_the_run_id_even_at_the_same_size(tmp_path):
    inp = _inputs(tmp_path)
    pipe = tmp_path / "p.yaml"
    pipe.write_text("blocks:\n  - tokenize: {}\n")
    first = _run_id(pipe, inp)
    inp.write_text(inp.read_text().replace("number 3", "number 4"))
    assert _run_id(pipe, inp) != first


def test_hashes_are_remembered_by_size_and_mtime(tmp_path, monkeypatch):
    import curate.checksum

    inp = _inputs(tmp_path)
    pipe = tmp_path / "p.yaml"
    pipe.write_text("blocks:\n  - tokenize: {}\n")
    p, files, digest = resolve(str(pipe), [str(inp)], "unused")
    table = tmp_path / "sha256.json"
    cache = HashCache(table)
    key = run_key(p, files, digest, cache)
    cache.save()
    calls = []
    real = curate.checksum.sha256_file
    monkeypatch.setattr(curate.checksum, "sha256_file", lambda path, *a: calls.append(path) or real(path, *a))
    assert run_key(p, files, digest, HashCache(table)) == key and calls == []
    st = os.stat(inp)
    os.utime(inp, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    run_key(p, files, digest, HashCache(table))
    assert calls == [os.path.abspath(inp)]


def test_rerun_after_an_in_place_edit_is_not_reported_done(tmp_path):
    inp = _inputs(tmp_path)
    pipe = tmp_path / "p.yaml"
    pipe.write_text("blocks:\n  - tokenize: {}\n")
    out = tmp_path / "out"
    run_cli("run", pipe, "--input", inp, "--out", out, "--no-progress")
    before = json.loads((out / "run.json").read_text())
    run_cli("run", pipe, "--input", inp, "--out", out, "--no-progress")  # unchanged: resumes to the same run
    assert json.loads((out / "run.json").read_text())["run_id"] == before["run_id"]
    before = json.loads((out / "run.json").read_text())
    text = inp.read_text()
    inp.write_text(text.replace("number 3", "number 4"))
    assert len(inp.read_text()) == len(text)
    proc = run_cli("run", pipe, "--input", inp, "--out", out, "--no-progress", check=False)
    assert proc.returncode != 0 and "holds another run" in proc.stderr and "in.jsonl" in proc.stderr, proc.stderr
    assert json.loads((out / "run.json").read_text()) == before  # the old record is left as it was
    assert "Traceback" not in proc.stderr


def test_model_location_does_not_change_the_run_id(tmp_path):
    import shutil

    ids = []
    for where in ("a", "b"):
        d = tmp_path / where
        d.mkdir()
        (d / "model.bin").write_bytes(b"the same model")
        (d / "p.yaml").write_text("blocks:\n  - toxicity: {model: model.bin, threshold: 0.5}\n  - tokenize: {}\n")
        shutil.copy(_inputs(tmp_path), d / "in.jsonl")
        ids.append(_run_id(d / "p.yaml", d / "in.jsonl"))
    assert ids[0] == ids[1]

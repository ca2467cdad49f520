"""`curate train --shards RUN_DIR` after `curate merge` (issue 13, item 6): one copy of each document,
from merged/, and the command says which."""
import json

import pytest

pytest.importorskip("torch")

from conftest import run_cli  # noqa: E402
from curate.megatron import IndexedWriter  # noqa: E402
from curate.train.data import discover_shards, shard_root  # noqa: E402


def _shard(prefix, seqs):
    prefix.parent.mkdir(parents=True, exist_ok=True)
    w = IndexedWriter(prefix)
    for s in seqs:
        w.add(s)
    w.close()


def _run(tmp_path, merged=True):
    run = tmp_path / "run"
    _shard(run / "shards" / "00000_a", [[1, 5, 6, 2], [1, 7, 2]])
    _shard(run / "shards" / "00001_b", [[1, 8, 9, 2]])
    if merged:
        _shard(run / "merged" / "CC-MAIN-2013-20", [[1, 5, 6, 2], [1, 7, 2], [1, 8, 9, 2]])
    (run / "run.json").write_text(json.dumps({"run_id": "x"}))
    return run


def test_merged_run_is_read_once(tmp_path):
    run = _run(tmp_path)
    assert discover_shards(run) == [run / "merged" / "CC-MAIN-2013-20"]
    assert "merged" in shard_root(run)[1]
    plain = _run(tmp_path / "p", merged=False)
    assert discover_shards(plain) == [plain / "shards" / "00000_a", plain / "shards" / "00001_b"]


def test_train_says_which_shards(tmp_path):
    run = _run(tmp_path)
    proc = run_cli("train", "--shards", run, "--steps", "1", "--out", tmp_path / "t", "--seq-len", "4",
                   "--batch-size", "1", "--vocab-size", "16")
    assert "training on the merged shards" in proc.stderr
    info = json.loads((tmp_path / "t" / "train.json").read_text())
    paths = [f["path"] for s in info["sources"] for f in s["files"]]
    assert paths and all("/merged/" in p for p in paths)


def test_train_reports_every_n_steps(tmp_path):
    run = _run(tmp_path)
    proc = run_cli("train", "--shards", run, "--steps", "3", "--out", tmp_path / "t", "--seq-len", "4",
                   "--batch-size", "1", "--vocab-size", "16", "--report-every", "2")
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("step ")]
    assert [ln.split(" (")[0] for ln in lines] == ["step 2/3", "step 3/3"], proc.stderr
    assert all("loss" in ln and "tokens/s" in ln and "ETA" in ln for ln in lines)

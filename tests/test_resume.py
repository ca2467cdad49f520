"""Faults and resume on the local executor, `curate status`, and `curate merge`.

- A run killed with SIGKILL midway (the whole process group: launcher and workers) and run again equals
  an uninterrupted run byte for byte, and leaves no temporary files.
- A task whose input file vanishes while the run is under way fails; the run reports it with its log,
  `curate status` names the task and the log and exits non-zero, the other tasks' outputs verify, and
  the same command completes the run once the file is back.
- `curate merge` gives one Megatron shard per dump that megatron-core reads, with manifest pointers that
  lead to the right text, in a deterministic order, and merging twice changes no byte.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import REPO, run_cli
from curate.manifest import SCHEMA, connect
from curate.status import run_status

DEMO_YAML = REPO / "pipelines" / "demo.yaml"
DEMO_CACHE = REPO / "robots_cache" / "demo"


def outputs(run: Path) -> dict[str, bytes]:
    """Manifests and shards of a run, by relative path."""
    files = sorted(p for d in ("manifests", "shards") for p in (run / d).rglob("*") if p.is_file())
    return {str(p.relative_to(run)): p.read_bytes() for p in files}


def assert_same_outputs(a: Path, b: Path) -> None:
    oa, ob = outputs(a), outputs(b)
    assert oa.keys() == ob.keys(), set(oa) ^ set(ob)
    differing = [k for k in oa if oa[k] != ob[k]]
    assert not differing, differing


def verify_checksums(run: Path, table: dict[str, str]) -> None:
    for rel, digest in table.items():
        assert hashlib.sha256((run / rel).read_bytes()).hexdigest() == digest, rel


def status_json(run: Path) -> tuple[int, dict]:
    proc = run_cli("status", run, "--json", check=False)
    return proc.returncode, json.loads(proc.stdout)


# -- kill -9 midway, then resume ------------------------------------------------------------------------

def test_killed_run_resumes_to_identical_bytes(demo_run, tmp_path):
    out = tmp_path / "killed"
    args = [sys.executable, "-m", "curate.cli", "run", DEMO_YAML, "--input", demo_run / "input", "--out", out,
            "--robots-cache", DEMO_CACHE, "--tasks", "4", "--workers", "2", "--no-progress"]
    n_files = len(list((demo_run / "input").iterdir()))
    proc = subprocess.Popen(list(map(str, args)), cwd=REPO, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    done_dir = out / ".curate" / "done"
    tmp_at_kill: list[Path] = []
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            done = list(done_dir.glob("*.json")) if done_dir.is_dir() else []
            tmp_at_kill = [p for d in ("manifests", "shards") for p in (out / d).glob("*.tmp")] if done else []
            if done and tmp_at_kill:  # some files finished, others half written
                break
            time.sleep(0.1)
        assert proc.poll() is None, f"the run ended before it could be killed:\n{proc.stderr.read().decode()[-3000:]}"
        live = run_status(out)
        assert live["state"] == "running" and live["stages"][-1]["tasks"]["running"] >= 1, live
        assert live["stages"][-1]["tasks"]["failed"] == 0, live
        os.killpg(proc.pid, signal.SIGKILL)  # the launcher and its worker processes
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.stderr.close()
    done = len(list(done_dir.glob("*.json")))
    assert 0 < done < n_files and tmp_at_kill, (done, tmp_at_kill)
    assert not (out / "run.json").exists()

    code, st = status_json(out)
    assert code == 1 and st["state"] == "failed", st
    main = st["stages"][-1]
    assert main["stage"] == "curate" and main["tasks"]["failed"] >= 1, st
    assert all("interrupted" in f["error"] for f in main["failed"]), st
    assert main["files"]["done"] == done and main["files"]["total"] == n_files, st

    run_cli(*args[3:])  # the same command again
    assert_same_outputs(demo_run, out)
    assert not [p for p in out.rglob("*.tmp")], "temporary files left behind after the resume"
    info = json.loads((out / "run.json").read_text())
    assert info["totals"]["documents"] == 6000
    verify_checksums(out, info["outputs"])
    code, st = status_json(out)
    assert code == 0 and st["state"] == "done", st
    assert st["stages"][-1]["tasks"] == {"total": 4, "done": 4, "running": 0, "failed": 0, "unknown": 0}, st


# -- a task that fails ------------------------------------------------------------------------------------

def test_failed_task_is_reported_with_its_log_and_resumed(tmp_path, monkeypatch):
    from curate.executors import StageFailed
    from curate.readers import InputReader
    from curate.run import RunOptions, run
    from curate.sample import build_sample

    inp, out, keep = tmp_path / "input", tmp_path / "run", tmp_path / "pristine"
    build_sample(inp, n_docs=240)
    shutil.copytree(inp, keep)
    files = sorted(p.name for p in inp.iterdir())
    victim = inp / files[4]  # file index 4 belongs to task 1 of 3

    real_read = InputReader.read_file

    def vanishing(self, f):
        # The main pass finds the file gone (deleted on the shared file system after the run started):
        # the reader records its rows as unreadable, then the sink cannot checksum the input and the task fails.
        if self.done_dir and f.path == str(victim) and victim.exists():
            victim.unlink()
        return real_read(self, f)

    monkeypatch.setattr(InputReader, "read_file", vanishing)
    opts = RunOptions(executor="local", tasks=3, workers=1, progress=False)
    with pytest.raises(StageFailed) as err:
        run(str(DEMO_YAML), [str(inp)], str(out), robots_cache=str(DEMO_CACHE), opts=opts)
    log = out / "logs" / "curate" / "logs" / "task_00001.log"
    assert "task 1:" in str(err.value) and str(log) in str(err.value) and "FileNotFoundError" in str(err.value)
    assert "FileNotFoundError" in log.read_text()
    monkeypatch.undo()

    proc = run_cli("status", out, check=False)
    assert proc.returncode == 1
    assert "task 1 FAILED" in proc.stdout and str(log) in proc.stdout, proc.stdout
    code, st = status_json(out)
    main = st["stages"][-1]
    assert main["tasks"] == {"total": 3, "done": 2, "running": 0, "failed": 1, "unknown": 0}
    assert [f["rank"] for f in main["failed"]] == [1] and str(log) in main["failed"][0]["logs"]

    # the other tasks finished their files, and what they wrote verifies
    markers = {p.stem: json.loads(p.read_text()) for p in (out / ".curate" / "done").glob("*.json")}
    indices = sorted(int(stem.split("_")[0]) for stem in markers)
    assert indices == [0, 1, 2, 3, 5, 6, 8, 9, 11]  # task 1 finished file 1, failed on file 4, never got to 7 and 10
    for m in markers.values():
        verify_checksums(out, m["outputs"])
        assert pq.read_metadata(out / f"manifests/{Path(next(k for k in m['outputs'] if k.startswith('manifests/'))).name}").num_rows == m["documents"]

    shutil.copy2(keep / victim.name, victim)  # the file is back: the same command finishes the run
    info = run(str(DEMO_YAML), [str(inp)], str(out), robots_cache=str(DEMO_CACHE), opts=opts)
    assert info["totals"]["documents"] == 240 and len(info["inputs"]) == 12
    relaunched = json.loads((out / "logs" / "curate" / "curate_stage.json").read_text())
    assert relaunched["ranks"] == [1] and relaunched["status"] == "done"  # only the failed task ran again
    verify_checksums(out, info["outputs"])
    assert run_cli("status", out, check=False).returncode == 0
    con = connect(out)
    assert con.execute("SELECT count(*), count(DISTINCT doc_id) FROM manifest").fetchone() == (240, 240)
    # the vanished file's rows are real documents again, not "unreadable" placeholders
    assert con.execute("SELECT count(*) FROM manifest WHERE reason = 'input.unreadable_rows'").fetchone()[0] == 0


# -- merge ----------------------------------------------------------------------------------------------

def _merged_files(run: Path) -> dict[str, bytes]:
    files = [p for d in ("manifests", "merged") for p in (run / d).rglob("*") if p.is_file()]
    files += [run / "run.json", *sorted((run / ".curate" / "done").glob("*.json"))]
    return {str(p.relative_to(run)): p.read_bytes() for p in sorted(files)}


def test_merge_gives_one_megatron_shard_per_dump(demo_run, tmp_path):
    from megatron.core.datasets.indexed_dataset import IndexedDataset

    from curate.tokenizer import get_tokenizer

    run = tmp_path / "run"
    shutil.copytree(demo_run, run, ignore=shutil.ignore_patterns("input", "logs"))
    before = connect(run).execute(
        "SELECT doc_id, dump, status, source_file, shard, seq_index, text_sha256, n_tokens FROM manifest").fetchall()
    other_cols = [c for c in SCHEMA.names if c not in ("shard", "seq_index")]
    rest_before = sorted(connect(run).execute(f"SELECT {', '.join(other_cols)} FROM manifest").fetchall(), key=repr)

    printed = run_cli("merge", run).stdout
    assert "CC-MAIN-2013-20" in printed
    first = _merged_files(run)
    run_cli("merge", run)
    assert _merged_files(run) == first, "merging twice changed bytes"

    con = connect(run)
    assert con.execute("SELECT count(*) FROM manifest").fetchone()[0] == len(before) == 6000
    assert sorted(con.execute(f"SELECT {', '.join(other_cols)} FROM manifest").fetchall(), key=repr) == rest_before
    # expected order per dump: source file index, then the per-file sequence index
    kept = [r for r in before if r[2] == "kept"]
    expected: dict[str, list[str]] = {}
    for doc_id, dump, _, _, shard, seq, _, _ in sorted(kept, key=lambda r: (int(r[4].split("/")[1][:5]), r[5])):
        expected.setdefault(dump or "unknown", []).append(doc_id)
    sha = {r[0]: r[6] for r in kept}

    tok = get_tokenizer()
    info = json.loads((run / "run.json").read_text())
    assert set(info["merged"]["dumps"]) == set(expected)
    verify_checksums(run, info["outputs"])
    assert any(k.startswith("merged/") for k in info["outputs"])
    n_seq = n_tok = 0
    for dump, doc_ids in expected.items():
        prefix = run / "merged" / dump
        ds = IndexedDataset(str(prefix))
        side = pq.read_table(f"{prefix}.parquet").to_pylist()
        assert [r["doc_id"] for r in side] == doc_ids and [r["seq_index"] for r in side] == list(range(len(ds)))
        pointed = dict(con.execute("SELECT doc_id, seq_index FROM manifest WHERE shard = ?", [f"merged/{dump}"]).fetchall())
        assert len(pointed) == len(ds) == len(doc_ids)
        for i, doc_id in enumerate(doc_ids):
            seq = np.asarray(ds[pointed[doc_id]])
            assert pointed[doc_id] == i and seq[0] == 1 and seq[-1] == 2
            assert hashlib.sha256(tok.decode(seq).encode()).hexdigest() == sha[doc_id]
            n_tok += len(seq)
        n_seq += len(ds)
        assert info["merged"]["dumps"][dump]["sequences"] == len(ds)
    assert (n_seq, n_tok) == (len(kept), sum(r[7] for r in kept))
    assert con.execute("SELECT count(*) FROM manifest WHERE status = 'kept' AND shard NOT LIKE 'merged/%'").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM manifest WHERE status <> 'kept' AND shard IS NOT NULL").fetchone()[0] == 0
    # completion markers carry the rewritten manifests' checksums
    for p in (run / ".curate" / "done").glob("*.json"):
        verify_checksums(run, json.loads(p.read_text())["outputs"])


def _fake_run(root: Path, files: list[list[tuple[str, str | None, str, list[int] | None]]]) -> Path:
    """A finished run made by hand: per file, rows of (doc_id, dump, status, tokens or None)."""
    from curate.megatron import IndexedWriter

    for d in ("manifests", "shards", ".curate/done"):
        (root / d).mkdir(parents=True, exist_ok=True)
    outputs = {}
    for index, rows in enumerate(files):
        stem = f"{index:05d}_f{index}"
        writer, side, table = None, [], []
        for j, (doc_id, dump, status, tokens) in enumerate(rows):
            shard = seq = None
            if status == "kept":
                writer = writer or IndexedWriter(root / "shards" / stem)
                seq = writer.add(tokens)
                side.append({"doc_id": doc_id, "seq_index": seq})
                shard = f"shards/{stem}"
            table.append({"run_id": "r", "doc_id": doc_id, "dump": dump, "source_file": f"f{index}", "source_row": j,
                          "status": status, "shard": shard, "seq_index": seq, "n_tokens": len(tokens) if tokens else None})
        if writer:
            writer.close()
            pq.write_table(pa.Table.from_pylist(side, schema=pa.schema([("doc_id", pa.string()), ("seq_index", pa.int64())])),
                           root / "shards" / f"{stem}.parquet")
        pq.write_table(pa.Table.from_pylist(table, schema=SCHEMA), root / "manifests" / f"{stem}.parquet")
        rels = [f"manifests/{stem}.parquet"] + ([f"shards/{stem}.{s}" for s in ("bin", "idx", "parquet")] if writer else [])
        mine = {r: hashlib.sha256((root / r).read_bytes()).hexdigest() for r in rels}
        outputs.update(mine)
        (root / ".curate" / "done" / f"{stem}.json").write_text(json.dumps({"run_id": "r", "outputs": mine}))
    (root / "run.json").write_text(json.dumps({"run_id": "r", "outputs": outputs}))
    return root


def test_merge_splits_files_by_document_dump_and_skips_no_longer_kept(tmp_path):
    from curate.megatron import IndexedReader

    run = _fake_run(tmp_path / "run", [
        [("a", "D2", "kept", [1, 5, 2]), ("b", "D1", "kept", [1, 6, 6, 2]), ("c", None, "kept", [1, 7, 2]),
         ("x", "D1", "dropped", None), ("d", "D2", "kept", [1, 8, 2])],
        [("e", "D1", "kept", [1, 9, 2]), ("a", "D2", "kept", [1, 10, 2])],  # the same doc_id in another file
    ])
    # a document erased after the run: still in its per-file shard, no longer kept, so not merged
    m = pq.read_table(run / "manifests" / "00000_f0.parquet").to_pylist()
    m[0]["status"], m[0]["shard"], m[0]["seq_index"] = "dropped", None, None
    pq.write_table(pa.Table.from_pylist(m, schema=SCHEMA), run / "manifests" / "00000_f0.parquet")

    from curate.merge import merge_run

    section = merge_run(run)
    assert {k: v["sequences"] for k, v in section["dumps"].items()} == {"D1": 2, "D2": 2, "unknown": 1}

    def seqs(name):
        r = IndexedReader(run / "merged" / name)
        return [list(map(int, r[i])) for i in range(len(r))], pq.read_table(run / "merged" / f"{name}.parquet").to_pylist()

    assert seqs("D1") == ([[1, 6, 6, 2], [1, 9, 2]], [{"doc_id": "b", "seq_index": 0}, {"doc_id": "e", "seq_index": 1}])
    assert seqs("D2") == ([[1, 8, 2], [1, 10, 2]], [{"doc_id": "d", "seq_index": 0}, {"doc_id": "a", "seq_index": 1}])
    assert seqs("unknown")[0] == [[1, 7, 2]]
    rows = {(r["source_file"], r["doc_id"]): (r["shard"], r["seq_index"])
            for p in sorted((run / "manifests").glob("*.parquet")) for r in pq.read_table(p).to_pylist()}
    assert rows[("f0", "a")] == (None, None) and rows[("f0", "x")] == (None, None)
    assert rows[("f0", "b")] == ("merged/D1", 0) and rows[("f1", "e")] == ("merged/D1", 1)
    assert rows[("f0", "c")] == ("merged/unknown", 0) and rows[("f1", "a")] == ("merged/D2", 1)
    before = {p: p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}
    merge_run(run)
    assert {p: p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()} == before


def test_merge_refuses_an_unfinished_run(tmp_path):
    (tmp_path / "manifests").mkdir()
    proc = run_cli("merge", tmp_path, check=False)
    assert proc.returncode != 0 and "no run.json" in proc.stderr

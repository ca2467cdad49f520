"""`curate erase`: documents leave every token shard (per-file and merged), the manifest row says erasure,
run.json and the completion markers follow, the log records each request; dry runs and repeats change
nothing; a kill at any step is completed by running the same command again, with the same bytes."""
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from conftest import REPO, run_cli

from curate.checksum import sha256_file
from curate.erase import CRASH_POINTS
from curate.manifest import connect
from curate.removal_list import normalise
from curate.tokenizer import get_tokenizer

EPOCH = "1796000000"  # fixed erasure time: runs compared byte for byte


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("erase") / "demo"
    run_cli("demo", "--out", out, "--docs", "300", "--no-progress")
    return out


@pytest.fixture(scope="module")
def demo_merged(demo, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("erase_merged") / "demo"
    shutil.copytree(demo, out)
    run_cli("merge", out)
    return out


def _copy(src: Path, tmp_path: Path, name: str = "run") -> Path:
    dst = tmp_path / name
    shutil.copytree(src, dst)
    return dst


def _erase(run: Path, *args, check=True, env_extra=None):
    env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH, **(env_extra or {})}
    return run_cli("erase", "--run", run, *args, check=check, env=env)


def _files(run: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run)): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}


def _rows(run: Path) -> dict[str, dict]:
    con = connect(run)
    cur = con.execute("SELECT * FROM manifest")
    names = [d[0] for d in cur.description]
    return {r[names.index("doc_id")]: dict(zip(names, r)) for r in cur.fetchall()}


def _shards(run: Path) -> dict[str, list[tuple[str, bytes]]]:
    """Every shard of the run read through megatron-core: prefix -> [(doc_id, sequence bytes)]."""
    from megatron.core.datasets.indexed_dataset import IndexedDataset

    out = {}
    for idx in sorted([*(run / "shards").glob("*.idx"), *(run / "merged").glob("*.idx")]):
        prefix = str(idx)[:-4]
        side = pq.read_table(prefix + ".parquet").to_pylist()
        ds = IndexedDataset(prefix) if side else []
        assert len(ds) == len(side) and [r["seq_index"] for r in side] == list(range(len(side)))
        out[str(idx.relative_to(run))[:-4]] = [(r["doc_id"], np.asarray(ds[i]).tobytes()) for i, r in enumerate(side)]
    return out


def _check_erased(before: Path, after: Path, erased: set[str]) -> None:
    """The erased documents' sequences are in no shard, every other sequence is there byte-identical and in
    order, the manifests point at them, counts and checksums follow."""
    tok = get_tokenizer()
    rows_b, rows_a = _rows(before), _rows(after)
    assert set(rows_a) == set(rows_b)
    sb, sa = _shards(before), _shards(after)
    # a shard left without sequences is removed, as the sink and merge never write an empty one
    assert set(sa) == set(sb) - {p for p, seqs in sb.items() if {d for d, _ in seqs} <= erased}
    gone_sha = {rows_b[d]["text_sha256"] for d in erased}
    gone_seq = {s for seqs in sb.values() for d, s in seqs if d in erased}
    for prefix, seqs in sa.items():
        assert [x for x in sb[prefix] if x[0] not in erased] == seqs, prefix  # the others, same bytes, same order
        for i, (doc_id, seq) in enumerate(seqs):
            assert doc_id not in erased and seq not in gone_seq
            text = tok.decode(np.frombuffer(seq, dtype=np.int32))
            assert hashlib.sha256(text.encode()).hexdigest() not in gone_sha
            r = rows_a[doc_id]
            if r["shard"] == prefix:  # the manifest's pointer leads to this very sequence
                assert r["seq_index"] == i and r["status"] == "kept"
    for doc_id, r in rows_a.items():
        b = rows_b[doc_id]
        if doc_id in erased:
            assert b["status"] == "kept"
            assert (r["status"], r["stage"], r["reason"]) == ("dropped", "erasure", "erasure.request")
            assert r["n_tokens"] is None and r["shard"] is None and r["seq_index"] is None
            d, db = json.loads(r["detail"]), json.loads(b["detail"])
            assert {k: v for k, v in d.items() if k != "erasure"} == db  # earlier evidence kept as it was
            e = d["erasure"]
            assert e["before"] == {"status": "kept", "stage": b["stage"], "reason": b["reason"], "n_tokens": b["n_tokens"],
                                   "shard": b["shard"], "seq_index": b["seq_index"]}
            assert e["requests"] and all({"request_id", "reason", "selector"} <= set(q) for q in e["requests"])
        else:
            same = {k: v for k, v in r.items() if k != "seq_index"}
            assert same == {k: v for k, v in b.items() if k != "seq_index"}
            if r["status"] == "kept":
                seqs = dict(sa[r["shard"]])
                assert seqs[doc_id] == dict(sb[b["shard"]])[doc_id]
    info_b, info_a = (json.loads((p / "run.json").read_text()) for p in (before, after))
    n = len(erased)
    tok_gone = sum(rows_b[d]["n_tokens"] for d in erased)
    tb, ta = info_b["totals"], info_a["totals"]
    assert (ta["kept"], ta["dropped"], ta["tokens"]) == (tb["kept"] - n, tb["dropped"] + n, tb["tokens"] - tok_gone)
    kept_rows = sum(r["status"] == "kept" for r in rows_a.values())
    assert kept_rows == sum(r["status"] == "kept" for r in rows_b.values()) - n == ta["kept"]
    listed = [*info_a["outputs"].items()]
    listed += [kv for m in (after / ".curate" / "done").glob("*.json") for kv in json.loads(m.read_text())["outputs"].items()]
    for rel, sha in listed:
        if (before / rel).exists():  # (a test may have removed files the run lists)
            assert sha256_file(after / rel) == sha, rel
    assert sum(json.loads(m.read_text())["kept"] for m in (after / ".curate" / "done").glob("*.json")) == ta["kept"]
    assert not list(after.rglob("*.tmp")) and not list((after / "erasure" / "pending").glob("*"))


def _log(run: Path) -> list[dict]:
    return [json.loads(x) for x in (run / "erasure" / "log.jsonl").read_text().splitlines()]


def _kept(run: Path, n: int, offset: int = 0) -> list[dict]:
    return [r for r in sorted(_rows(run).values(), key=lambda r: r["doc_id"]) if r["status"] == "kept"][offset:offset + n]


def test_erase_one_url(demo, tmp_path):
    run = _copy(demo, tmp_path)
    doc = _kept(run, 1, 7)[0]
    out = _erase(run, "--url", doc["url"], "--reason", "GDPR Art. 17 request #1").stdout
    assert "erased 1 document(s)" in out
    _check_erased(demo, run, {doc["doc_id"]})
    (entry,) = _log(run)
    assert entry["selector"] == {"url": doc["url"]} and entry["doc_ids"] == [doc["doc_id"]]
    assert entry["text_sha256"] == [doc["text_sha256"]] and entry["status"] == "done"
    assert entry["reason"] == "GDPR Art. 17 request #1" and entry["time"].startswith("2026-")
    assert len(entry["request_id"]) == 16


def test_erase_host_on_merged_run_reaches_merged_shards(demo_merged, tmp_path):
    run = _copy(demo_merged, tmp_path)
    rows = _rows(run)
    # the first host with both kept documents (to erase) and others (matched, but in no shard)
    by_host: dict = {}
    for d, r in rows.items():
        by_host.setdefault(r["host"], {"kept": set(), "other": 0})
        if r["status"] == "kept":
            by_host[r["host"]]["kept"].add(d)
        else:
            by_host[r["host"]]["other"] += 1
    host = next(h for h in sorted(by_host) if len(by_host[h]["kept"]) > 5 and by_host[h]["other"])
    erased, others = by_host[host]["kept"], by_host[host]["other"]
    out = _erase(run, "--host", host.upper(), "--reason", "site owner request").stdout
    assert f"erased {len(erased)} document(s); {others} not kept" in out
    _check_erased(demo_merged, run, erased)
    (entry,) = _log(run)
    assert set(entry["doc_ids"]) == erased and len(entry["not_in_shards"]) == others
    # merging again now gives the same bytes: the merged shards are what a merge of the erased run makes
    before = _files(run)
    run_cli("merge", run)
    after = _files(run)
    assert {k: v for k, v in after.items() if k.startswith("merged/")} == {k: v for k, v in before.items() if k.startswith("merged/")}


def test_erase_text_snippet(demo, tmp_path):
    run = _copy(demo, tmp_path)
    tok = get_tokenizer()
    texts = {}
    for side in (run / "shards").glob("*.parquet"):
        from curate.megatron import IndexedReader

        r = IndexedReader(side.with_suffix(""))
        for i, doc_id in enumerate(pq.read_table(side).column("doc_id").to_pylist()):
            texts[doc_id] = tok.decode(r[i])
    # a span across a sentence boundary of one document, case and spacing changed as a requester might
    doc_id = next(d for d in sorted(texts)[11:]
                  if len(texts[d].split(". ")) > 2 and min(map(len, texts[d].split(". ")[:2])) >= 25)
    sentences = texts[doc_id].split(". ")
    snippet = (sentences[0][-20:] + ".    " + sentences[1][:25]).upper()
    expected = {d for d, t in texts.items() if normalise(snippet) in normalise(t)}
    assert doc_id in expected and len(expected) < 5
    _erase(run, "--text", snippet, "--reason", "personal data in text")
    _check_erased(demo, run, expected)
    assert _log(run)[0]["selector"] == {"text": normalise(snippet)}
    too_short = _erase(run, "--text", "the ", "--reason", "x", check=False)
    assert too_short.returncode == 2 and "shorter than" in too_short.stderr


def test_batch_file_of_100_requests_in_one_pass(demo_merged, tmp_path):
    run = _copy(demo_merged, tmp_path)
    rows = _rows(run)
    kept = _kept(run, 80)
    dropped = [r for r in sorted(rows.values(), key=lambda r: r["doc_id"]) if r["status"] != "kept"][:10]
    lines = [{"url": r["url"], "reason": f"batch url {i}"} for i, r in enumerate(kept[:60])]
    lines += [{"doc_id": r["doc_id"]} for r in kept[60:80]]  # no reason: --reason applies
    lines += [{"url": r["url"], "reason": "already dropped"} for r in dropped]
    lines += [{"url": f"https://nowhere.example/{i}", "reason": "not in the run"} for i in range(10)]
    assert len(lines) == 100
    batch = tmp_path / "requests.jsonl"
    batch.write_text("".join(json.dumps(x) + "\n" for x in lines))
    out = _erase(run, "--from-file", batch, "--reason", "default reason").stdout
    assert "80 document(s) erased" in out
    _check_erased(demo_merged, run, {r["doc_id"] for r in kept})
    log = _log(run)
    assert len(log) == 100 and len({e["batch_id"] for e in log}) == 1
    assert sum(len(e["doc_ids"]) for e in log) == 80 and sum(len(e["not_in_shards"]) for e in log) == 10
    assert {e["reason"] for e in log if "doc_id" in e["selector"]} == {"default reason"}
    # the same file again: every request is a no-op
    snap = _files(run)
    again = _erase(run, "--from-file", batch, "--reason", "default reason").stdout
    assert again.count("already done") == 100 and _files(run) == snap


def test_csv_batch(demo, tmp_path):
    run = _copy(demo, tmp_path)
    a, b = _kept(run, 2, 20)
    f = tmp_path / "req.csv"
    f.write_text(f"kind,value,reason\nurl,{a['url']},csv one\ndoc-id,{b['doc_id']},csv two\n")
    _erase(run, "--from-file", f)
    _check_erased(demo, run, {a["doc_id"], b["doc_id"]})


def test_dry_run_writes_nothing_and_repeat_is_noop(demo, tmp_path):
    run = _copy(demo, tmp_path)
    doc = _kept(run, 1, 30)[0]
    snap = _files(run)
    out = _erase(run, "--url", doc["url"], "--reason", "r", "--dry-run").stdout
    assert "would erase 1 document(s)" in out and doc["doc_id"] in out and "nothing written" in out
    assert _files(run) == snap
    _erase(run, "--url", doc["url"], "--reason", "r")
    done = _files(run)
    again = _erase(run, "--url", doc["url"], "--reason", "r")
    assert "already done" in again.stdout and _files(run) == done
    # the `request` sub-command is the same request: also a no-op
    assert "already done" in run_cli("erase", "request", "--run", run, "--url", doc["url"], "--reason", "r").stdout
    assert _files(run) == done


def test_bad_input_names_file_and_line(demo, tmp_path):
    run = _copy(demo, tmp_path)
    snap = _files(run)
    missing = run_cli("erase", "--run", tmp_path / "nope", "--url", "u", "--reason", "r", check=False)
    assert missing.returncode == 2 and "nope" in missing.stderr and len(missing.stderr.strip().splitlines()) == 1
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"url": "https://a.example/", "reason": "ok"}\n{"url": "https://b.example/", "reason": \n')
    p = _erase(run, "--from-file", bad, check=False)
    assert p.returncode == 2 and f"{bad}:2:" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    two = tmp_path / "two.jsonl"
    two.write_text('{"url": "https://a.example/", "host": "a.example", "reason": "r"}\n')
    p = _erase(run, "--from-file", two, check=False)
    assert p.returncode == 2 and f"{two}:1:" in p.stderr
    noreason = _erase(run, "--url", "https://a.example/", check=False)
    assert noreason.returncode == 2 and "reason" in noreason.stderr
    both = _erase(run, "--url", "https://a.example/", "--host", "a.example", "--reason", "r", check=False)
    assert both.returncode == 2 and "exactly one" in both.stderr
    assert _files(run) == snap


@pytest.fixture(scope="module")
def reference(demo_merged, tmp_path_factory):
    """An uninterrupted erasure of two URLs and a host on the merged run: what every crashed run must end as."""
    run = tmp_path_factory.mktemp("reference") / "run"
    shutil.copytree(demo_merged, run)
    req = _crash_requests(run, tmp_path_factory.mktemp("req"))
    _erase(run, "--from-file", req)
    return run, req


def _crash_requests(run: Path, where: Path) -> Path:
    a, b = _kept(run, 2, 40)
    f = where / "crash.jsonl"
    f.write_text(json.dumps({"url": a["url"], "reason": "r1"}) + "\n" + json.dumps({"url": b["url"], "reason": "r2"})
                 + "\n" + json.dumps({"host": "src.montagna-lab.example", "reason": "r3"}) + "\n")
    return f


@pytest.mark.parametrize("step", CRASH_POINTS)
def test_kill_at_each_step_then_rerun_gives_the_same_bytes(demo_merged, reference, tmp_path, step):
    ref, req = reference
    run = _copy(demo_merged, tmp_path)
    before = _files(run)
    p = _erase(run, "--from-file", req, check=False, env_extra={"CURATE_ERASE_CRASH_AT": step})
    assert p.returncode == 137, (p.stdout, p.stderr)
    mid = _files(run)
    if step in ("planned", "staging", "staged"):  # nothing renamed yet: every file of the run as before
        assert {k: v for k, v in mid.items() if not k.startswith("erasure/") and not k.endswith(".tmp")} == before
    assert list((run / "erasure" / "pending").glob("*.json")), "a killed erasure leaves its journal"
    _erase(run, "--from-file", req)
    assert _files(run) == _files(ref)


def test_sigkill_mid_erasure_then_any_erase_completes_it(demo_merged, reference, tmp_path):
    """A real SIGKILL (not the hook): the process is stopped at the rename step and killed from outside."""
    ref, req = reference
    run = _copy(demo_merged, tmp_path)
    env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH}
    code = ("import os, signal, curate.erase as e\n"
            "real = e._crash\n"
            "def stop(step):\n"
            "    if step == 'renaming': os.kill(os.getpid(), signal.SIGKILL)\n"
            "e._crash = stop\n"
            f"e.erase({str(run)!r}, e.read_requests({str(req)!r}))\n")
    p = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True)
    assert p.returncode == -9, p.stderr
    assert list((run / "erasure" / "pending").glob("*.json"))
    _erase(run, "--from-file", req)
    assert _files(run) == _files(ref)


def test_merged_run_whose_per_file_shards_were_removed(demo_merged, tmp_path):
    """After `curate merge` the per-file shards may be deleted to save space: the merged ones are searched
    (--text) and rewritten alone."""
    run = _copy(demo_merged, tmp_path)
    for p in (run / "shards").iterdir():
        p.unlink()
    ref = _copy(run, tmp_path, "before")
    doc = _kept(run, 1, 50)[0]
    tok = get_tokenizer()
    from curate.megatron import IndexedReader

    text = tok.decode(IndexedReader(run / doc["shard"])[doc["seq_index"]])
    snippet = " ".join(text.split()[3:12])
    texts = {}
    for side in (run / "merged").glob("*.parquet"):
        r = IndexedReader(side.with_suffix(""))
        for i, d in enumerate(pq.read_table(side).column("doc_id").to_pylist()):
            texts[d] = tok.decode(r[i])
    expected = {d for d, t in texts.items() if normalise(snippet) in normalise(t)}
    assert doc["doc_id"] in expected
    _erase(run, "--text", snippet, "--reason", "r")
    _check_erased(ref, run, expected)
    assert not list((run / "shards").iterdir())


def test_a_second_erasure_at_the_same_time_is_refused(demo, tmp_path):
    import fcntl

    run = _copy(demo, tmp_path)
    (run / "erasure").mkdir()
    (run / "erasure" / "lock").touch()
    snap = _files(run)
    with open(run / "erasure" / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        p = _erase(run, "--url", _kept(run, 1)[0]["url"], "--reason", "r", check=False)
    assert p.returncode == 2 and "another curate erase is running" in p.stderr
    assert _files(run) == snap


def test_erasing_every_document_of_a_file_removes_its_shards(demo_merged, tmp_path):
    run = _copy(demo_merged, tmp_path)
    rows = [r for r in _rows(run).values() if r["source_file"] == "CC-MAIN-2013-20.parquet" and r["status"] == "kept"]
    f = tmp_path / "all.jsonl"
    f.write_text("".join(json.dumps({"doc_id": r["doc_id"], "reason": "all of 2013"}) + "\n" for r in rows))
    _erase(run, "--from-file", f)
    _check_erased(demo_merged, run, {r["doc_id"] for r in rows})
    assert not list(run.glob("shards/00000_*")) and not list(run.glob("merged/CC-MAIN-2013-20*"))
    info = json.loads((run / "run.json").read_text())
    assert "CC-MAIN-2013-20" not in info["merged"]["dumps"] and not any("2013-20" in k for k in info["outputs"]
                                                                          if not k.startswith("manifests/"))
    marker = json.loads((run / ".curate" / "done" / "00000_CC-MAIN-2013-20.json").read_text())
    assert marker["kept"] == 0 and marker["tokens"] == 0 and list(marker["outputs"]) == ["manifests/00000_CC-MAIN-2013-20.parquet"]
    before = _files(run)
    run_cli("merge", run)  # the merge of the erased run agrees
    assert {k: v for k, v in _files(run).items() if k.startswith("merged/")} == {k: v for k, v in before.items() if k.startswith("merged/")}


def test_rerunning_the_pipeline_after_an_erasure_keeps_it(demo, tmp_path):
    """`curate run` again on an erased run (the resume path) changes nothing and keeps run.json's erasure
    record; the erased document stays dropped and verify passes."""
    run = _copy(demo, tmp_path)
    doc = _kept(run, 1, 3)[0]
    _erase(run, "--url", doc["url"], "--reason", "GDPR Art. 17")
    before = json.loads((run / "run.json").read_text())
    assert before["erasure"]
    run_cli("run", REPO / "pipelines" / "demo.yaml", "--input", run / "input", "--out", run,
            "--robots-cache", REPO / "robots_cache" / "demo", "--no-progress")
    after = json.loads((run / "run.json").read_text())
    assert after["erasure"] == before["erasure"] and after["totals"] == before["totals"]
    assert _rows(run)[doc["doc_id"]]["stage"] == "erasure"
    run_cli("verify", run, "--no-megatron")

"""`curate verify`: a fresh demo run and a merged one pass; each kind of damage fails with exit 1 and names
the file (and the doc id / sequence where it applies). Every case works on its own copy of the run."""
import json
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import run_cli


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("verify") / "demo"
    run_cli("demo", "--out", out, "--docs", "300", "--no-progress")
    return out


@pytest.fixture(scope="module")
def merged(demo, tmp_path_factory):
    out = tmp_path_factory.mktemp("verify") / "merged"
    shutil.copytree(demo, out, symlinks=True)
    run_cli("merge", out)
    return out


def _copy(run, tmp_path):
    dst = tmp_path / "run"
    shutil.copytree(run, dst, symlinks=True)
    return dst


def _verify(run, *extra):
    proc = run_cli("verify", run, "--json", "--no-megatron", *extra, check=False)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def _failed(res, check=None, file=None, doc_id=None):
    return [f for f in res["failures"] if (check is None or f["check"] == check)
            and (file is None or f["file"] == file) and (doc_id is None or f.get("doc_id") == doc_id)]


def _first_kept(run, shard_dir="shards"):
    for m in sorted((run / "manifests").glob("*.parquet")):
        rows = pq.read_table(m).to_pylist()
        for i, r in enumerate(rows):
            if r["status"] == "kept" and r["shard"].startswith(shard_dir):
                return m, i, r
    raise AssertionError("no kept row")


def _rewrite_manifest(path, edit):
    rows = pq.read_table(path).to_pylist()
    rows = edit(rows)
    pq.write_table(pa.Table.from_pylist(rows, schema=pq.read_schema(path)), path)


def test_fresh_demo_run_passes_with_megatron_core(demo):
    proc = run_cli("verify", demo, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "OK: every check holds" in proc.stdout and "megatron-core reader" in proc.stdout
    code, res = _verify(demo)
    assert code == 0 and res["ok"] and not res["failures"]
    assert res["checked"]["manifest rows"] == 300
    kept = json.loads((demo / "run.json").read_text())["totals"]["kept"]
    assert res["checked"]["sequences decoded"] == kept and res["checked"]["inputs hashed"] == 12


def test_merged_run_passes(merged):
    proc = run_cli("verify", merged, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    code, res = _verify(merged)
    kept = json.loads((merged / "run.json").read_text())["totals"]["kept"]
    # the per-file shards and the merged ones: each kept document is in both
    assert code == 0 and res["checked"]["sequences decoded"] == 2 * kept


def test_not_a_run_is_one_line_error(tmp_path):
    proc = run_cli("verify", tmp_path, check=False)
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0 and "not a finished curate run" in proc.stderr


def test_moved_input_is_a_warning_changed_input_a_failure(demo, tmp_path):
    run = _copy(demo, tmp_path)
    # the hash cache names the original inputs; point it at nothing so only OUT/input counts
    (run / ".curate" / "sha256.json").write_text("{}")
    moved = sorted((run / "input").iterdir())[0]
    moved.rename(tmp_path / moved.name)
    code, res = _verify(run)
    assert code == 0, res["failures"]
    assert any(w["check"] == "input" and w["file"] == moved.name and "moved" in w["message"] for w in res["warnings"])
    other = sorted((run / "input").iterdir())[0]
    other.write_bytes(other.read_bytes() + b"\n")
    code, res = _verify(run)
    assert code == 1 and _failed(res, "input", str(other))


def test_flipped_byte_in_a_bin_names_file_and_sequence(demo, tmp_path):
    run = _copy(demo, tmp_path)
    m, i, row = _first_kept(run)
    rel = row["shard"] + ".bin"
    data = bytearray((run / rel).read_bytes())
    data[5] ^= 0x01  # inside sequence 0's second token
    (run / rel).write_bytes(bytes(data))
    code, res = _verify(run)
    assert code == 1
    assert _failed(res, "checksum", rel)
    text = _failed(res, "text", rel) or _failed(res, "tokens", rel)
    assert text and text[0]["sequence"] == 0 and text[0]["doc_id"] == row["doc_id"]
    proc = run_cli("verify", run, "--no-megatron", check=False)
    assert proc.returncode == 1 and rel in proc.stdout and row["doc_id"] in proc.stdout


def test_flipped_byte_in_an_idx_names_the_file(demo, tmp_path):
    run = _copy(demo, tmp_path)
    rel = sorted(p.name for p in (run / "shards").glob("*.idx"))[0]
    p = run / "shards" / rel
    data = bytearray(p.read_bytes())
    data[34] ^= 0x01  # the first sequence length
    p.write_bytes(bytes(data))
    code, res = _verify(run)
    assert code == 1 and _failed(res, "checksum", f"shards/{rel}") and _failed(res, "shard", f"shards/{rel}")
    # megatron-core's reader is run too when asked (and here it still opens the file: our checks are stricter)
    proc = run_cli("verify", run, check=False)
    assert proc.returncode == 1 and f"shards/{rel}" in proc.stdout


def test_deleted_sidecar_row(demo, tmp_path):
    run = _copy(demo, tmp_path)
    m, i, row = _first_kept(run)
    side = run / (row["shard"] + ".parquet")
    rows = pq.read_table(side).to_pylist()
    victim = rows.pop(1)
    pq.write_table(pa.Table.from_pylist(rows, schema=pq.read_schema(side)), side)
    code, res = _verify(run)
    rel = row["shard"] + ".parquet"
    assert code == 1 and _failed(res, "checksum", rel)
    hits = _failed(res, "sidecar", rel)
    assert any(f.get("sequence") == 1 for f in hits), hits
    assert victim["seq_index"] == 1


@pytest.mark.parametrize("column", ["text_sha256", "status"])
def test_edited_manifest_row(demo, tmp_path, column):
    run = _copy(demo, tmp_path)
    m, i, row = _first_kept(run)

    def edit(rows):
        if column == "text_sha256":
            rows[i]["text_sha256"] = "0" * 64
        else:
            rows[i]["status"] = "dropped"
        return rows

    _rewrite_manifest(m, edit)
    code, res = _verify(run)
    rel = f"manifests/{m.name}"
    assert code == 1 and _failed(res, "checksum", rel)
    if column == "text_sha256":
        hit = _failed(res, "text", row["shard"] + ".bin", doc_id=row["doc_id"])
        assert hit and hit[0]["sequence"] == row["seq_index"]
    else:
        assert _failed(res, "manifest", rel, doc_id=row["doc_id"])  # dropped but points at a sequence
        assert _failed(res, "manifest", row["shard"] + ".bin", doc_id=row["doc_id"])  # sequence without a kept row
        assert _failed(res, "accounting", "run.json")


def test_duplicated_manifest_row(demo, tmp_path):
    run = _copy(demo, tmp_path)
    m, i, row = _first_kept(run)
    _rewrite_manifest(m, lambda rows: rows[: i + 1] + [dict(rows[i])] + rows[i + 1:])
    code, res = _verify(run)
    rel = f"manifests/{m.name}"
    hit = _failed(res, "manifest", rel, doc_id=row["doc_id"])
    assert code == 1 and any("2 rows for one document" in f["message"] for f in hit), res["failures"]
    assert _failed(res, "accounting", "run.json")


def _erasure_log(run, entries):
    (run / "erasure").mkdir(exist_ok=True)
    with open(run / "erasure" / "log.jsonl", "w") as f:
        for e in entries:
            f.write(json.dumps({"time": "2026-12-01T12:00:00Z", "reason": "test", "selector": {}, "status": "done", **e}) + "\n")


def _mark_erased(path, i):
    def edit(rows):
        rows[i].update(status="dropped", stage="erasure", reason="erasure.test", shard=None, seq_index=None, n_tokens=None)
        return rows

    _rewrite_manifest(path, edit)


def test_erased_doc_still_in_a_shard(demo, tmp_path):
    run = _copy(demo, tmp_path)
    m, i, row = _first_kept(run)
    _erasure_log(run, [{"request_id": "r1", "doc_ids": [row["doc_id"]], "text_sha256": [row["text_sha256"]]}])
    # 1. only the log says it was erased: row, sidecar and sequence all still have it
    code, res = _verify(run)
    side, binf = row["shard"] + ".parquet", row["shard"] + ".bin"
    assert code == 1
    assert _failed(res, "erasure", f"manifests/{m.name}", doc_id=row["doc_id"])  # row is not dropped/erasure
    assert _failed(res, "erasure", side, doc_id=row["doc_id"])
    hit = _failed(res, "erasure", binf)
    assert hit and hit[0]["sequence"] == row["seq_index"]
    # 2. the hand-made inconsistency: the row says erased, the shard and sidecar still hold the text
    _mark_erased(m, i)
    code, res = _verify(run)
    assert code == 1
    assert not _failed(res, "erasure", f"manifests/{m.name}")
    assert _failed(res, "erasure", side, doc_id=row["doc_id"]) and _failed(res, "erasure", binf)


def test_erasure_done_right_passes_the_erasure_checks(demo, tmp_path):
    """A doc erased everywhere (row dropped/erasure, its sequence gone, a pending request ignored): no erasure
    failure. (Checksums and shard rewrites are the erase command's business; here only the erasure checks.)"""
    run = _copy(demo, tmp_path)
    m, i, row = _first_kept(run)
    _erasure_log(run, [{"request_id": "r1", "doc_ids": [row["doc_id"]], "text_sha256": [row["text_sha256"]]},
                       {"request_id": "r2", "doc_ids": ["x"], "text_sha256": [], "status": "pending"}])
    _mark_erased(m, i)
    from curate.megatron import IndexedReader, IndexedWriter

    prefix = run / row["shard"]
    r = IndexedReader(prefix)
    seqs = [np.array(r[k]) for k in range(len(r))]
    del r
    w = IndexedWriter(prefix)
    for k, s in enumerate(seqs):
        if k != row["seq_index"]:
            w.add(s)
    w.close()
    side = prefix.with_suffix(".parquet")
    rows = [x for x in pq.read_table(side).to_pylist() if x["doc_id"] != row["doc_id"]]
    pq.write_table(pa.Table.from_pylist([{"doc_id": x["doc_id"], "seq_index": k} for k, x in enumerate(rows)],
                                        schema=pq.read_schema(side)), side)
    _rewrite_manifest(m, lambda rows: [dict(x, seq_index=x["seq_index"] - 1)
                                       if x["seq_index"] is not None and x["seq_index"] > row["seq_index"] else x
                                       for x in rows])
    code, res = _verify(run)
    assert not _failed(res, "erasure") and not _failed(res, "text") and not _failed(res, "sidecar"), res["failures"]
    assert any("pending" in w["message"] for w in res["warnings"])
    assert res["checked"]["erasure requests"] == 1


def test_merged_run_damage_is_found_in_merged_shards(merged, tmp_path):
    run = _copy(merged, tmp_path)
    m, i, row = _first_kept(run, "merged")
    rel = row["shard"] + ".bin"
    p = run / rel
    arr = np.fromfile(p, dtype="<i4")
    arr[1] = arr[1] + 1 if arr[1] + 1 < 131072 else arr[1] - 1  # another token, still in the vocabulary
    arr.tofile(p)
    code, res = _verify(run)
    assert code == 1 and _failed(res, "checksum", rel)
    hit = _failed(res, "text", rel)
    assert hit and hit[0]["sequence"] == 0


def test_tekken_round_trip_is_exact():
    """What the text check relies on: decode(encode(text)) == text for any text, PII markers included."""
    from curate.tokenizer import get_tokenizer
    from curate.verify import _Decoder
    import hashlib

    tok, dec = get_tokenizer(), _Decoder("tekken_240718")
    texts = ["", " ", "a\r\n\tb  ", "Grüezi <email-pii> und <iban-pii><ip-pii>!", "<email-pii>", "<em<phone-pii>ail",
             "e\u0301 vs \u00e9", "\u200b\ufeffzero width", "日本語のテキスト 🤖🏳️‍🌈", "\x00\x01 control", "x" * 5000,
             "Ελληνικά, русский, العربية, हिन्दी", "<s></s> literal", "tab\there\u2028line"]
    for t in texts:
        ids = tok.encode(t)
        assert tok.decode(ids) == t
        assert dec.sha(ids) == (hashlib.sha256(t.encode("utf-8")).hexdigest(), None)


def test_verify_passes_after_a_real_erase_and_sees_it(merged, tmp_path):
    """`curate erase` keeps every invariant verify checks (per-file and merged shards, run.json, markers)."""
    run = _copy(merged, tmp_path)
    m, i, row = _first_kept(run, "merged")
    proc = run_cli("erase", "--run", run, "--doc-id", row["doc_id"], "--reason", "test", check=False)
    assert proc.returncode == 0, proc.stderr
    code, res = _verify(run)
    assert code == 0, res["failures"]
    assert res["checked"]["erasure requests"] == 1 and res["checked"]["erased documents"] == 1


def test_truncated_manifest_is_named_not_skipped(demo, tmp_path):
    run = _copy(demo, tmp_path)
    m = sorted((run / "manifests").glob("*.parquet"))[2]
    m.write_bytes(m.read_bytes()[:-100])
    code, res = _verify(run)
    rel = f"manifests/{m.name}"
    assert code == 1 and _failed(res, "manifest", rel) and _failed(res, "checksum", rel)
    assert any("documents read, 0 manifest rows" in f["message"] for f in _failed(res, "accounting"))


def test_real_web_text_round_trips_and_shared_ids_across_inputs_warn(corpora, tmp_path):
    """Real crawl text (WARC, Dolma, FineWeb-style jsonl and parquet of the same documents): every kept
    sequence decodes to its text_sha256; ids shared by two input files are a warning, not a failure."""
    crawl = corpora / "crawl"
    pipe = tmp_path / "p.yaml"
    pipe.write_text("blocks:\n  - pii: {}\n  - tokenize: {}\n")
    out = tmp_path / "out"
    run_cli("run", pipe, "--input", crawl / "dolma", "--input", crawl / "resiliparse" / "warcfile.warc.gz",
            "--input", crawl / "derived_fineweb_schema", "--out", out, "--no-progress")
    code, res = _verify(out)
    kept = json.loads((out / "run.json").read_text())["totals"]["kept"]
    assert code == 0, res["failures"]
    assert kept > 50 and res["checked"]["sequences decoded"] == kept
    assert any("input files" in w["message"] for w in res["warnings"])

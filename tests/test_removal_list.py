"""The published removal list (`curate erase export`) and `curate erase check`: an erased document's text
inside a longer output is found, the run's kept documents are not; the README's ten-line Python applies
the file without curate and agrees."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import REPO, run_cli

from curate.megatron import IndexedReader
from curate.removal_list import WINDOW, check, load, normalise, windows
from curate.tokenizer import get_tokenizer


def _texts(run: Path) -> dict[str, str]:
    tok = get_tokenizer()
    out = {}
    for side in sorted((run / "shards").glob("*.parquet")):
        r = IndexedReader(side.with_suffix(""))
        for i, d in enumerate(pq.read_table(side).column("doc_id").to_pylist()):
            out[d] = tok.decode(r[i])
    return out


@pytest.fixture(scope="module")
def erased(tmp_path_factory):
    """A 300-document demo run with a host and one short document erased, and its exported removal list.
    Returns (run, list file, texts of every document kept before the erasure, erased doc ids)."""
    root = tmp_path_factory.mktemp("removal")
    run = root / "demo"
    run_cli("demo", "--out", run, "--docs", "300", "--no-progress")
    texts = _texts(run)
    con_rows = run_cli("query", "SELECT doc_id, host FROM manifest WHERE status = 'kept'", "--manifests", run,
                       "--format", "json").stdout.splitlines()
    hosts = {json.loads(x)["doc_id"]: json.loads(x)["host"] for x in con_rows}
    host = "src.montagna-lab.example"
    short = sorted(d for d, t in texts.items() if len(t.split()) < WINDOW and hosts[d] != host)[0]
    req = root / "req.jsonl"
    req.write_text(json.dumps({"host": host, "reason": "owner request"}) + "\n"
                   + json.dumps({"doc_id": short, "reason": "data subject request"}) + "\n")
    run_cli("erase", "--run", run, "--from-file", req)
    gone = {d for d, h in hosts.items() if h == host} | {short}
    lst = root / "removal.jsonl"
    out = run_cli("erase", "export", "--run", run, "--out", lst).stdout
    assert f"{len(gone)} erased document(s)" in out
    return run, lst, texts, gone


def test_list_format_is_documented_json_lines(erased):
    run, lst, texts, gone = erased
    lines = [json.loads(x) for x in lst.read_text(encoding="utf-8").splitlines()]
    head, docs = lines[0], lines[1:]
    assert head["format"] == "curate-removal-list" and head["version"] == 1
    assert (head["window_words"], head["stride_words"], head["hash_hex_chars"], head["hash"]) == (50, 25, 16, "sha256")
    assert head["documents"] == len(docs) == len(gone) and {d["doc_id"] for d in docs} == gone
    log = [json.loads(x) for x in (run / "erasure" / "log.jsonl").read_text().splitlines()]
    sha = {d: s for e in log for d, s in zip(e["doc_ids"], e["text_sha256"])}
    for d in docs:
        assert set(d) == {"doc_id", "url", "text_sha256", "request_ids", "erased_at", "n_words", "windows"}
        assert d["text_sha256"] == sha[d["doc_id"]]
        assert (d["n_words"], d["windows"]) == windows(texts[d["doc_id"]])
        assert all(re.fullmatch(r"[0-9a-f]{16}", w) for w in d["windows"])
        assert normalise(texts[d["doc_id"]])[:40] not in lst.read_text(encoding="utf-8")  # hashes, no text


def test_windows_follow_the_stated_rule():
    import hashlib
    import unicodedata

    text = " ".join(f"Wörd{i}" for i in range(130))
    n, wins = windows("  " + text.replace(" ", " \n\t", 3).upper() + " ")  # spacing and case do not matter
    ws = unicodedata.normalize("NFKC", text).lower().split()
    expect = [hashlib.sha256(" ".join(ws[s:s + 50]).encode()).hexdigest()[:16] for s in (0, 25, 50, 75, 80)]
    assert (n, wins) == (130, expect)
    assert windows("ﬁne   print")[1] == [hashlib.sha256(b"fine print").hexdigest()[:16]]  # NFKC folds the ligature


def _longer_text(paragraph: str) -> str:
    return ("Here is what the model wrote in answer to the question. It starts with something unrelated.\n\n"
            + paragraph + "\n\nAnd then it goes on about other things for a while, as models do.")


def test_check_finds_an_erased_paragraph_inside_a_longer_text(erased):
    run, lst, texts, gone = erased
    long_doc = max(sorted(gone), key=lambda d: len(texts[d].split()))
    ws = texts[long_doc].split()
    assert len(ws) >= 60
    # 75 words from inside the document (any 75 hold a whole window), or its first 55; re-wrapped, other case
    part = ws[2:77] if len(ws) >= 80 else ws[:55]
    paragraph = "\n".join(" ".join(part[i:i + 9]) for i in range(0, len(part), 9)).upper()
    p = subprocess.run([sys.executable, "-m", "curate.cli", "erase", "check", "--list", str(lst), "-"],
                       input=_longer_text(paragraph), capture_output=True, text=True, cwd=REPO)
    assert p.returncode == 1, p.stdout + p.stderr
    assert long_doc in p.stdout and re.search(r"\d+ of \d+ window", p.stdout)
    # as an argument too, and the whole of a short erased document
    short = min(gone, key=lambda d: len(texts[d].split()))
    assert len(texts[short].split()) < WINDOW
    p = run_cli("erase", "check", "--list", lst, _longer_text(texts[short]), check=False)
    assert p.returncode == 1 and short in p.stdout


def test_check_is_quiet_on_the_kept_documents(erased):
    run, lst, texts, gone = erased
    rl = load(lst)
    kept = {d: t for d, t in texts.items() if d not in gone}
    assert len(kept) > 100
    fired = {d: check(rl, t) for d, t in kept.items()}
    assert not {d: h for d, h in fired.items() if h}
    some = sorted(kept)[0]
    p = run_cli("erase", "check", "--list", lst, _longer_text(kept[some]))
    assert p.returncode == 0 and "no overlap" in p.stdout


def _readme_example() -> str:
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Erasure"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert len(code.strip().splitlines()) <= 10
    return code


def test_readme_python_applies_the_list_without_curate(erased, tmp_path):
    run, lst, texts, gone = erased
    script = tmp_path / "apply.py"
    script.write_text(_readme_example())
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    doc = sorted(gone)[0]
    p = subprocess.run([sys.executable, "-I", str(script), str(lst)], input=_longer_text(texts[doc].upper()),
                       capture_output=True, text=True, cwd=tmp_path, env=env)
    assert p.returncode == 1 and doc in p.stdout.split("\n"), p.stdout + p.stderr
    kept = sorted(d for d in texts if d not in gone)[:20]
    for d in kept:
        p = subprocess.run([sys.executable, "-I", str(script), str(lst)], input=texts[d], capture_output=True,
                           text=True, cwd=tmp_path, env=env)
        assert p.returncode == 0 and "no overlap" in p.stdout


def test_bad_list_names_file_and_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"format": "curate-removal-list", "version": 1, "window_words": 50, "hash_hex_chars": 16}\n{oops\n')
    p = run_cli("erase", "check", "--list", bad, "some text", check=False)
    assert p.returncode == 2 and f"{bad}:2:" in p.stderr
    other = tmp_path / "other.jsonl"
    other.write_text('{"format": "something-else"}\n')
    p = run_cli("erase", "check", "--list", other, "some text", check=False)
    assert p.returncode == 2 and f"{other}:1:" in p.stderr


def test_export_of_a_run_without_erasures_is_a_header_only(erased, tmp_path):
    run, *_ = erased
    empty = tmp_path / "fresh"
    empty.mkdir()
    (empty / "manifests").mkdir()
    (empty / "run.json").write_text(json.dumps({"run_id": "x"}))
    lst = tmp_path / "none.jsonl"
    run_cli("erase", "export", "--run", empty, "--out", lst)
    lines = lst.read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["documents"] == 0

"""Smaller careless-use fixes (issue 13, item 10): robots rank's count, demo into another run, repeated and
empty robots imports, top_p with threshold, the no-input message."""
import json

import pytest

from conftest import run_cli, run_small
from curate.config import ConfigError, load_pipeline
from curate.readers import InputError, list_inputs
from curate.robots.cache import RobotsCache


def test_rank_reports_the_hosts_it_wrote(tmp_path):
    docs = []
    for h in ("a.example", "b.example", "c.example"):  # every host has English and German text
        docs.append({"id": f"{h}-en", "url": f"https://{h}/en", "text": "The council met to discuss the new cycling lanes in town."})
        docs.append({"id": f"{h}-de", "url": f"https://{h}/de", "text": "Der Gemeinderat traf sich, um die neuen Radwege zu besprechen."})
    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(json.dumps(d) + "\n" for d in docs))
    out = tmp_path / "hosts.txt"
    msg = run_cli("robots", "rank", "--input", inp, "--top-en", "5", "--top-other", "5", "--out", out).stdout
    written = out.read_text().splitlines()
    assert len(written) == 3
    assert msg.startswith("3 origins of 3 hosts") and "3 in both tops" in msg, msg


def test_robots_import_twice_and_empty(tmp_path):
    src = tmp_path / "saved"
    src.mkdir()
    (src / "a.example.txt").write_text("User-agent: GPTBot\nDisallow: /\n")
    cache = tmp_path / "cache"
    args = ("robots", "import", src, "--cache", cache, "--fetched-at", "2025-01-01")
    run_cli(*args)
    digest, n = RobotsCache(cache).sha256(), len(RobotsCache(cache))
    again = run_cli(*args)
    assert RobotsCache(cache).sha256() == digest and len(RobotsCache(cache)) == n == 2
    assert "already in the cache" in again.stderr
    (src / "b.example.txt").write_text("User-agent: *\nAllow: /\n")
    run_cli(*args)
    assert len(RobotsCache(cache)) == 4  # only the new file was added
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = run_cli("robots", "import", empty, "--cache", cache, "--fetched-at", "2025-01-01", check=False)
    assert proc.returncode == 2 and "no <host>.txt files" in proc.stderr


def test_top_p_with_threshold_is_refused(tmp_path):
    pipe = tmp_path / "p.yaml"
    pipe.write_text("blocks:\n  - toxicity: {top_p: 0.05, threshold: 0.5}\n  - tokenize: {}\n")
    with pytest.raises(ConfigError, match="top_p.*threshold"):
        load_pipeline(pipe)


def test_no_input_files_message_is_readable(tmp_path):
    (tmp_path / "notes.md").write_text("x")
    with pytest.raises(InputError) as e:
        list_inputs([str(tmp_path)], skipped=[])
    assert "[" not in str(e.value).split("(")[0] and str(tmp_path) in str(e.value) and "notes.md" in str(e.value)


def test_demo_refuses_another_run_before_writing(tmp_path):
    other, _, _ = run_small(tmp_path, [{"id": "d0", "url": "https://a.example/", "text": "hello there"}],
                            "  - tokenize: {}\n", out_name="other")
    before = sorted(str(p.relative_to(other)) for p in other.rglob("*"))
    proc = run_cli("demo", "--out", other, "--docs", "100", "--no-progress", check=False)
    assert proc.returncode == 2 and "holds another run" in proc.stderr, proc.stderr
    assert sorted(str(p.relative_to(other)) for p in other.rglob("*")) == before

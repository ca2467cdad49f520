"""`agents:` (issue 13, item 5): a relative list file resolves from the pipeline file's directory, not the
current one; a YAML list of agents works; the run id follows the list's content, not its location."""
import json
import shutil

import pytest

from conftest import REPO, run_cli
from curate.config import ConfigError, load_pipeline
from curate.robots.agents import load_agents
from curate.run import compute_run_id, resolve

CACHE = REPO / "robots_cache" / "demo"


def _project(root):
    (root / "pipes").mkdir(parents=True)
    (root / "pipes" / "agents.txt").write_text("# ours\nGPTBot\nCCBot\n")
    (root / "pipes" / "p.yaml").write_text("blocks:\n  - optout: {agents: agents.txt}\n  - tokenize: {}\n")
    inp = root / "in.jsonl"
    inp.write_text(json.dumps({"id": "d0", "url": "https://a.example/", "text": "hello there"}) + "\n")
    return root / "pipes" / "p.yaml", inp


def test_relative_agents_file_is_relative_to_the_pipeline(tmp_path, monkeypatch):
    pipe, _ = _project(tmp_path / "proj")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    cfg = load_pipeline(pipe).block("optout")
    assert cfg["agents"] == str((tmp_path / "proj" / "pipes" / "agents.txt").resolve())
    assert load_agents(cfg["agents"]) == ["GPTBot", "CCBot"]
    (tmp_path / "proj" / "pipes" / "agents.txt").unlink()
    with pytest.raises(ConfigError, match="relative to the pipeline file"):
        load_pipeline(pipe)


def test_run_id_follows_the_list_content_not_its_location(tmp_path):
    a_pipe, a_in = _project(tmp_path / "a")
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    ids = []
    for root in ("a", "b"):
        p, files, digest = resolve(str(tmp_path / root / "pipes" / "p.yaml"), [str(tmp_path / root / "in.jsonl")],
                                   "unused", str(CACHE))
        ids.append(compute_run_id(p, files, digest))
    assert ids[0] == ids[1]


def test_agents_as_a_yaml_list(tmp_path):
    pipe = tmp_path / "p.yaml"
    pipe.write_text("blocks:\n  - optout: {agents: [GPTBot, '*']}\n  - tokenize: {}\n")
    assert load_pipeline(pipe).block("optout")["agents"] == ["GPTBot", "*"]
    inp = tmp_path / "in.jsonl"
    inp.write_text(json.dumps({"id": "d0", "url": "https://a.example/", "text": "hello there"}) + "\n")
    out = tmp_path / "out"
    run_cli("run", pipe, "--input", inp, "--out", out, "--robots-cache", CACHE, "--no-progress")
    assert json.loads((out / "run.json").read_text())["totals"]["documents"] == 1
    for bad in ("[]", "[GPTBot, 3]"):
        pipe.write_text(f"blocks:\n  - optout: {{agents: {bad}}}\n  - tokenize: {{}}\n")
        with pytest.raises(ConfigError, match="agents"):
            load_pipeline(pipe)

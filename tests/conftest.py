"""Shared fixtures. Tests that need ../shared/corpora read it in place; they skip when it is absent,
except under CI=true, where its absence is a failure."""
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CURATE_SHARED", REPO.parent / "shared"))
CORPORA = SHARED / "corpora"


def _require(path: Path) -> Path:
    if path.exists():
        return path
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{path} is missing; under CI=true the shared corpora must be present")
    pytest.skip(f"{path} is absent (shared corpora not beside the repo); set CURATE_SHARED or clone ../shared")


@pytest.fixture(scope="session")
def corpora() -> Path:
    """Path to ../shared/corpora (read-only, never copied into the project)."""
    return _require(CORPORA)


def run_cli(*args, check: bool = True, cwd=None, env=None):
    """Run the real `curate` command line in a subprocess (multiprocess executors included)."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "curate.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or REPO, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"curate {' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> Path:
    """The README's `make demo` once per test session (2 tasks on 2 workers); returns the run directory.
    In CI (a fresh clone) this is the real first `make demo`, install step included."""
    import subprocess

    out = tmp_path_factory.mktemp("demo") / "run"
    proc = subprocess.run(["make", "-C", str(REPO), "demo", f"DEMO_OUT={out}",
                           "DEMO_ARGS=--tasks 2 --workers 2 --no-progress"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"make demo failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    (out / "demo.stdout.txt").write_text(proc.stdout)
    return out


def run_small(tmp_path, docs: list[dict], blocks: str, out_name: str = "out"):
    """Write `docs` as in.jsonl and a pipeline of `blocks` (YAML list items, e.g. "  - tokenize: {}\\n"),
    run `curate run` on them, and return (out, input file, pipeline file)."""
    import json

    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(json.dumps(d) + "\n" for d in docs))
    pipe = tmp_path / "p.yaml"
    pipe.write_text("blocks:\n" + blocks)
    out = tmp_path / out_name
    run_cli("run", pipe, "--input", inp, "--out", out, "--no-progress")
    return out, inp, pipe


# License prose and notices shared by the license window and speed-path tests.
LICENSE_PROSE = ("The committee met on Tuesday to discuss the harbour project and the new ferry timetable. "
                 "Residents asked about parking near the station, and the mayor promised a survey in spring. ") * 20
LICENSE_NOTICES = [
    "This work is licensed under a Creative Commons Attribution-NonCommercial 4.0 International License.",
    "Licensed under the Apache License, Version 2.0.",
    "SPDX-License-Identifier: MIT",
    "© 2021 Example Ltd. All rights reserved.",
    "Released under the terms of the GNU General Public License version 3 or any later version.",
]

"""`curate demo --executor slurm` on the real single-node cluster of scripts/slurm/up.sh.

One array task of the main pass is cancelled with `scancel` while it runs: the command fails naming the
task's logs, `curate status` reports it, and the same command again finishes the run with manifests and
shards byte-identical to a local run (the session's `demo_run`, 2 local tasks).

The cluster comes from the `slurm_cluster` fixture of test_slurm_cluster.py: these tests skip when this
machine cannot host it (not root, no packages), except under CI=true, where they fail instead.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from conftest import REPO
from test_slurm_cluster import slurm_cluster  # noqa: F401  (session fixture: starts or finds the cluster)
from test_resume import assert_same_outputs, verify_checksums

TIMEOUT_S = 600


def _curate(*args, env, check=True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "curate.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=TIMEOUT_S)
    if check and proc.returncode != 0:
        raise AssertionError(f"curate {' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc


def _wait_for(predicate, what: str, proc: subprocess.Popen | None = None, timeout: float = TIMEOUT_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"curate exited {proc.returncode} while waiting for {what}:\n{proc.stderr.read()[-4000:]}")
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def _cancel_our_jobs(out: Path, env) -> None:
    for state in out.glob("logs/*/curate_stage.json"):
        s = json.loads(state.read_text())
        ids = [str(j) for j in (s.get("job_id"), s.get("merge_job_id")) if j]
        if ids:
            subprocess.run(["scancel", *ids], env=env, capture_output=True, check=False)


def test_slurm_demo_survives_scancel_and_matches_local(slurm_cluster, demo_run, tmp_path):  # noqa: F811
    env = slurm_cluster.env
    out = tmp_path / "slurm"
    cmd = ["demo", "--out", out, "--executor", "slurm", "--tasks", "4", "--time", "00:20:00", "--no-progress"]
    proc = subprocess.Popen([sys.executable, "-m", "curate.cli", *map(str, cmd)], cwd=REPO, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    main = out / "logs" / "curate"
    try:
        def main_job():
            try:
                return json.loads((main / "curate_stage.json").read_text()).get("job_id")
            except (OSError, ValueError):
                return None

        job = _wait_for(main_job, "the main pass to be submitted", proc)

        n_files = len(list((out / "input").glob("*.*")))

        def midway():
            """A running task that has finished some of its files but not all (all ranks launched: index = rank)."""
            q = subprocess.run(["squeue", "-h", "-r", "-j", job, "-t", "RUNNING", "-o", "%i"], env=env,
                               capture_output=True, text=True).stdout.split()
            done = [int(p.name[:5]) for p in (out / ".curate" / "done").glob("*.json")]
            for task in q:
                rank = int(task.split("_")[1])
                mine = [i for i in done if i % 4 == rank]
                if 0 < len(mine) < len(range(rank, n_files, 4)):
                    return [rank]
            return None

        [victim] = _wait_for(midway, "a main-pass task halfway through its files", proc)
        subprocess.run(["scancel", f"{job}_{victim}"], env=env, check=True)
        _, stderr = proc.communicate(timeout=TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        _cancel_our_jobs(out, env)

    slurm_log = main / "slurm_logs" / f"{job}_{victim}.out"
    assert proc.returncode != 0, "the run succeeded although one of its tasks was cancelled"
    assert f"task {victim}" in stderr and str(slurm_log) in stderr, stderr[-3000:]
    assert not (main / "completions" / f"{victim:05d}").exists() and slurm_log.exists()
    assert "CANCELLED" in slurm_log.read_text()
    assert not (out / "run.json").exists()

    st = _curate("status", out, env=env, check=False)
    assert st.returncode == 1 and f"task {victim} FAILED" in st.stdout and str(slurm_log) in st.stdout, st.stdout
    info = json.loads(_curate("status", out, "--json", env=env, check=False).stdout)
    stage = info["stages"][-1]
    assert stage["stage"] == "curate" and stage["executor"] == "slurm" and stage["job_id"] == job
    assert [f["rank"] for f in stage["failed"]] == [victim] and "left the Slurm queue" in stage["failed"][0]["error"]
    assert stage["tasks"]["done"] == 3

    # the same command again: only the cancelled task's unfinished files run
    again = _curate(*cmd, env=env)
    assert "documents read" in again.stdout
    second = json.loads((main / "curate_stage.json").read_text())
    assert second["ranks"] == [victim] and second["job_id"] != job
    assert_same_outputs(demo_run, out)
    assert not list(out.rglob("*.tmp"))
    run_info = json.loads((out / "run.json").read_text())
    assert run_info["executor"]["kind"] == "slurm" and run_info["totals"]["documents"] == 6000
    verify_checksums(out, run_info["outputs"])
    st = json.loads(_curate("status", out, "--json", env=env).stdout)
    assert st["state"] == "done" and all(s["tasks"]["failed"] == 0 for s in st["stages"])
    assert (out / "logs" / "calibrate" / "slurm_logs").is_dir()


def test_slurm_demo_finds_the_make_slurm_up_cluster(slurm_cluster, tmp_path):  # noqa: F811
    """After `make slurm-up` the documented command works as it is: no SLURM_CONF, no file to source."""
    env = {k: v for k, v in slurm_cluster.env.items() if k != "SLURM_CONF"}
    out = tmp_path / "found"
    try:
        _curate("demo", "--out", out, "--docs", "100", "--executor", "slurm", "--no-progress", env=env)
    finally:
        _cancel_our_jobs(out, slurm_cluster.env)
    info = json.loads((out / "run.json").read_text())
    assert info["executor"]["kind"] == "slurm" and info["totals"]["documents"] == 100


def test_slurm_executor_without_a_cluster_says_how_to_start_one(tmp_path):
    """No controller anywhere (no SLURM_CONF, no system slurm.conf, no `make slurm-up` cluster): a clear
    error before anything is written."""
    import os
    import shutil

    if shutil.which("sbatch") is None or Path("/etc/slurm/slurm.conf").exists():
        import pytest

        pytest.skip("needs a Slurm client without a system-wide slurm.conf")
    env = {k: v for k, v in os.environ.items() if k != "SLURM_CONF"}
    env["CURATE_SLURM_STATE"] = str(tmp_path / "no-cluster")
    proc = _curate("demo", "--out", tmp_path / "x", "--docs", "100", "--executor", "slurm", env=env, check=False)
    assert proc.returncode != 0 and "make slurm-up" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x").exists()

"""Ctrl-C during a run: one line, exit status 130, no tracebacks; the same command then finishes the run."""
import json
import os
import signal
import subprocess
import sys
import time

from conftest import REPO, run_cli


def test_ctrl_c_is_one_line_and_the_run_resumes(tmp_path):
    out = tmp_path / "run"
    args = ["demo", "--out", str(out), "--docs", "1000", "--tasks", "2", "--workers", "2"]
    proc = subprocess.Popen([sys.executable, "-m", "curate.cli", *args], cwd=REPO, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 240
        while not (out / "logs" / "curate" / "curate_stage.json").exists() and proc.poll() is None:
            assert time.monotonic() < deadline, "the main pass did not start"
            time.sleep(0.1)
        time.sleep(1.0)
        assert proc.poll() is None, "the run ended before it could be interrupted"
        os.killpg(proc.pid, signal.SIGINT)  # what the terminal sends to the whole foreground group
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 130, err
    assert err.rstrip().splitlines()[-1] == "interrupted; run the same command to resume", err
    assert "Traceback" not in err and "Aborted" not in err and "\x1b[" not in err, err
    assert not (out / "run.json").exists()
    run_cli(*args, "--no-progress")
    assert json.loads((out / "run.json").read_text())["totals"]["documents"] == 1000

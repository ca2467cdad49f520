"""How curate finds a Slurm controller without SLURM_CONF (issue 13, item 8): the `make slurm-up` cluster
while its slurmctld runs, and not after `make slurm-down` (a stale pid file or conf is not enough)."""
import os

import pytest

from curate import executors


@pytest.fixture
def no_conf(monkeypatch, tmp_path):
    monkeypatch.setenv("SLURM_CONF", "")
    monkeypatch.delenv("SLURM_CONF")
    monkeypatch.setattr(executors, "SYSTEM_CONFS", ())
    state = tmp_path / "state"
    (state / "run").mkdir(parents=True)
    (state / "slurm.conf").write_text("ClusterName=curate\n")
    monkeypatch.setenv("CURATE_SLURM_STATE", str(state))
    return state


def test_a_stopped_cluster_is_not_found(no_conf):
    assert executors.slurm_up_conf() is None  # no pid file: down.sh removed it
    (no_conf / "run" / "slurmctld.pid").write_text(f"{os.getpid()}\n")  # a live pid that is not slurmctld
    assert executors.slurm_up_conf() is None
    assert executors.slurm_environment() is None and "SLURM_CONF" not in os.environ


def test_slurm_conf_set_wins(no_conf, monkeypatch):
    monkeypatch.setenv("SLURM_CONF", "/somewhere/slurm.conf")
    assert executors.slurm_environment() == "SLURM_CONF=/somewhere/slurm.conf"


def test_the_running_test_cluster_is_found(monkeypatch):
    state = os.environ.get("CURATE_SLURM_STATE", "/tmp/curate-slurm")
    try:
        pid = int(open(f"{state}/run/slurmctld.pid").read())
        running = open(f"/proc/{pid}/comm").read().strip() == "slurmctld"
    except (OSError, ValueError):
        running = False
    if not running:
        pytest.skip("no `make slurm-up` cluster running")
    monkeypatch.setenv("SLURM_CONF", "")  # so that the value curate sets is undone after the test
    monkeypatch.delenv("SLURM_CONF")
    monkeypatch.setattr(executors, "SYSTEM_CONFS", ())
    assert "make slurm-up" in executors.slurm_environment()
    assert os.environ["SLURM_CONF"] == f"{state}/slurm.conf"

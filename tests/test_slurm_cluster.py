"""The single-node Slurm test cluster of scripts/slurm/up.sh: it starts, runs plain, array and dependent
jobs, survives a second up.sh without duplicating daemons, and datatrove's SlurmPipelineExecutor submits
to it.

The session fixture runs up.sh (which installs slurm-wlm and munge with apt-get when missing). It skips when
we are not root or apt cannot install the packages, except under CI=true, where that is a failure. It never
stops the cluster: one that was already running belongs to someone else, and one it started is reused by
later tests (stop it with `make slurm-down` or `bash scripts/slurm/down.sh`).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
UP_SH = REPO / "scripts" / "slurm" / "up.sh"
STATE = Path(os.environ.get("CURATE_SLURM_STATE", "/tmp/curate-slurm"))
IN_CI = os.environ.get("CI", "").lower() == "true"
DAEMONS = ("munged", "slurmctld", "slurmd")
JOB_TIMEOUT_S = 90  # generous: a loaded 2-core machine, and Slurm schedules in passes a few seconds apart
UP_TIMEOUT_S = 900  # a cold up.sh includes apt-get install
# up.sh exit codes meaning "this machine cannot host the cluster" rather than "the cluster is broken".
UP_NOT_ROOT, UP_NO_PACKAGES = 2, 3


def _unavailable(reason: str) -> None:
    """Skip, or fail under CI=true where the cluster must come up."""
    if IN_CI:
        pytest.fail(f"Slurm test cluster unavailable under CI=true: {reason}")
    pytest.skip(f"Slurm test cluster unavailable: {reason}")


def _live_pid(name: str, state: Path) -> int | None:
    """The pid in STATE/run/NAME.pid when that process is alive and is NAME (not a reused pid, not a zombie)."""
    try:
        pid = int((state / "run" / f"{name}.pid").read_text().strip())
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return None
    comm, rest = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :]
    return pid if comm == name and not rest.startswith(("Z", "X")) else None


def _live_process_count(name: str) -> int:
    """How many live (non-zombie) processes named NAME run on this machine, whatever cluster they serve."""
    count = 0
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            stat = stat_file.read_text()
        except OSError:
            continue
        comm, rest = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :]
        count += comm == name and not rest.startswith(("Z", "X"))
    return count


def _run_up(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`make slurm-up`, as the README says; up.sh's own exit code is read back from make's error line."""
    proc = subprocess.run(
        ["make", "-s", "-C", str(REPO), "slurm-up"], env=env, capture_output=True, text=True,
        timeout=UP_TIMEOUT_S, check=False,
    )
    if proc.returncode != 0:
        m = re.search(r"slurm-up\] Error (\d+)", proc.stderr)
        proc.returncode = int(m.group(1)) if m else proc.returncode
    return proc


@dataclass
class Cluster:
    """A running test cluster: its state directory and an environment whose SLURM_CONF points at it."""

    state: Path
    env: dict[str, str]
    was_running: bool
    pids: dict[str, int | None] = field(default_factory=dict)

    def cmd(self, *args: str, timeout: float = 30) -> str:
        """Run a Slurm client command against this cluster; fail the test with its stderr if it fails."""
        proc = subprocess.run(args, env=self.env, capture_output=True, text=True, timeout=timeout, check=False)
        if proc.returncode != 0:
            pytest.fail(f"{' '.join(args)} exited {proc.returncode}: {proc.stderr.strip()}")
        return proc.stdout


@pytest.fixture(scope="session")
def slurm_cluster() -> Cluster:
    """Start (or find) the cluster with up.sh. Never stopped here: see the module docstring."""
    if os.geteuid() != 0:
        _unavailable("the single-node cluster runs munged/slurmctld/slurmd as root; run the tests as root")
    env = {**os.environ, "CURATE_SLURM_STATE": str(STATE), "SLURM_CONF": str(STATE / "slurm.conf")}
    was_running = all(_live_pid(d, STATE) for d in DAEMONS)
    proc = _run_up(env)
    if proc.returncode in (UP_NOT_ROOT, UP_NO_PACKAGES):
        _unavailable(f"up.sh exited {proc.returncode}: {proc.stderr.strip()[-2000:]}")
    if proc.returncode != 0:
        pytest.fail(f"up.sh exited {proc.returncode}:\n{proc.stderr[-4000:]}")
    return Cluster(STATE, env, was_running, {d: _live_pid(d, STATE) for d in DAEMONS})


class Jobs:
    """Submits jobs to the cluster and cancels whatever is still queued when the test ends."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.ids: list[str] = []

    def sbatch(self, *args: str) -> str:
        """Submit with sbatch --parsable; returns the job id."""
        out = self.cluster.cmd("sbatch", "--parsable", *args)
        job_id = out.strip().split(";")[0]
        assert job_id.isdigit(), f"sbatch printed {out!r}, not a job id"
        self.ids.append(job_id)
        return job_id

    def queue(self) -> str:
        return self.cluster.cmd("squeue", "-h", "-o", "%i %T %r")

    def wait_for_files(
        self, paths: list[Path], *, nonempty: bool = True, logs: Path | None = None, timeout: float = JOB_TIMEOUT_S
    ) -> None:
        """Poll until every path exists (and has content, when NONEMPTY); on timeout fail with the queue and
        the tails of the job logs found under LOGS."""

        def done(p: Path) -> bool:
            return p.exists() and (not nonempty or p.stat().st_size > 0)

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(done(p) for p in paths):
                return
            time.sleep(0.5)
        missing = [str(p) for p in paths if not done(p)]
        tails = [f"--- {f}\n{f.read_text()[-1500:]}" for f in sorted(logs.rglob("*.out"))] if logs else []
        pytest.fail(f"after {timeout}s still missing {missing}\nsqueue:\n{self.queue()}\n" + "\n".join(tails))

    def wait_reason(self, job_id: str, reason: str, timeout: float = JOB_TIMEOUT_S) -> None:
        """Poll until squeue shows JOB_ID pending for REASON."""
        deadline = time.monotonic() + timeout
        seen = ""
        while time.monotonic() < deadline:
            seen = self.cluster.cmd("squeue", "-h", "-j", job_id, "-o", "%r").strip()
            if seen == reason:
                return
            time.sleep(0.5)
        pytest.fail(f"job {job_id} pending reason is {seen!r}, expected {reason!r}\nsqueue:\n{self.queue()}")

    def cancel_all(self) -> None:
        if self.ids:
            subprocess.run(["scancel", *self.ids], env=self.cluster.env, capture_output=True, timeout=30)


@pytest.fixture
def jobs(slurm_cluster: Cluster):
    tracker = Jobs(slurm_cluster)
    yield tracker
    tracker.cancel_all()


def test_cluster_is_up_with_one_idle_node(slurm_cluster: Cluster) -> None:
    assert "is UP" in slurm_cluster.cmd("scontrol", "ping")
    nodes = slurm_cluster.cmd("sinfo", "-h", "-N", "-o", "%N %P %T %c").split("\n")
    nodes = [line.split() for line in nodes if line.strip()]
    assert len(nodes) == 1, nodes
    name, partition, state, cpus = nodes[0]
    assert name == os.uname().nodename.split(".")[0]
    assert partition == "debug*"  # '*' marks the default partition
    assert state in {"idle", "mixed", "allocated", "completing"}
    assert int(cpus) == len(os.sched_getaffinity(0))  # what `nproc` reports
    assert all(slurm_cluster.pids.values()), f"daemon pid files under {slurm_cluster.state}/run: {slurm_cluster.pids}"


def test_env_file_points_callers_at_the_cluster(slurm_cluster: Cluster) -> None:
    env_sh = slurm_cluster.state / "env.sh"
    clean_env = {k: v for k, v in os.environ.items() if k != "SLURM_CONF"}
    out = subprocess.run(
        ["bash", "-c", f"source {env_sh} && echo $SLURM_CONF && scontrol ping"],
        env=clean_env, capture_output=True, text=True, timeout=30, check=True,
    ).stdout.splitlines()
    assert out[0] == str(slurm_cluster.state / "slurm.conf")
    assert "is UP" in out[1]


def test_wrap_job_runs_and_writes_its_output(jobs: Jobs, tmp_path: Path) -> None:
    out = tmp_path / "wrap.txt"
    job_id = jobs.sbatch("-o", str(tmp_path / "slurm-%j.out"), "--wrap", f"echo $SLURM_JOB_ID $((6*7)) > {out}")
    jobs.wait_for_files([out])
    assert out.read_text().split() == [job_id, "42"]


def test_array_job_runs_every_index(jobs: Jobs, tmp_path: Path) -> None:
    square = "$((SLURM_ARRAY_TASK_ID * SLURM_ARRAY_TASK_ID))"
    script = f"echo $SLURM_ARRAY_JOB_ID {square} > {tmp_path}/task-$SLURM_ARRAY_TASK_ID"
    job_id = jobs.sbatch("--array=0-3", "-o", str(tmp_path / "slurm-%A_%a.out"), "--wrap", script)
    outputs = [tmp_path / f"task-{i}" for i in range(4)]
    jobs.wait_for_files(outputs)
    assert [p.read_text().split() for p in outputs] == [[job_id, str(i * i)] for i in range(4)]
    assert not (tmp_path / "task-4").exists()


def test_dependency_afterok_orders_jobs_and_blocks_after_failure(jobs: Jobs, tmp_path: Path) -> None:
    log = tmp_path / "order.log"
    first = jobs.sbatch("-o", "/dev/null", "--wrap", f"sleep 2; echo first >> {log}")
    # The dependent job records whether the first job's line was already there when it started.
    second = jobs.sbatch(
        "-o", "/dev/null", f"--dependency=afterok:{first}",
        "--wrap", f"grep -q first {log} && echo second >> {log} || echo too-early >> {log}",
    )
    failing = jobs.sbatch("-o", "/dev/null", "--wrap", "exit 3")
    blocked = jobs.sbatch("-o", "/dev/null", f"--dependency=afterok:{failing}", "--wrap", f"touch {tmp_path}/ran")
    assert second != first
    jobs.wait_for_files([log])
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while log.read_text().count("\n") < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert log.read_text().split() == ["first", "second"]
    jobs.wait_reason(blocked, "DependencyNeverSatisfied")
    assert not (tmp_path / "ran").exists()


def test_second_up_keeps_the_same_daemons(slurm_cluster: Cluster) -> None:
    before = {d: _live_process_count(d) for d in DAEMONS}
    proc = _run_up(slurm_cluster.env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "starting" not in proc.stderr, f"second up.sh restarted something:\n{proc.stderr}"
    assert {d: _live_pid(d, slurm_cluster.state) for d in DAEMONS} == slurm_cluster.pids
    assert {d: _live_process_count(d) for d in DAEMONS} == before
    nodes = [line for line in slurm_cluster.cmd("sinfo", "-h", "-N", "-o", "%N").splitlines() if line.strip()]
    assert len(nodes) == 1


DATATROVE_LAUNCHER = '''
import sys
from datatrove.executor.slurm import SlurmPipelineExecutor

OUT = sys.argv[1]


def write_rank(data, rank: int = 0, world_size: int = 1, out: str = OUT):
    """One file per rank. `out` is a default argument so that dill carries it into the job."""
    with open(f"{out}/rank-{rank}.txt", "w") as f:
        f.write(f"{rank}/{world_size}\\n")
    return iter(())


executor = SlurmPipelineExecutor(
    pipeline=[write_rank],
    tasks=2,
    time="00:05:00",
    partition="debug",
    job_name="curate-slurm-smoke",
    logging_dir=f"{OUT}/logs",
    venv_path=f"{sys.prefix}/bin/activate",  # puts launch_pickled_pipeline / merge_stats on PATH in the job
    qos="",  # no accounting database on the test cluster: send no --qos
    cpus_per_task=1,
    mem_per_cpu_gb=1,
)
executor.run()
print("JOB_ID", executor.job_id)
'''


def test_datatrove_slurm_executor_submits_and_completes(jobs: Jobs, tmp_path: Path) -> None:
    pytest.importorskip("datatrove.executor.slurm")
    launcher = tmp_path / "launch.py"
    # Run as a script: dill pickles a function from __main__ by value, so the job needs no test module.
    launcher.write_text(textwrap.dedent(DATATROVE_LAUNCHER))
    proc = subprocess.run(
        [sys.executable, str(launcher), str(tmp_path)],
        env=jobs.cluster.env, capture_output=True, text=True, timeout=120, cwd=tmp_path, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    job_id = proc.stdout.split("JOB_ID")[-1].strip()
    jobs.ids.append(job_id)
    logs = tmp_path / "logs"
    # datatrove marks a finished rank with an empty file logs/completions/<rank, 5 digits>.
    jobs.wait_for_files([logs / "completions" / f"{rank:05d}" for rank in range(2)], nonempty=False, logs=logs)
    assert sorted(p.read_text() for p in tmp_path.glob("rank-*.txt")) == ["0/2\n", "1/2\n"]
    # The stats merge is a second job with --dependency=afterok on the array: it runs only if both ranks did.
    jobs.wait_for_files([logs / "stats.json"], logs=logs)
    script = (logs / "launch_script.slurm").read_text()
    assert "--array=0-1" in script and "--qos" not in script

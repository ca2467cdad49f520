"""Executors: one stage of a run (toxicity calibration, the main pass) as datatrove tasks, either local
processes (LocalPipelineExecutor) or a Slurm array job (SlurmPipelineExecutor).

`make_executor()` returns a `Stage`; `Stage.run()` runs or submits the tasks, waits until they are all
finished, and raises `StageFailed` (naming each failed task's logs) when one of them failed. The other
tasks still run to the end, so their outputs are complete and a rerun only redoes the failed work.

Resume. A task (rank r of N) owns input files i with i % N == r. A file counts as done when its stage
output exists: the per-file completion marker `.curate/done/<stem>.json` for the main pass, the score
file `calibration/scores/<stem>.parquet` for the calibration. Only ranks with an unfinished file run
again. datatrove's own rank markers (`logs/<stage>/completions/<rank>`) are rewritten to agree with the
files before each launch, so they stay right when the task count changes between attempts.

Bookkeeping per stage, under `logs/<stage>/` (read by `curate status`):
- `curate_stage.json`: executor, task count, ranks launched, the launcher's pid, Slurm job ids, times;
- `failures/<rank>`: the error of a task that raised (written by the task itself);
- `logs/task_<rank>.log` (datatrove) and, on Slurm, `slurm_logs/<jobid>_<arrayindex>.out`.

Calibration and main pass on Slurm are submitted one after the other, each waited for: the main pass's
toxicity block is built with the thresholds that the calibration produced, so it cannot be submitted
before the calibration is over (a `--dependency` job would have to read them at run time instead).

Task logs go to OUT/logs/<stage>/ in full; the console only shows errors from datatrove, so progress
bars and the summary stay readable.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from datatrove.executor.local import LocalPipelineExecutor
from datatrove.executor.slurm import SlurmPipelineExecutor, launch_slurm_job
from datatrove.utils.stats import PipelineStats

import curate._logging  # noqa: F401  (quiet datatrove console logs)

STATE_FILE = "curate_stage.json"
FAILURES = "failures"
COMPLETIONS = "completions"
POLL_S = 2.0


class StageFailed(RuntimeError):
    """Some tasks of a stage did not finish; the message names their logs and how to resume."""


# -- datatrove executors with curate's rank selection and failure records ----------------------------

def _record_failure(executor, rank: int, error: BaseException) -> None:
    """Written by the failing task itself, so `curate status` can show the error without parsing logs."""
    info = {"rank": rank, "error": f"{type(error).__name__}: {error}", "host": socket.gethostname(),
            "pid": os.getpid(), "time": _now(),
            "slurm_job": os.environ.get("SLURM_ARRAY_JOB_ID"), "slurm_array_index": os.environ.get("SLURM_ARRAY_TASK_ID")}
    try:
        with executor.logging_dir.open(f"{FAILURES}/{rank:05d}", "w") as f:
            f.write(json.dumps(info, sort_keys=True))
    except OSError:  # the record is a convenience; the missing completion marker is what counts
        pass


class CurateLocalExecutor(LocalPipelineExecutor):
    """Runs only the ranks in `pending`; a rank that raises is recorded and the others go on."""

    def __init__(self, *args, pending: list[int] | None = None, **kw):
        super().__init__(*args, **kw)
        self.pending = pending
        self.launcher_pid = os.getpid()

    def get_incomplete_ranks(self, ranks=None, skip_completed=None) -> list[int]:
        ranks = list(ranks if ranks is not None else range(self.world_size))
        return ranks if self.pending is None else [r for r in ranks if r in set(self.pending)]

    def _run_for_rank(self, rank: int, local_rank: int = 0, node_rank: int = -1) -> PipelineStats:
        if os.getpid() != self.launcher_pid:
            # A pool worker: Ctrl-C is the launcher's to handle (it stops the pool); a worker that raised
            # KeyboardInterrupt itself would print a traceback over the launcher's one-line message.
            import signal

            signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            return super()._run_for_rank(rank, local_rank, node_rank)
        except Exception as e:  # datatrove logged the traceback to the task log already
            _record_failure(self, rank, e)
            return PipelineStats()


class CurateSlurmExecutor(SlurmPipelineExecutor):
    """datatrove's Slurm executor, launching only `pending` ranks, keeping the stats job's id (to cancel it
    when a rank fails: its afterok dependency can then never be met) and leaving out unset sbatch options."""

    def __init__(self, *args, pending: list[int] | None = None, **kw):
        super().__init__(*args, **kw)
        self.pending = pending
        self.merge_job_id: str | None = None

    def get_incomplete_ranks(self, ranks=None, skip_completed=None) -> list[int]:
        ranks = list(ranks if ranks is not None else range(self.world_size))
        return ranks if self.pending is None else [r for r in ranks if r in set(self.pending)]

    def get_sbatch_args(self, max_array: int = 1) -> dict:
        return {k: v for k, v in super().get_sbatch_args(max_array).items() if v is not None}

    def launch_merge_stats(self):
        self.merge_job_id = launch_slurm_job(
            self.get_launch_file_contents(
                {**self.get_sbatch_args(), "cpus-per-task": 1, "mem-per-cpu": "1G",
                 "dependency": f"afterok:{self.job_id}"},
                f"merge_stats {self.logging_dir.resolve_paths('stats')} "
                f"-o {self.logging_dir.resolve_paths('stats.json')}"),
            self.job_id_retriever)

    def _run_for_rank(self, rank: int, local_rank: int = 0, node_rank: int = -1) -> PipelineStats:
        try:
            return super()._run_for_rank(rank, local_rank, node_rank)
        except Exception as e:
            _record_failure(self, rank, e)
            raise  # the array task must fail, so Slurm shows it


# What every pool worker imports (unpickling the pipeline, then the blocks' setup): the forkserver that
# datatrove's local pool forks its workers from imports them once, so a worker starts with them loaded
# instead of paying ~1 s of CPU for them, in each worker of each stage. A module missing here is only
# imported by the worker itself; one that fails to import is skipped by the forkserver.
WORKER_PRELOAD = (
    "curate.executors", "curate.readers", "curate.sink", "curate.calibrate", "curate.blocks.optout",
    "curate.blocks.language", "curate.blocks.toxicity", "curate.blocks.license", "curate.blocks.pii",
    "curate.blocks.tokenize", "curate.robots.policy", "curate.robots.agents", "curate.robots.cache", "fasttext",
    "curate.toxicity", "curate.toxicity.fasttext_model", "curate.license.policy", "curate.pii", "curate.tokenizer",
    "tiktoken")


def preload_worker_imports(pipeline: list = ()) -> None:
    """Has effect only before the process's forkserver starts (it is started once and then reused): it
    imports WORKER_PRELOAD and loads the fastText toxicity scorers of `pipeline` (curate.worker_warmup)."""
    import multiprocess.forkserver

    from curate.worker_warmup import WARM_ENV

    options = [step.scorer_options for step in pipeline if isinstance(getattr(step, "scorer_options", None), dict)]
    os.environ[WARM_ENV] = json.dumps(options, sort_keys=True)  # the forkserver inherits it when it starts
    multiprocess.forkserver.set_forkserver_preload(["__main__", *WORKER_PRELOAD, "curate.worker_warmup"])


# -- which ranks still have work ---------------------------------------------------------------------

def stage_files(pipeline: list) -> tuple[list, Callable[[object], bool]] | None:
    """The stage's input files and a predicate "this file's stage outputs are complete" (None when the
    pipeline does not start with curate's reader: then every rank runs)."""
    from curate.calibrate import CalibrationSampler
    from curate.readers import InputReader

    if not pipeline or not isinstance(pipeline[0], InputReader):
        return None
    reader, last = pipeline[0], pipeline[-1]
    if isinstance(last, CalibrationSampler):
        folder = Path(last.out_dir) / "calibration" / "scores"
        return reader.files, lambda f: (folder / f"{f.stem}.parquet").exists()
    if reader.done_dir:
        return reader.files, reader.is_done
    return reader.files, lambda f: False


def pending_ranks(pipeline: list, tasks: int) -> list[int]:
    """Ranks owning at least one unfinished input file (file i belongs to rank i % tasks)."""
    found = stage_files(pipeline)
    if found is None:
        return list(range(tasks))
    files, done = found
    return sorted({f.index % tasks for f in files if not done(f)})


# -- the stage ------------------------------------------------------------------------------------------

def make_executor(pipeline: list, logging_dir: Path, opts, depends=None) -> "Stage":
    """A runnable stage: `.run()` runs/submits the pipeline as `opts.tasks` tasks and waits for them."""
    if opts.executor not in ("local", "slurm"):
        raise ValueError(f"unknown executor {opts.executor!r} (local or slurm)")
    return Stage(pipeline, Path(logging_dir), opts, depends)


class Stage:
    def __init__(self, pipeline: list, logging_dir: Path, opts, depends=None):
        self.pipeline, self.logging_dir, self.opts, self.depends = pipeline, Path(logging_dir), opts, depends
        self.name = self.logging_dir.name
        self.executor = None  # the datatrove executor of the last launch

    # .. public ..
    def run(self) -> None:
        """Run the unfinished ranks; return when all are done, raise StageFailed when some are not."""
        self.logging_dir.mkdir(parents=True, exist_ok=True)
        with _StageLock(self.logging_dir):
            if self.opts.executor == "slurm":
                _check_slurm()
                _refuse_if_still_queued(self.logging_dir)
            tasks = self.opts.tasks
            pending = pending_ranks(self.pipeline, tasks)
            self._sync_rank_markers(tasks, pending)
            state = {"stage": self.name, "executor": self.opts.executor, "tasks": tasks, "ranks": pending,
                     "files": self._file_table(tasks), "host": socket.gethostname(), "pid": os.getpid(),
                     "started_at": _now(), "status": "running"}
            _write_state(self.logging_dir, state)
            if not pending:
                _write_state(self.logging_dir, {**state, "status": "done", "finished_at": _now()})
                return
            if self.opts.executor == "local":
                self._run_local(pending)
            else:
                self._run_slurm(pending, state)
            failed = [r for r in pending if not (self.logging_dir / COMPLETIONS / f"{r:05d}").exists()]
            _write_state(self.logging_dir, {**read_stage_state(self.logging_dir), "finished_at": _now(),
                                            "status": "failed" if failed else "done"})
            if failed:
                raise StageFailed(self._failure_message(failed))

    # .. local ..
    def _run_local(self, pending: list[int]) -> None:
        workers = max(1, min(self.opts.workers, len(pending)))
        if workers > 1:
            preload_worker_imports(self.pipeline)
        self.executor = CurateLocalExecutor(self.pipeline, tasks=self.opts.tasks, workers=workers,
                                            logging_dir=str(self.logging_dir), skip_completed=False,
                                            depends=self.depends, pending=pending)
        self.executor.run()

    # .. slurm ..
    def _run_slurm(self, pending: list[int], state: dict) -> None:
        from curate.readers import InputReader
        from curate.sink import ShardManifestWriter

        for step in self.pipeline:  # tasks log to files: a progress bar would only bloat the Slurm logs
            if isinstance(step, (ShardManifestWriter, InputReader)):
                step.progress = False
        s = self.opts.slurm or {}
        venv = Path(sys.prefix) / "bin" / "activate"
        env = {"venv_path": str(venv)} if venv.exists() else {
            "env_command": f"export PATH={Path(sys.executable).parent}:$PATH"}
        self.executor = CurateSlurmExecutor(
            self.pipeline, tasks=self.opts.tasks, time=s.get("time") or "04:00:00", partition=s.get("partition"),
            cpus_per_task=s.get("cpus_per_task") or 1, mem_per_cpu_gb=s.get("mem_per_cpu_gb") or 2,
            job_name=f"curate-{self.name}", qos=s.get("qos", ""), logging_dir=str(self.logging_dir),
            skip_completed=False, pending=pending, **env)
        try:
            self.executor.run()  # outside an allocation this submits the array and the stats job
        except subprocess.CalledProcessError as e:
            raise StageFailed(f"stage {self.name}: sbatch failed (exit {e.returncode}); its message is above. "
                              f"Launch script: {self.logging_dir / 'launch_script.slurm'}") from e
        ex = self.executor
        array = ex.get_incomplete_ranks()  # array index i runs ranks_to_run[i]
        _write_state(self.logging_dir, {**state, "job_id": str(ex.job_id), "merge_job_id": ex.merge_job_id,
                                        "array_ranks": array, "slurm_logs": str(ex.slurm_logs_folder)})
        print(f"stage {self.name}: Slurm job {ex.job_id} ({len(array)} tasks); logs in {self.logging_dir}",
              file=sys.stderr)
        try:
            wait_for_slurm(self.logging_dir, str(ex.job_id), array)
        except KeyboardInterrupt:
            print(f"\nstage {self.name}: stopped waiting; Slurm job {ex.job_id} goes on. `curate status "
                  f"{self.logging_dir.parent.parent}` shows it; run the same command again when it is over "
                  f"(or `scancel {ex.job_id}`).", file=sys.stderr)
            raise
        failed = [r for r in array if not (self.logging_dir / COMPLETIONS / f"{r:05d}").exists()]
        if failed and ex.merge_job_id:  # its afterok dependency can never be met now
            subprocess.run(["scancel", str(ex.merge_job_id)], capture_output=True, check=False)

    # .. bookkeeping ..
    def _sync_rank_markers(self, tasks: int, pending: list[int]) -> None:
        """Make datatrove's rank markers agree with the per-file outputs for this task count: finished
        ranks are marked complete, pending ones lose their marker, failure records and old task log."""
        comp, fail = self.logging_dir / COMPLETIONS, self.logging_dir / FAILURES
        comp.mkdir(parents=True, exist_ok=True)
        fail.mkdir(parents=True, exist_ok=True)
        todo = set(pending)
        for p in list(comp.iterdir()) + list(fail.iterdir()):
            if not p.name.isdigit() or int(p.name) >= tasks or int(p.name) in todo:
                p.unlink()
        for r in range(tasks):
            if r not in todo:
                (comp / f"{r:05d}").touch()
            else:
                log = self.logging_dir / "logs" / f"task_{r:05d}.log"
                if log.exists():
                    log.unlink()

    def _file_table(self, tasks: int) -> list[list]:
        found = stage_files(self.pipeline)
        return [] if found is None else [[f.index, f.stem, f.index % tasks] for f in found[0]]

    def _failure_message(self, failed: list[int]) -> str:
        lines = [f"stage {self.name}: {len(failed)} of {self.opts.tasks} task(s) failed:"]
        for t in task_reports(self.logging_dir, failed):
            lines.append(f"  task {t['rank']}: {t.get('error') or 'ended without completing'}")
            for log in t["logs"]:
                lines.append(f"    log: {log}")
        lines.append("The other tasks' outputs are complete; fix the cause and run the same command again "
                     "to redo only the unfinished files (`curate status OUT` shows the state).")
        return "\n".join(lines)


def task_reports(logging_dir: Path, ranks: list[int]) -> list[dict]:
    """For each rank: its recorded error (if the task could record one) and the logs that exist."""
    state = read_stage_state(logging_dir)
    array = state.get("array_ranks") or []
    out = []
    for r in ranks:
        rep: dict = {"rank": r, "logs": []}
        fail = logging_dir / FAILURES / f"{r:05d}"
        if fail.exists():
            try:
                rep["error"] = json.loads(fail.read_text())["error"]
            except (ValueError, KeyError):
                rep["error"] = fail.read_text().strip() or None
        log = logging_dir / "logs" / f"task_{r:05d}.log"
        if log.exists():
            rep["logs"].append(str(log))
        if state.get("job_id") and r in array:
            slog = Path(state.get("slurm_logs") or logging_dir / "slurm_logs") / f"{state['job_id']}_{array.index(r)}.out"
            rep["slurm_task"] = f"{state['job_id']}_{array.index(r)}"
            if slog.exists():  # absent when the task was cancelled before it started
                rep["logs"].append(str(slog))
        out.append(rep)
    return out


# -- Slurm helpers ---------------------------------------------------------------------------------------

SYSTEM_CONFS = ("/etc/slurm/slurm.conf", "/etc/slurm-llnl/slurm.conf")


def slurm_up_conf() -> Path | None:
    """The slurm.conf of the single-node cluster that `make slurm-up` (scripts/slurm/up.sh) started, when
    its slurmctld is alive: state directory $CURATE_SLURM_STATE, default /tmp/curate-slurm. After
    `make slurm-down` (daemons stopped) there is none."""
    state = Path(os.environ.get("CURATE_SLURM_STATE") or "/tmp/curate-slurm")
    conf, pidfile = state / "slurm.conf", state / "run" / "slurmctld.pid"
    try:
        pid = int(pidfile.read_text().strip())
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except (OSError, ValueError):
        return None
    return conf if comm == "slurmctld" and conf.is_file() else None


def slurm_environment() -> str | None:
    """Make sure sbatch/squeue (and the jobs, which inherit the environment) find a controller: SLURM_CONF
    as set, else a system-wide slurm.conf, else the `make slurm-up` cluster (SLURM_CONF is then set in
    this process). Returns how the controller was found, or None when it was not."""
    if os.environ.get("SLURM_CONF"):
        return f"SLURM_CONF={os.environ['SLURM_CONF']}"
    for p in SYSTEM_CONFS:
        if Path(p).exists():
            return p
    conf = slurm_up_conf()
    if conf is not None:
        os.environ["SLURM_CONF"] = str(conf)
        return f"the cluster of `make slurm-up` (SLURM_CONF={conf})"
    return None


def _check_slurm() -> None:
    """Fail before submitting anything when this machine cannot talk to a Slurm controller."""
    from curate.config import ConfigError

    if shutil.which("sbatch") is None or shutil.which("squeue") is None:
        raise ConfigError("--executor slurm: sbatch/squeue not found on PATH (install the Slurm client)")
    if slurm_environment() is None:
        raise ConfigError("--executor slurm: no Slurm controller found: SLURM_CONF is not set, there is no "
                          "/etc/slurm/slurm.conf, and no test cluster is running (start one with `make slurm-up`)")


def squeue_tasks(job_id: str) -> dict[int, tuple[str, str]] | None:
    """Array index -> (state, reason) for the job's tasks still in the queue; {} when none is, None when
    squeue cannot be asked (no controller reachable)."""
    slurm_environment()
    try:
        proc = subprocess.run(["squeue", "-h", "-r", "-j", str(job_id), "-o", "%i|%T|%r"],
                              capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        # a job that left the controller's memory (MinJobAge) is an "invalid job id": nothing is queued
        return {} if "Invalid job id" in proc.stderr else None
    tasks: dict[int, tuple[str, str]] = {}
    for line in proc.stdout.splitlines():
        parts = line.strip().split("|")
        if len(parts) != 3 or "_" not in parts[0]:
            continue
        idx = parts[0].split("_", 1)[1]
        if idx.isdigit():
            tasks[int(idx)] = (parts[1], parts[2])
        elif idx.startswith("["):  # a pending range not yet split, e.g. [2-5%2]
            for part in idx.strip("[]").split("%")[0].split(","):
                a, _, b = part.partition("-")
                for i in range(int(a), int(b or a) + 1):
                    tasks[i] = (parts[1], parts[2])
    return tasks


def wait_for_slurm(logging_dir: Path, job_id: str, array_ranks: list[int], poll_s: float = POLL_S) -> None:
    """Block until every array task has left the queue. Reports a failed task as soon as it is seen; the
    caller decides from the completion markers what failed."""
    logging_dir = Path(logging_dir)
    reported: set[int] = set()
    unreachable_since = None
    last_note = time.monotonic()
    while True:
        queued = squeue_tasks(job_id)  # ask the queue first: a task leaves it only after its marker is written
        done = {r for r in array_ranks if (logging_dir / COMPLETIONS / f"{r:05d}").exists()}
        if len(done) == len(array_ranks):
            return
        if queued is None:
            unreachable_since = unreachable_since or time.monotonic()
            if time.monotonic() - unreachable_since > 600:
                raise StageFailed(f"squeue has not answered for 10 minutes while waiting for job {job_id}; "
                                  f"`curate status {logging_dir.parent.parent}` shows the state")
        else:
            unreachable_since = None
            gone = [r for i, r in enumerate(array_ranks) if i not in queued and r not in done]
            for r in gone:
                if r not in reported:
                    reported.add(r)
                    rep = task_reports(logging_dir, [r])[0]
                    print(f"stage {logging_dir.name}: task {r} failed ({rep.get('error') or 'ended without completing'}); "
                          f"logs: {', '.join(rep['logs'])}", file=sys.stderr)
            if not queued:
                return
            if time.monotonic() - last_note > 60:
                last_note = time.monotonic()
                states = sorted({f"{s}({why})" if s == "PENDING" else s for s, why in queued.values()})
                print(f"stage {logging_dir.name}: {len(done)}/{len(array_ranks)} tasks done; queue: {', '.join(states)}",
                      file=sys.stderr)
        time.sleep(poll_s)


def _refuse_if_still_queued(logging_dir: Path) -> None:
    """Two submissions writing the same files at once would clobber each other's temporary files."""
    state = read_stage_state(logging_dir)
    if state.get("executor") == "slurm" and state.get("job_id"):
        queued = squeue_tasks(state["job_id"])
        if queued:
            raise StageFailed(f"stage {logging_dir.name}: Slurm job {state['job_id']} of an earlier submission is still "
                              f"queued or running ({len(queued)} task(s)); wait for it or `scancel {state['job_id']}`, "
                              f"then run the same command again")


class _StageLock:
    """An exclusive lock on logs/<stage>/ for the launcher's lifetime (released by the kernel if it dies)."""

    def __init__(self, logging_dir: Path):
        self.path = logging_dir / ".lock"
        self.fh = None

    def __enter__(self):
        self.fh = open(self.path, "a+")
        try:
            fcntl.flock(self.fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.fh.close()
            raise StageFailed(f"another curate process is running stage {self.path.parent.name} of this run "
                              f"({self.path.parent.parent.parent}); wait for it to finish") from None
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.fh, fcntl.LOCK_UN)
        self.fh.close()


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat()


def read_stage_state(logging_dir: Path) -> dict:
    """The stage record `logs/<stage>/curate_stage.json` ({} when there is none)."""
    try:
        return json.loads((Path(logging_dir) / STATE_FILE).read_text())
    except (OSError, ValueError):
        return {}


def _write_state(logging_dir: Path, state: dict) -> None:
    p = Path(logging_dir) / STATE_FILE
    tmp = p.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True))
    os.replace(tmp, p)

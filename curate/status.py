"""`curate status OUT`: where a run stands, per stage and per task, from what the run leaves on disk.

Sources: `logs/<stage>/curate_stage.json` (written by curate.executors at each launch), datatrove's rank
markers `logs/<stage>/completions/<rank>`, the failure records `logs/<stage>/failures/<rank>`, Slurm's
queue (squeue) for submitted stages, and the per-file outputs (`.curate/done/<stem>.json` for the main
pass, `calibration/scores/<stem>.parquet` for the calibration).

A task is `done` (its rank marker exists), `running` (in the Slurm queue, or its local launcher is alive),
`failed` (it raised, it left the Slurm queue without completing, or its local launcher is gone), or
`unknown` (submitted to Slurm but squeue cannot be asked).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import socket
from pathlib import Path

from curate.executors import COMPLETIONS, FAILURES, STATE_FILE, read_stage_state, squeue_tasks, task_reports
from curate.sink import DONE_DIR

STAGE_ORDER = ("calibrate", "curate")


def run_status(out: str | os.PathLike) -> dict:
    """The state of run directory OUT as a dict (what `curate status --json` prints)."""
    out = Path(out)
    if not out.is_dir():
        raise FileNotFoundError(f"{out}: no such run directory")
    logs = out / "logs"
    names = sorted((p.name for p in logs.iterdir() if (p / STATE_FILE).exists()) if logs.is_dir() else [],
                   key=lambda n: (STAGE_ORDER.index(n) if n in STAGE_ORDER else len(STAGE_ORDER), n))
    run_id = (out / ".curate" / "run_id").read_text().strip() if (out / ".curate" / "run_id").exists() else None
    stages = [stage_status(out, logs / n) for n in names]
    failed = sum(s["tasks"]["failed"] for s in stages)
    finished = (out / "run.json").exists()
    if failed:
        overall = "failed"
    elif any(s["tasks"]["running"] or s["tasks"]["unknown"] for s in stages):
        overall = "running"
    elif finished:
        overall = "done"
    else:
        overall = "incomplete" if stages else "not started"
    return {"run_dir": str(out), "run_id": run_id, "state": overall, "run_json": finished, "stages": stages}


def stage_status(out: Path, logging_dir: Path) -> dict:
    state = read_stage_state(logging_dir)
    tasks = int(state.get("tasks") or 0)
    executor = state.get("executor", "local")
    queued = None
    if executor == "slurm" and state.get("job_id"):
        queued = squeue_tasks(state["job_id"])
    array = state.get("array_ranks") or []
    launcher_alive = _alive(state.get("pid"), state.get("host"))
    per_rank: dict[str, list[int]] = {"done": [], "running": [], "failed": [], "unknown": []}
    why: dict[int, str] = {}
    for r in range(tasks):
        if (logging_dir / COMPLETIONS / f"{r:05d}").exists():
            per_rank["done"].append(r)
        elif (logging_dir / FAILURES / f"{r:05d}").exists():
            per_rank["failed"].append(r)
        elif executor == "slurm" and r in array:
            if queued is None:
                per_rank["unknown"].append(r)
            elif array.index(r) in queued:
                per_rank["running"].append(r)
                why[r] = queued[array.index(r)][0].lower()
            else:
                per_rank["failed"].append(r)
                why[r] = "left the Slurm queue without completing (cancelled, killed, out of time or memory)"
        elif launcher_alive:
            per_rank["running"].append(r)
        else:
            per_rank["failed"].append(r)
            why[r] = "interrupted: the launcher process is gone and the task did not complete"
    failures = []
    for rep in task_reports(logging_dir, per_rank["failed"]):
        rep["error"] = rep.get("error") or why.get(rep["rank"])
        failures.append(rep)
    files = _file_progress(out, logging_dir.name, state)
    return {
        "stage": logging_dir.name, "executor": executor, "job_id": state.get("job_id"),
        "started_at": state.get("started_at"), "finished_at": state.get("finished_at"),
        "tasks": {"total": tasks, **{k: len(v) for k, v in per_rank.items()}},
        "running": [{"rank": r, "state": why.get(r, "running")} for r in per_rank["running"]],
        "failed": failures, "files": files, "logs": str(logging_dir),
    }


def _file_progress(out: Path, stage: str, state: dict) -> dict:
    """Files done / total, documents done, and documents/s of this attempt (for the main pass)."""
    table = state.get("files") or []
    total = len(table)
    if stage == "calibrate":
        done = sum((out / "calibration" / "scores" / f"{stem}.parquet").exists() for _, stem, _ in table)
        return {"total": total, "done": done}
    docs = docs_attempt = 0
    done = 0
    last = None
    started = _parse_time(state.get("started_at"))
    for _, stem, _ in table:
        p = out / DONE_DIR / f"{stem}.json"
        try:
            marker = json.loads(p.read_text())
            mtime = p.stat().st_mtime
        except (OSError, ValueError):
            continue
        done += 1
        docs += int(marker.get("documents", 0))
        if started is not None and mtime >= started:
            docs_attempt += int(marker.get("documents", 0))
            last = max(last or mtime, mtime)
    rate = None
    if started is not None and docs_attempt:
        end = _parse_time(state.get("finished_at")) or (last if state.get("status") != "running" else None)
        end = end or dt.datetime.now(dt.timezone.utc).timestamp()
        rate = round(docs_attempt / max(end - started, 1e-6), 1)
    return {"total": total, "done": done, "documents": docs, "documents_this_attempt": docs_attempt,
            "documents_per_s": rate}


def _parse_time(s: str | None) -> float | None:
    if not s:
        return None
    try:
        return dt.datetime.fromisoformat(s).timestamp()
    except ValueError:
        return None


def _alive(pid, host) -> bool:
    """Whether the local launcher still runs (only knowable on its own host)."""
    if not pid or host != socket.gethostname():
        return False
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError):
        return False
    except PermissionError:
        return True
    try:  # a zombie (killed, not yet reaped) is not running
        stat = Path(f"/proc/{int(pid)}/stat").read_text()
        return stat[stat.rindex(")") + 2:][:1] not in ("Z", "X")
    except OSError:
        return True


def format_status(info: dict) -> str:
    """Human-readable status, one block per stage."""
    lines = [f"run {info['run_id'] or '?'} in {info['run_dir']}: {info['state']}"
             + (" (run.json written)" if info["run_json"] else "")]
    for s in info["stages"]:
        t = s["tasks"]
        head = f"stage {s['stage']} ({s['executor']}{', job ' + str(s['job_id']) if s['job_id'] else ''}): " \
               f"{t['total']} tasks: {t['done']} done, {t['running']} running, {t['failed']} failed"
        if t["unknown"]:
            head += f", {t['unknown']} unknown (squeue unavailable)"
        lines.append(head)
        f = s["files"]
        if f.get("total"):
            line = f"  files: {f['done']}/{f['total']} done"
            if "documents" in f:
                line += f", {f['documents']:,} documents"
                if f.get("documents_per_s") is not None:
                    line += f", {f['documents_per_s']:,} documents/s this attempt"
            lines.append(line)
        for r in s["running"]:
            lines.append(f"  task {r['rank']}: {r['state']}")
        for r in s["failed"]:
            lines.append(f"  task {r['rank']} FAILED: {r.get('error') or 'ended without completing'}")
            for log in r["logs"]:
                lines.append(f"    log: {log}")
    return "\n".join(lines)

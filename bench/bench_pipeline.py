"""End-to-end and per-block throughput of `curate run` on a generated corpus (>= 50 MB of text by default),
beside the floor measured in the same run: read + tokenize + write only (a pipeline with just `tokenize`).

    .venv/bin/python bench/bench_pipeline.py [--mb 50] [--tasks 2] [--quick]

Per-block figures come from datatrove's per-step timers (time spent inside each block, summed over
tasks), so they are CPU-seconds of that block; end-to-end figures are wall-clock.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from curate.run import RunOptions, run  # noqa: E402
from curate.sample import build_sample, write_robots_cache  # noqa: E402

FLOOR = "name: floor\nblocks:\n  - tokenize: {}\n"


def corpus(dir: Path, mb: float) -> tuple[int, int]:
    """Generate at least `mb` MB of document text; returns (documents, text bytes)."""
    n = 10000
    while True:
        build_sample(dir, n_docs=n, seed=7)
        import pyarrow.parquet as pq

        n_docs = n_bytes = 0
        for p in dir.glob("*.parquet"):
            t = pq.read_table(p, columns=["text"])
            n_docs += t.num_rows
            n_bytes += sum(len(x.encode()) for x in t.column("text").to_pylist())
        for p in dir.glob("*.jsonl"):
            for line in p.read_text().splitlines():
                n_docs += 1
                n_bytes += len(json.loads(line)["text"].encode())
        if n_bytes >= mb * 1e6:
            return n_docs, n_bytes
        shutil.rmtree(dir)
        n = int(n * mb * 1e6 / n_bytes * 1.05) + 1


def timed_run(pipeline: Path, inp: Path, out: Path, cache: Path, tasks: int) -> float:
    t = time.perf_counter()
    run(str(pipeline), [str(inp)], str(out), robots_cache=str(cache),
        opts=RunOptions(tasks=tasks, workers=tasks, progress=False))
    return time.perf_counter() - t


def block_stats(out: Path, stage: str = "curate") -> list[tuple[str, int, float]]:
    rows = []
    path = out / "logs" / stage / "stats.json"
    if not path.exists():
        return rows
    for step in json.loads(path.read_text()):
        ts = step.get("time_stats")
        if step["name"].split(":")[0] in ("curate", "calibration") and isinstance(ts, dict) and ts.get("n"):
            rows.append((step["name"].split(": ")[1], int(ts["n"]), float(ts["total"])))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=50.0)
    ap.add_argument("--tasks", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="5 MB instead of 50 MB")
    a = ap.parse_args()
    mb = 5.0 if a.quick else a.mb
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        inp = tmp / "input"
        n_docs, n_bytes = corpus(inp, mb)
        cache = tmp / "robots"
        write_robots_cache(cache)
        (tmp / "floor.yaml").write_text(FLOOR)
        full_yaml = tmp / "full.yaml"
        full_yaml.write_text((REPO / "pipelines" / "demo.yaml").read_text().replace("../robots_cache/demo", str(cache)))
        t_floor = timed_run(tmp / "floor.yaml", inp, tmp / "out-floor", cache, a.tasks)
        t_full = timed_run(full_yaml, inp, tmp / "out-full", cache, a.tasks)
        per_block = block_stats(tmp / "out-full")
        cal_blocks = block_stats(tmp / "out-full", "calibrate")
    mbs = n_bytes / 1e6
    floor_rate = n_docs / t_floor
    print(f"corpus: {n_docs:,} documents, {mbs:.1f} MB of text, {a.tasks} tasks on {a.tasks} workers\n")
    print("| stage | documents | seconds | docs/s | MB/s | docs/s vs floor |")
    print("|---|---:|---:|---:|---:|---:|")
    print(f"| floor end-to-end (read + tokenize + write) | {n_docs:,} | {t_floor:.1f} | {floor_rate:,.0f} | "
          f"{mbs / t_floor:.2f} | 1.00 |")
    print(f"| full pipeline end-to-end (calibration included) | {n_docs:,} | {t_full:.1f} | {n_docs / t_full:,.0f} | "
          f"{mbs / t_full:.2f} | {t_floor / t_full:.2f} |")
    for stage, rows in (("calibrate", cal_blocks), ("curate", per_block)):
        for name, n, secs in rows:
            share = n / n_docs
            label = f"calibration: {name}" if stage == "calibrate" else f"block {name}"
            print(f"| {label} (time inside the block) | {n:,} | {secs:.1f} | {n / secs:,.0f} | "
                  f"{mbs * share / secs:.2f} | {(n / secs) / floor_rate:.2f} |")
    print("\nBlock rows: documents the block processed (those still kept when they reach it) over the seconds "
          "spent inside it, summed over tasks; ratio = block docs/s over the floor's end-to-end docs/s.")


if __name__ == "__main__":
    main()

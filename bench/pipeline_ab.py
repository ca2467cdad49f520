"""The full pipeline (pipelines/apertus.yaml, one task, one worker) of two source trees, interleaved, CPU seconds.

    git archive OLD | tar -x -C /tmp/old
    .venv/bin/python bench/pipeline_ab.py /tmp/old . [--docs 6000] [--rounds 3]

Each run is a fresh process that imports curate from its tree (checked), on the same corpus (bench_pipeline's
generator); the trees alternate round by round, so a slow spell of a shared machine hits both. Prints each
run's CPU s and the medians. For a change too small for bench_pipeline's spread between repeats."""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ONE_RUN = """
import shutil, sys, time
src, data, out = sys.argv[1:4]
sys.path.insert(0, src)
import curate.run as R
assert R.__file__.startswith(src), R.__file__
t0 = time.process_time()
R.run(src + "/pipelines/apertus.yaml", [data + "/input"], out, robots_cache=data + "/robots",
      opts=R.RunOptions(tasks=1, workers=1, progress=False))
print(time.process_time() - t0)
shutil.rmtree(out, ignore_errors=True)
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("trees", nargs=2, help="two source trees (an export of the old commit, then the new)")
    ap.add_argument("--docs", type=int, default=6000)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    trees = [str(Path(t).resolve()) for t in a.trees]
    sys.path.insert(0, str(HERE))
    import bench_pipeline

    from curate.sample import write_robots_cache

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        bench_pipeline.build_corpus(d / "input", a.docs)
        write_robots_cache(d / "robots")
        cpu: dict[str, list[float]] = {t: [] for t in trees}
        for r in range(a.rounds):
            for t in trees:
                got = subprocess.run([sys.executable, "-c", ONE_RUN, t, str(d), str(d / "out")], capture_output=True,
                                     text=True, check=True, env={**os.environ, "PYTHONPATH": t})
                cpu[t].append(float(got.stdout.split()[-1]))
                print(f"round {r + 1}: {t}: {cpu[t][-1]:.2f} CPU s", flush=True)
    old, new = (statistics.median(cpu[t]) for t in trees)
    print(f"medians: {old:.2f} -> {new:.2f} CPU s ({old / new:.2f}x)")


if __name__ == "__main__":
    main()

"""`make bench`: every bench/bench_*.py in turn (pass --quick through for a short run)."""
import subprocess
import sys
from pathlib import Path

here = Path(__file__).parent
args = sys.argv[1:]
failed = []
for script in sorted(here.glob("bench_*.py")):
    if script.name == "bench_train_gpu.py":  # a GPU benchmark; on a CPU machine only its smoke mode runs
        cmd = [sys.executable, str(script), "--smoke"]
    else:
        cmd = [sys.executable, str(script), *args]
    print(f"\n## {script.name}\n", flush=True)
    if subprocess.run(cmd).returncode != 0:
        failed.append(script.name)
if failed:
    sys.exit(f"failed: {', '.join(failed)}")

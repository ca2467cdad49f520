"""`make bench-quick` / `make bench ARGS=--quick` pass --quick to the benchmarks (issue 13, item 9), and
every `make bench...` command the README shows is one make accepts."""
import re
import subprocess

from conftest import REPO


def _dry(*args):
    return subprocess.run(["make", "-n", "-C", str(REPO), *args], capture_output=True, text=True)


def test_quick_bench_targets_pass_the_flag():
    for args in (["bench-quick"], ["bench", "ARGS=--quick"]):
        proc = _dry(*args)
        assert proc.returncode == 0, proc.stderr
        assert re.search(r"bench/run_all\.py --quick", proc.stdout), proc.stdout
    assert "--quick" not in _dry("bench").stdout.split("run_all.py", 1)[1].splitlines()[0]


def test_readme_make_bench_commands_work():
    readme = (REPO / "README.md").read_text()
    shown = set(re.findall(r"`(make bench[^`]*)`", readme))
    assert "make bench-quick" in shown
    for cmd in shown:
        args = cmd.split()[1:]
        if "--quick" in args and not any(a.startswith("ARGS=") for a in args):
            assert "does not work" in readme  # shown only as the thing not to type
            continue
        assert _dry(*args).returncode == 0, cmd

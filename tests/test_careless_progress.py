"""Progress: a bar per task over its input bytes with percent, ETA and documents (total known from file
sizes); nothing of it when stderr is not a terminal (log files get no cursor codes)."""
import json

import pyarrow as pa
import pyarrow.parquet as pq

from conftest import run_cli
from curate.readers import InputReader, list_inputs


def _inputs(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    (d / "a.jsonl").write_text("".join(json.dumps({"id": f"a{i}", "url": f"https://a.example/{i}", "text": f"text {i}"}) + "\n"
                                       for i in range(600)))
    pq.write_table(pa.Table.from_pylist([{"id": f"b{i}", "url": f"https://b.example/{i}", "text": f"text {i}"}
                                         for i in range(400)]), d / "b.parquet")
    return d


def test_reader_bar_has_totals(tmp_path, capsys):
    d = _inputs(tmp_path)
    files = list_inputs(str(d))
    docs = list(InputReader(files, progress=True, label="task").run())
    assert len(docs) == 1000 + 2  # two end-of-file markers
    err = capsys.readouterr().err.replace("\r", "\n")
    last = [line for line in err.splitlines() if line.startswith("task 000")][-1]
    total = sum(f.stat().st_size for f in d.iterdir())
    assert "100%" in last and "1,000 docs" in last, last
    from tqdm import tqdm

    size = tqdm.format_sizeof(total, divisor=1024)
    assert f"{size}/{size}" in last, (size, last)  # bytes done / total
    assert "<00:00" in last  # the ETA field


def test_no_bars_when_stderr_is_not_a_terminal(tmp_path):
    d = _inputs(tmp_path)
    pipe = tmp_path / "p.yaml"
    pipe.write_text("blocks:\n  - tokenize: {}\n")
    proc = run_cli("run", pipe, "--input", d, "--out", tmp_path / "out")  # no --no-progress: stderr is a pipe
    assert "\r" not in proc.stderr and "\x1b[" not in proc.stderr, proc.stderr

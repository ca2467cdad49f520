"""`curate query` / `curate why` read only manifest files (issue 13, item 4): not inputs, sidecars or
calibration scores; a folder of several runs is several runs; empty SQL and typos give one-line errors."""
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import run_cli


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    pipe = root / "p.yaml"
    pipe.write_text("blocks:\n  - language: {}\n  - tokenize: {}\n")
    for name, n in (("a", 30), ("b", 12)):
        out = root / "all" / name
        inp = out / "input" / "in.parquet"  # inputs inside the run directory, as `curate demo` does
        inp.parent.mkdir(parents=True)
        pq.write_table(pa.Table.from_pylist([{"id": f"{name}{i}", "url": f"https://{name}.example/{i}",
                                              "text": f"document {i} of run {name}"} for i in range(n)]), inp)
        run_cli("run", pipe, "--input", inp, "--out", out, "--no-progress")
        scores = out / "calibration" / "scores" / "00000_in.parquet"  # what a toxicity calibration leaves
        scores.parent.mkdir(parents=True)
        pq.write_table(pa.Table.from_pylist([{"doc_id": f"{name}{i}", "language": "en", "score": 0.0, "detail": "{}"}
                                             for i in range(n)]), scores)
    return root / "all"


def _query(sql, where, *extra, check=True):
    return run_cli("query", sql, "--manifests", where, "--format", "csv", *extra, check=check)


def test_a_run_counts_each_document_once(two_runs):
    run = two_runs / "a"
    assert list((run / "calibration" / "scores").glob("*.parquet")) and list((run / "shards").glob("*.parquet"))
    assert _query("SELECT count(*), count(DISTINCT doc_id) FROM manifest", run).stdout.splitlines()[1] == "30,30"
    assert _query("SELECT count(*) FROM manifest", run / "manifests").stdout.splitlines()[1] == "30"


def test_a_folder_of_runs_is_several_runs(two_runs):
    lines = _query("SELECT count(*), count(DISTINCT run_id) FROM manifest", two_runs).stdout.splitlines()
    assert lines[1] == "42,2"
    ids = {json.loads((two_runs / r / "run.json").read_text())["run_id"] for r in "ab"}
    got = _query("SELECT run_id, count(*) FROM manifest GROUP BY 1 ORDER BY 2", two_runs).stdout.splitlines()[1:]
    assert {g.split(",")[0] for g in got} == ids and [g.split(",")[1] for g in got] == ["12", "30"]


def test_no_manifests_is_a_clear_error(two_runs, tmp_path):
    for where in (two_runs / "a" / "input", two_runs / "a" / "calibration"):
        for proc in (_query("SELECT 1", where, check=False), run_cli("why", "a1", "--manifests", where, check=False)):
            assert proc.returncode == 2 and "not a curate run" in proc.stderr, proc.stderr
            assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_empty_sql_and_wrong_view_are_one_line_errors(two_runs):
    run = two_runs / "a"
    for sql, expect in (("", "empty SQL"), ("   ", "empty SQL"), ("SELECT * FROM manifests", "named `manifest`"),
                        ("SELEC 1", "syntax error")):
        proc = _query(sql, run, check=False)
        assert proc.returncode == 2 and expect in proc.stderr, (sql, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr, proc.stderr


def test_why_names_the_run(two_runs):
    out = run_cli("why", "b3", "--manifests", two_runs).stdout
    assert "document b3" in out and json.loads((two_runs / "b" / "run.json").read_text())["run_id"] in out


def test_readme_json_operator_examples_run(two_runs):
    import re

    from conftest import REPO

    readme = (REPO / "README.md").read_text()
    queries = [" ".join(q.split()) for q in re.findall(r'curate query "(SELECT[^"]*detail->[^"]*)"', readme, re.S)]
    assert len(queries) >= 2
    for q in queries:
        proc = _query(q, two_runs / "a", check=False)
        assert proc.returncode == 0, (q, proc.stderr)

"""The manifest: one row per input document, with the decision and its evidence.

Columns are a contract (DESIGN.md). `detail` is JSON text keyed by stage. Queries go through DuckDB
over a view named `manifest`.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa

SCHEMA = pa.schema([
    ("run_id", pa.string()),
    ("doc_id", pa.string()),
    ("url", pa.string()),
    ("host", pa.string()),
    ("dump", pa.string()),
    ("date", pa.string()),
    ("source_file", pa.string()),
    ("source_row", pa.int64()),
    ("status", pa.string()),
    ("stage", pa.string()),
    ("reason", pa.string()),
    ("detail", pa.string()),
    ("language", pa.string()),
    ("n_chars", pa.int64()),
    ("n_tokens", pa.int64()),
    ("shard", pa.string()),
    ("seq_index", pa.int64()),
    ("text_sha256", pa.string()),
])
COLUMNS = SCHEMA.names


# json.dumps with these options builds a new encoder per call; one per process does the same work.
# Evidence is plain nested dicts and lists, never circular: the check for that costs a fifth of the time.
_DETAIL_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str,
                                   check_circular=False)


def dumps_detail(detail: dict) -> str:
    """Canonical JSON, so identical decisions give identical bytes."""
    return _DETAIL_ENCODER.encode(detail)


REQUIRED = ("run_id", "doc_id", "status", "stage", "reason", "detail")
_SKIP_DIRS = {"shards", "merged", "input", "calibration", "logs", ".curate", ".git", "__pycache__"}


def _is_run(p: Path) -> bool:
    return (p / "manifests").is_dir() and ((p / "run.json").exists() or (p / ".curate").is_dir())


def _is_manifest_file(p: Path) -> bool:
    import pyarrow.parquet as pq

    try:
        names = set(pq.read_schema(p).names)
    except Exception:  # not parquet, truncated: not a manifest
        return False
    return all(c in names for c in REQUIRED)


def find_runs(path: str | os.PathLike, max_depth: int = 4) -> list[Path]:
    """Run directories at or below `path` (a run has manifests/ and run.json or .curate/); a run's own
    subfolders are not searched, so inputs, shards and calibration files are never taken for manifests."""
    root = Path(path)
    if _is_run(root):
        return [root]
    if root.name == "manifests" and _is_run(root.parent):
        return [root.parent]
    runs = []
    for dirpath, dirs, _ in os.walk(root):
        d = Path(dirpath)
        if _is_run(d):
            runs.append(d)
            dirs[:] = []
            continue
        depth = len(d.relative_to(root).parts)
        dirs[:] = sorted(x for x in dirs if x not in _SKIP_DIRS and not x.startswith(".") and depth < max_depth)
    return sorted(runs)


def manifest_files(path: str | os.PathLike) -> list[str]:
    """The manifest files of the run(s) at `path`: a run directory, its manifests/ folder, or a folder
    holding several runs (their rows are told apart by `run_id`). Only parquet files under a run's
    manifests/ folder with the manifest's columns count; a bare folder of manifest files (copied out of
    a run) is accepted by schema alone."""
    p = Path(path)
    if not p.is_dir():
        raise FileNotFoundError(f"{path}: no such directory")
    runs = find_runs(p)
    if runs:
        files = [f for r in runs for f in sorted((r / "manifests").rglob("*.parquet")) if _is_manifest_file(f)]
        if not files:
            raise FileNotFoundError(f"{path}: the run's manifests/ folder holds no manifest files (is the run finished?)")
        return [str(f) for f in files]
    loose = [f for f in sorted(p.glob("*.parquet")) if _is_manifest_file(f)]
    if loose:
        return [str(f) for f in loose]
    raise FileNotFoundError(f"{path}: not a curate run (no manifests/ folder with manifest files here or below); "
                            f"pass the run directory given as --out")


def manifest_glob(path: str | os.PathLike) -> list[str]:
    """Kept for callers of the old name: the list of manifest files (see `manifest_files`)."""
    return manifest_files(path)


def connect(path: str | os.PathLike):
    """A DuckDB connection with a view `manifest` over the manifest files of the run(s) at `path`."""
    import duckdb

    con = duckdb.connect()
    try:  # a typo'd table name must not resolve to a Python variable of the caller
        con.execute("SET python_enable_replacements = false")
    except duckdb.Error:  # older DuckDB without the setting
        pass
    files = ", ".join("'" + f.replace("'", "''") + "'" for f in manifest_files(path))
    con.execute(f"CREATE VIEW manifest AS SELECT * FROM read_parquet([{files}], union_by_name=true)")
    return con

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


def dumps_detail(detail: dict) -> str:
    """Canonical JSON, so identical decisions give identical bytes."""
    return json.dumps(detail, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def manifest_glob(path: str | os.PathLike) -> str:
    """Accept a run directory or its manifests/ folder; return the parquet glob."""
    p = Path(path)
    if (p / "manifests").is_dir():
        p = p / "manifests"
    if not p.is_dir():
        raise FileNotFoundError(f"{path}: no manifests directory")
    if not any(p.rglob("*.parquet")):
        raise FileNotFoundError(f"{p}: no manifest parquet files")
    return str(p / "**" / "*.parquet")


def connect(path: str | os.PathLike):
    """A DuckDB connection with a view `manifest` over every manifest file of a run."""
    import duckdb

    con = duckdb.connect()
    g = manifest_glob(path).replace("'", "''")
    con.execute(f"CREATE VIEW manifest AS SELECT * FROM read_parquet('{g}', union_by_name=true)")
    return con

"""Where curate keeps what it derives from shipped data files (the license index, the toxicity model's
dictionary rows, the tokenizer's tables): `$CURATE_CACHE`, default `~/.cache/curate`. Everything there is
named by the version or sha256 of its source, written atomically, and rebuilt when missing or damaged."""
from __future__ import annotations

import os
from pathlib import Path


def cache_dir(*parts: str) -> Path:
    return Path(os.environ.get("CURATE_CACHE") or Path.home() / ".cache" / "curate", *parts)

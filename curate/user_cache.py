"""Where curate keeps what it derives from shipped data files (the license index, the toxicity model's
dictionary rows, the tokenizer's tables): `$CURATE_CACHE`, default `~/.cache/curate`. Everything there is
named by the version or sha256 of its source, written atomically, and rebuilt when missing or damaged."""
from __future__ import annotations

import os
from pathlib import Path


def cache_dir(*parts: str) -> Path:
    return Path(os.environ.get("CURATE_CACHE") or Path.home() / ".cache" / "curate", *parts)


def write_atomically(path: Path, write) -> None:
    """Write `path` through `write(file)` into a temporary file beside it, then rename: readers see the old
    file or the whole new one, never a part. Raises OSError when the cache cannot be written."""
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

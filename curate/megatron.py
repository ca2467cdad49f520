"""Megatron-LM indexed dataset files (`.bin` + `.idx`), the format Megatron's IndexedDataset reads.

`.idx` layout (little-endian): magic b"MMIDIDX\\x00\\x00", version uint64 = 1, dtype code uint8
(4 = int32), sequence count uint64, document count uint64 (= sequences + 1), int32 sequence
lengths, int64 byte offsets into `.bin`, int64 document indices 0..n. `.bin` is the tokens back to back.
"""
from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

MAGIC = b"MMIDIDX\x00\x00"
VERSION = 1
DTYPE_CODES = {1: np.uint8, 2: np.int8, 3: np.int16, 4: np.int32, 5: np.int64, 6: np.float64, 7: np.float32, 8: np.uint16}
INT32 = 4


class IndexedWriter:
    """Streams sequences to `<prefix>.bin.tmp`/`.idx.tmp`; `close()` renames both into place, so a
    crashed writer never leaves files that look complete."""

    def __init__(self, prefix: str | Path):
        self.prefix = str(prefix)
        self._bin_tmp = self.prefix + ".bin.tmp"
        self._bin = open(self._bin_tmp, "wb")
        self.lengths: list[int] = []
        self.n_tokens = 0

    def add(self, tokens) -> int:
        """Append one sequence; returns its index."""
        arr = np.asarray(tokens, dtype=np.int32)
        self._bin.write(arr.tobytes(order="C"))
        self.lengths.append(int(arr.size))
        self.n_tokens += int(arr.size)
        return len(self.lengths) - 1

    def close(self) -> tuple[Path, Path]:
        self._bin.flush()
        os.fsync(self._bin.fileno())
        self._bin.close()
        idx_tmp = self.prefix + ".idx.tmp"
        write_index(idx_tmp, self.lengths)
        os.replace(self._bin_tmp, self.prefix + ".bin")
        os.replace(idx_tmp, self.prefix + ".idx")
        return Path(self.prefix + ".bin"), Path(self.prefix + ".idx")

    def abort(self) -> None:
        self._bin.close()
        for p in (self._bin_tmp, self.prefix + ".idx.tmp"):
            if os.path.exists(p):
                os.remove(p)


def write_index(path: str | Path, lengths) -> None:
    lengths = np.asarray(lengths, dtype=np.int32)
    n = int(lengths.size)
    pointers = np.zeros(n, dtype=np.int64)
    if n:
        pointers[1:] = np.cumsum(lengths[:-1].astype(np.int64)) * INT32
    with open(path, "wb") as f:
        f.write(MAGIC)
        f.write(struct.pack("<Q", VERSION))
        f.write(struct.pack("<B", 4))
        f.write(struct.pack("<Q", n))
        f.write(struct.pack("<Q", n + 1))
        f.write(lengths.tobytes())
        f.write(pointers.tobytes())
        f.write(np.arange(n + 1, dtype=np.int64).tobytes())
        f.flush()
        os.fsync(f.fileno())


class IndexedReader:
    """Memory-mapped reader: never loads a shard whole."""

    def __init__(self, prefix: str | Path):
        prefix = str(prefix)
        if prefix.endswith((".bin", ".idx")):
            prefix = prefix[:-4]
        self.prefix = prefix
        with open(prefix + ".idx", "rb") as f:
            header = f.read(len(MAGIC) + 8 + 1 + 8 + 8)
        if header[: len(MAGIC)] != MAGIC:
            raise ValueError(f"{prefix}.idx: not a Megatron index (bad magic)")
        version, code, n, n_docs = struct.unpack("<QBQQ", header[len(MAGIC):])
        if version != VERSION:
            raise ValueError(f"{prefix}.idx: unsupported version {version}")
        self.dtype = np.dtype(DTYPE_CODES[code])
        off = len(header)
        idx = np.memmap(prefix + ".idx", dtype=np.uint8, mode="r")
        self.lengths = np.frombuffer(idx, dtype=np.int32, count=n, offset=off)
        off += 4 * n
        self.pointers = np.frombuffer(idx, dtype=np.int64, count=n, offset=off)
        off += 8 * n
        self.doc_idx = np.frombuffer(idx, dtype=np.int64, count=n_docs, offset=off)
        size = os.path.getsize(prefix + ".bin")
        self._bin = np.memmap(prefix + ".bin", dtype=self.dtype, mode="r") if size else np.zeros(0, self.dtype)

    def __len__(self) -> int:
        return int(self.lengths.size)

    def __getitem__(self, i: int) -> np.ndarray:
        start = int(self.pointers[i]) // self.dtype.itemsize
        return self._bin[start : start + int(self.lengths[i])]

    @property
    def n_tokens(self) -> int:
        return int(self.lengths.sum(dtype=np.int64))

    def copy_sequences(self, fin, fout, start: int, end: int, error: type[Exception] = ValueError) -> None:
        """Copy the bytes of sequences [start, end) from the open .bin `fin` to `fout` as they are, in 4 MiB
        pieces (a merge or an erasure keeps other sequences byte-identical); a short .bin raises `error`."""
        if end <= start:
            return
        first = int(self.pointers[start])
        last = int(self.pointers[end - 1]) + int(self.lengths[end - 1]) * self.dtype.itemsize
        fin.seek(first)
        remaining = last - first
        while remaining:
            chunk = fin.read(min(remaining, 1 << 22))
            if not chunk:
                raise error(f"{self.prefix}.bin: shorter than its index says")
            fout.write(chunk)
            remaining -= len(chunk)

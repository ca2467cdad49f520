"""Packed, blended, resumable batches from Megatron shards.

Each shard directory is a *source*: its documents (one sequence each, ``<s> ... </s>``) are visited in a
seeded random order per epoch and concatenated into one token stream, which is cut into windows of
seq_len + 1 tokens with stride seq_len (as Megatron's GPTDataset does: every token is a label once).
Several sources are blended by weight: sample i goes to the source furthest behind its target share
(weight * (i + 1) - samples taken so far), a deterministic greedy rule that keeps the proportions exact.

Within a window, tokens carry a document id (0, 1, ... in order of appearance) and a position id that
restarts at 0 at every document start (Megatron's reset_position_ids; the first piece starts at 0 too).
Loss mask ("EoD loss masked", Megatron's eod_mask_loss): a position is masked when its *input* token is
``</s>``, i.e. the prediction that would cross into the next document; we also mask any position whose
label belongs to another document than its input (identical for well-formed shards, and safe for shards
whose documents lack a final ``</s>``). The ``</s>`` label itself is trained: the model learns to stop.

The loader state is a few integers per source, saved in checkpoints for exact resume. Tokens are read
from the memory-mapped shards only for the rows this rank needs.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ..megatron import IndexedReader
from .configs import EOD_ID


def shard_root(directory: str | Path) -> tuple[Path, str | None]:
    """Where to look for shards under ``directory``, and a note when that is a choice.

    A curate run directory after ``curate merge`` holds every kept document twice, in ``shards/`` (one
    shard per input file) and ``merged/`` (one per dump): the merged shards are used, never both. A run
    without ``merged/`` uses ``shards/``. Any other directory is searched as it is."""
    root = Path(directory)
    is_run = (root / "run.json").exists() or (root / ".curate").is_dir()
    if (root / "merged").is_dir() and (root / "shards").is_dir():
        return root / "merged", (f"{root}: training on the merged shards in {root / 'merged'} "
                                 f"(not also {root / 'shards'}, which holds the same documents)")
    if is_run and (root / "shards").is_dir():
        return root / "shards", f"{root}: training on the run's shards in {root / 'shards'}"
    return root, None


def discover_shards(directory: str | Path) -> list[Path]:
    """Shard prefixes (path without suffix) under ``directory``, recursively, in sorted order (for a run
    directory: under ``merged/`` or else ``shards/``, see :func:`shard_root`)."""
    root = Path(directory)
    if root.is_dir():
        root = shard_root(root)[0]
    if not root.is_dir():
        raise FileNotFoundError(f"shard directory {root} does not exist")
    prefixes = []
    for idx in sorted(root.rglob("*.idx")):
        prefix = idx.with_suffix("")
        if not prefix.with_suffix(".bin").exists():
            raise FileNotFoundError(f"{idx} has no matching .bin file")
        prefixes.append(prefix)
    if not prefixes:
        raise FileNotFoundError(f"no Megatron shards (*.bin/*.idx) under {root}")
    return prefixes


def parse_shard_spec(spec: str) -> tuple[str, float]:
    """``DIR`` or ``DIR:WEIGHT`` -> (dir, weight); a suffix that is not a number stays part of the path."""
    head, sep, tail = spec.rpartition(":")
    if sep:
        try:
            weight = float(tail)
        except ValueError:
            return spec, 1.0
        if not weight > 0:
            raise ValueError(f"shard weight must be positive in {spec!r}")
        return head, weight
    return spec, 1.0


@dataclass
class Cursor:
    """Position in a source's token stream: epoch, index into that epoch's document order, token offset."""

    epoch: int = 0
    doc_pos: int = 0
    tok_off: int = 0


class DocumentStream:
    """One shard directory as an endless, seeded, epoch-shuffled stream of document tokens."""

    def __init__(self, directory: str | Path, seed: int, source_index: int):
        self.directory = Path(directory)
        self.prefixes = discover_shards(directory)
        self.readers = [IndexedReader(p) for p in self.prefixes]
        self.lengths = np.concatenate([r.lengths for r in self.readers]).astype(np.int64)
        self.first_doc = np.cumsum([0] + [len(r) for r in self.readers])
        if self.lengths.sum() == 0:
            raise ValueError(f"shards under {directory} hold no tokens")
        self.seed, self.source_index = seed, source_index
        self._perm_epoch, self._perm = -1, np.zeros(0, dtype=np.int64)

    @property
    def n_docs(self) -> int:
        return int(self.lengths.size)

    def order(self, epoch: int) -> np.ndarray:
        """The document order of an epoch (a permutation seeded by seed, source index and epoch)."""
        if epoch != self._perm_epoch:
            rng = np.random.default_rng([self.seed, self.source_index, epoch])
            self._perm, self._perm_epoch = rng.permutation(self.n_docs), epoch
        return self._perm

    def _normalise(self, c: Cursor) -> Cursor:
        """Move past finished (or empty) documents, into the next epoch when needed."""
        while True:
            if c.doc_pos >= self.n_docs:
                c = Cursor(c.epoch + 1, 0, 0)
            length = int(self.lengths[self.order(c.epoch)[c.doc_pos]])
            if c.tok_off < length:
                return c
            c = Cursor(c.epoch, c.doc_pos + 1, c.tok_off - length)

    def advance(self, c: Cursor, n: int) -> Cursor:
        """The cursor n tokens further on (walks lengths only; reads no tokens)."""
        c = self._normalise(Cursor(**asdict(c)))
        while n > 0:
            length = int(self.lengths[self.order(c.epoch)[c.doc_pos]])
            step = min(n, length - c.tok_off)
            c = self._normalise(Cursor(c.epoch, c.doc_pos, c.tok_off + step))
            n -= step
        return c

    def _doc_tokens(self, doc: int) -> np.ndarray:
        shard = int(np.searchsorted(self.first_doc, doc, side="right") - 1)
        return self.readers[shard][doc - int(self.first_doc[shard])]

    def read(self, c: Cursor, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """n tokens from cursor c, with per-token document ids and reset position ids (all int64)."""
        tokens = np.empty(n, dtype=np.int64)
        doc_ids = np.empty(n, dtype=np.int64)
        positions = np.empty(n, dtype=np.int64)
        c = self._normalise(Cursor(**asdict(c)))
        filled, piece = 0, 0
        while filled < n:
            doc = int(self.order(c.epoch)[c.doc_pos])
            length = int(self.lengths[doc])
            step = min(n - filled, length - c.tok_off)
            tokens[filled : filled + step] = self._doc_tokens(doc)[c.tok_off : c.tok_off + step]
            doc_ids[filled : filled + step] = piece
            positions[filled : filled + step] = np.arange(step)
            filled, piece = filled + step, piece + 1
            c = self._normalise(Cursor(c.epoch, c.doc_pos, c.tok_off + step))
        return tokens, doc_ids, positions


class PackedLoader:
    """Global batches of packed windows from weighted sources; each rank materialises only its rows.

    ``next_batch()`` returns a dict of [local_batch, seq_len] tensors: ``input_ids``, ``labels``,
    ``position_ids``, ``doc_ids`` and ``loss_mask`` (bool, False = EoD / cross-document position)."""

    def __init__(self, sources: list[tuple[str, float]], seq_len: int, global_batch: int, seed: int = 0,
                 rank: int = 0, world_size: int = 1):
        if not sources:
            raise ValueError("at least one shard directory is needed")
        if global_batch % world_size:
            raise ValueError(f"global batch {global_batch} is not divisible by world size {world_size}")
        if seq_len < 1:
            raise ValueError("seq_len must be positive")
        self.sources = [(str(d), float(w)) for d, w in sources]
        self.streams = [DocumentStream(d, seed, i) for i, (d, _) in enumerate(sources)]
        total = sum(w for _, w in sources)
        self.weights = np.array([w / total for _, w in sources])
        self.seq_len, self.global_batch, self.seed = seq_len, global_batch, seed
        self.rank, self.world_size = rank, world_size
        self.sample_index = 0
        self.taken = [0] * len(sources)
        self.cursors = [Cursor() for _ in sources]

    def _pick_source(self) -> int:
        behind = self.weights * (self.sample_index + 1) - np.array(self.taken)
        return int(np.argmax(behind))  # ties -> lowest index

    def next_batch(self) -> dict[str, torch.Tensor]:
        local = self.global_batch // self.world_size
        lo, hi = self.rank * local, (self.rank + 1) * local
        rows = []
        for row in range(self.global_batch):
            src = self._pick_source()
            stream, cur = self.streams[src], self.cursors[src]
            if lo <= row < hi:
                rows.append(stream.read(cur, self.seq_len + 1))
            self.cursors[src] = stream.advance(cur, self.seq_len)
            self.taken[src] += 1
            self.sample_index += 1
        tokens, docs, pos = (torch.from_numpy(np.stack(a)) for a in zip(*rows))
        inputs, labels = tokens[:, :-1], tokens[:, 1:]
        loss_mask = (inputs != EOD_ID) & (docs[:, 1:] == docs[:, :-1])
        return {
            "input_ids": inputs.contiguous(),
            "labels": labels.contiguous(),
            "position_ids": pos[:, :-1].contiguous(),
            "doc_ids": docs[:, :-1].contiguous(),
            "loss_mask": loss_mask,
        }

    def state_dict(self) -> dict:
        return {
            "sources": self.sources, "seq_len": self.seq_len, "global_batch": self.global_batch,
            "seed": self.seed, "sample_index": self.sample_index, "taken": list(self.taken),
            "cursors": [asdict(c) for c in self.cursors],
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore a position; refuses a state saved for other sources, seed, window or batch size."""
        for key in ("sources", "seq_len", "global_batch", "seed"):
            mine = self.sources if key == "sources" else getattr(self, key)
            theirs = [(str(d), float(w)) for d, w in state[key]] if key == "sources" else state[key]
            if mine != theirs:
                raise ValueError(f"cannot resume: checkpoint data {key} {theirs!r} differs from this run's {mine!r}")
        self.sample_index = int(state["sample_index"])
        self.taken = [int(t) for t in state["taken"]]
        self.cursors = [Cursor(**c) for c in state["cursors"]]

"""What every block shares: the decision a document carries through the pipeline.

A block never drops a document from the stream. It marks it (status, stage, reason) and adds its
evidence to `detail[stage]`; later blocks pass marked documents through untouched, and the sink writes
one manifest row per document. Accounting (rows = documents read) holds by construction.
"""
from __future__ import annotations

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from loguru import logger

import curate._logging  # noqa: F401  (worker processes import blocks, so they are quiet too)

KEPT, DROPPED, QUARANTINED = "kept", "dropped", "quarantined"
STAGES = ("input", "optout", "language", "quality", "toxicity", "license", "pii", "tokenize", "erasure")
STATE = "curate"  # key in Document.metadata
FILE_END = "curate_file_end"  # metadata key of the end-of-file marker the reader emits for the sink


def state(doc: Document) -> dict:
    st = doc.metadata.get(STATE)
    if st is None:
        st = doc.metadata[STATE] = {"status": KEPT, "stage": None, "reason": None, "detail": {}}
    return st


def is_live(doc: Document) -> bool:
    """True while no block has dropped or quarantined the document (end-of-file markers never are)."""
    return FILE_END not in doc.metadata and state(doc)["status"] == KEPT


def record(doc: Document, stage: str, evidence) -> None:
    """Add a block's evidence for a document it kept (or is about to mark)."""
    state(doc)["detail"][stage] = evidence


def mark(doc: Document, status: str, stage: str, reason: str, evidence=None) -> None:
    """Take the document out of the kept set, with the stage, a dotted reason code and the evidence."""
    assert status in (DROPPED, QUARANTINED) and stage in STAGES, (status, stage)
    st = state(doc)
    st.update(status=status, stage=stage, reason=reason)
    if evidence is not None:
        st["detail"][stage] = evidence


class CurateBlock(PipelineStep):
    """A block that looks only at live documents; subclasses implement `process(doc)`."""

    type = "curate"
    stage: str = ""

    def setup(self) -> None:
        """Load models/resources once per task (called lazily on the first live document)."""

    def process(self, doc: Document) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        ready = False
        for doc in data:
            if is_live(doc):
                if not ready:
                    self.setup()
                    ready = True
                with self.track_time():
                    try:
                        self.process(doc)
                    except Exception as e:  # one odd document must not end a task over millions
                        logger.warning(f"{self.stage}: {doc.id}: {type(e).__name__}: {e}")
                        mark(doc, QUARANTINED, self.stage, f"{self.stage}.error", {"error": f"{type(e).__name__}: {e}"})
                self.stat_update(state(doc)["status"])
            yield doc


class BatchedBlock(CurateBlock):
    """A block that looks at live documents in batches of up to `batch_size` (one model call for many);
    subclasses implement `process_batch(docs)`. The output order is the input order and marked documents
    pass through in their place; a file's end flushes the batch, so that the file's outputs complete
    promptly. When a batch fails, its documents are tried one by one: only the one that fails is quarantined."""

    batch_size: int = 64

    def process(self, doc: Document) -> None:
        """One document on its own (the batch path gives the same result)."""
        self.process_batch([doc])

    def process_batch(self, docs: list[Document]) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def _guarded(self, docs: list[Document]) -> None:
        try:
            self.process_batch(docs)
        except Exception as e:  # one odd document must not end a task over millions
            if len(docs) > 1:
                for doc in docs:
                    self._guarded([doc])
                return
            doc, = docs
            logger.warning(f"{self.stage}: {doc.id}: {type(e).__name__}: {e}")
            mark(doc, QUARANTINED, self.stage, f"{self.stage}.error", {"error": f"{type(e).__name__}: {e}"})

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        ready = False
        pending: list = []   # every document since the last flush, in input order
        live: list = []      # the live ones among them, to be processed together

        def flush():
            if live:
                with self.track_time():
                    self._guarded(live)
                for doc in live:
                    self.stat_update(state(doc)["status"])
            out = list(pending)
            pending.clear()
            live.clear()
            return out

        for doc in data:
            pending.append(doc)
            if is_live(doc):
                if not ready:
                    self.setup()
                    ready = True
                live.append(doc)
                if len(live) >= self.batch_size:
                    yield from flush()
            elif not live or FILE_END in doc.metadata:  # a file's end flushes: its outputs complete promptly
                yield from flush()
        yield from flush()

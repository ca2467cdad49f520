"""tokenize: the document's final text as `<s>` + tekken BPE + `</s>`, PII markers as special ids."""
from __future__ import annotations

from curate.blocks.base import DROPPED, CurateBlock, mark


class Tokenize(CurateBlock):
    name = "tokenize"
    stage = "tokenize"

    def __init__(self, tokenizer_file: str | None = None, max_tokens: int | None = None):
        super().__init__()
        self.tokenizer_file = tokenizer_file
        self.max_tokens = max_tokens

    def setup(self) -> None:
        from curate.tokenizer import get_tokenizer

        self.tok = get_tokenizer(self.tokenizer_file)

    def process(self, doc) -> None:
        tokens = self.tok.encode(doc.text)
        if self.max_tokens and len(tokens) > self.max_tokens:
            mark(doc, DROPPED, "tokenize", "tokenize.too_long", {"n_tokens": int(len(tokens)), "max_tokens": self.max_tokens})
            return
        doc.metadata["tokens"] = tokens

"""The Apertus-style tokenizer: Mistral's tekken BPE (131,072 ids, shipped in mistral-common) with
`<s>`=1 + text + `</s>`=2 per document and PII markers encoded as single special ids.

Apertus re-purposed tekken's unused special slots for its PII markers: 36 `<iban-pii>`, 37 `<email-pii>`,
38 `<ip-pii>`. curate adds the markers of its other PII types in the next free slots:
39 `<phone-pii>`, 40 `<card-pii>`, 41 `<id-pii>`. Any marker string in a text (planted by the pii block
or already there) becomes its special id; everything else is byte-level BPE, so decoding is lossless.
"""
from __future__ import annotations

import os
import re
from functools import lru_cache

import numpy as np

from curate.user_cache import cache_dir, write_atomically

BOS, EOS = 1, 2
MARKER_IDS: dict[str, int] = {
    "<iban-pii>": 36,
    "<email-pii>": 37,
    "<ip-pii>": 38,
    "<phone-pii>": 39,
    "<card-pii>": 40,
    "<id-pii>": 41,
}
ID_MARKERS = {v: k for k, v in MARKER_IDS.items()}
_MARKER_RE = re.compile("(" + "|".join(re.escape(m) for m in MARKER_IDS) + ")")
_MARKER_SET = frozenset(MARKER_IDS)


def tekken_path(name: str = "tekken_240718.json") -> str:
    from importlib.util import find_spec

    spec = find_spec("mistral_common")  # the package's folder, without the cost of importing it
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"tokenizer file {name}: the mistral-common package is not installed")
    path = os.path.join(list(spec.submodule_search_locations)[0], "data", name)
    if not os.path.exists(path):
        raise FileNotFoundError(f"tokenizer file {name} is not shipped by the installed mistral-common ({path})")
    return path


def _parse_tekken(file: str) -> tuple[str, int, int, dict[bytes, int]]:
    import binascii
    import json

    with open(file, "rb") as f:
        data = json.load(f)
    cfg = data["config"]
    n_special, vocab_size = cfg["default_num_special_tokens"], cfg["default_vocab_size"]
    ranks = {binascii.a2b_base64(x["token_bytes"]): x["rank"] for x in data["vocab"][: vocab_size - n_special]}
    if sorted(ranks.values()) != list(range(vocab_size - n_special)):
        raise ValueError(f"{file}: the vocabulary ranks are not 0..{vocab_size - n_special - 1}")
    return cfg["pattern"], n_special, vocab_size, ranks


def _tekken_tables(file: str) -> tuple[str, int, int, dict[bytes, int]]:
    """What `_parse_tekken` reads, from a pickle under $CURATE_CACHE named by the file's sha256 when there is
    one (0.05 s instead of 0.3 s of JSON and base64, paid by every worker); written atomically otherwise."""
    import hashlib
    import pickle

    with open(file, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    path = cache_dir("tokenizer") / f"{digest[:32]}.pickle"
    try:
        with path.open("rb") as f:
            tables = pickle.load(f)
        if isinstance(tables, tuple) and len(tables) == 4:
            return tables
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError):
        pass
    tables = _parse_tekken(file)
    try:
        write_atomically(path, lambda f: pickle.dump(tables, f, protocol=pickle.HIGHEST_PROTOCOL))
    except OSError:  # a read-only home: parse the JSON every time
        pass
    return tables


def load_tekken(file: str):
    """(tiktoken Encoding over the non-special vocabulary, number of special ids, vocabulary size) from a
    tekken JSON file: what mistral-common's Tekkenizer builds, without the per-id tables it also makes (a
    third of the load time, paid by every worker). The PII markers are the Encoding's special tokens, with
    ids just past the BPE ranks (`Tokenizer.encode` maps them to MARKER_IDS), so that one call into
    tiktoken splits the text at them."""
    import tiktoken

    pattern, n_special, vocab_size, ranks = _tekken_tables(file)
    markers = {m: len(ranks) + i for i, m in enumerate(MARKER_IDS)}
    bpe = tiktoken.Encoding(name=os.path.basename(file), pat_str=pattern, mergeable_ranks=ranks,
                            special_tokens=markers)
    return bpe, n_special, vocab_size


class Tokenizer:
    """Encodes a document as `<s> text </s>` with tekken; PII markers map to their special ids."""

    name = "tekken_240718"
    vocab_size = 131072

    def __init__(self, file: str | None = None):
        self.file = file or tekken_path()
        self._bpe, self._offset, self.vocab_size = load_tekken(self.file)
        # tiktoken's id -> ours: BPE ranks shifted past the special ids, then the markers (load_tekken)
        self._id_of = np.arange(self._bpe.n_vocab, dtype=np.int32) + self._offset
        self._id_of[self._bpe.n_vocab - len(MARKER_IDS):] = list(MARKER_IDS.values())

    def encode(self, text: str) -> np.ndarray:
        """One tiktoken call into a numpy buffer (no Python list of ids), then one table lookup in numpy;
        the same ids as `_encode_parts`."""
        try:
            ranks = self._bpe.encode_to_numpy(text, allowed_special=_MARKER_SET)
        except UnicodeEncodeError:  # lone surrogates: tiktoken's own repair, in encode_ordinary
            return self._encode_parts(text)
        ids = np.empty(len(ranks) + 2, dtype=np.int32)
        ids[0], ids[-1] = BOS, EOS
        np.take(self._id_of, ranks, out=ids[1:-1])
        return ids

    def _encode_parts(self, text: str) -> np.ndarray:
        """The reference encoding: the text split at the markers in Python, each part BPE-encoded."""
        runs: list = [(BOS,)]
        for i, part in enumerate(_MARKER_RE.split(text) if "<" in text else (text,)):
            if i % 2:
                runs.append((MARKER_IDS[part],))
            elif part:  # the offset added in numpy, not per token in Python
                runs.append(np.asarray(self._bpe.encode_ordinary(part), dtype=np.int32) + self._offset)
        runs.append((EOS,))
        return np.concatenate(runs).astype(np.int32, copy=False)

    def decode(self, ids) -> str:
        """Inverse of encode (BOS/EOS dropped)."""
        out: list[str] = []
        run: list[int] = []

        def flush():
            if run:
                out.append(self._bpe.decode_bytes(run).decode("utf-8"))
                run.clear()

        for t in (int(x) for x in ids):
            if t >= self._offset:
                run.append(t - self._offset)
            else:
                flush()
                if t in ID_MARKERS:
                    out.append(ID_MARKERS[t])
                elif t not in (BOS, EOS):
                    raise ValueError(f"unexpected special token id {t}")
        flush()
        return "".join(out)


@lru_cache(maxsize=2)
def get_tokenizer(file: str | None = None) -> Tokenizer:
    return Tokenizer(file)

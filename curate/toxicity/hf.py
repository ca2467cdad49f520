"""Bring-your-own-model toxicity scorers on Hugging Face transformers (an optional extra: ``curate[hf]``).

- :class:`HFClassifierScorer`: a sequence-classification model (``AutoModelForSequenceClassification``)
  saved with ``save_pretrained`` in a local directory; pipeline key ``toxicity: {model: hf:/dir}``.
- :class:`EncoderHeadScorer`: the Apertus recipe: mean-pooled last hidden states of an encoder
  (``AutoModel``) fed to a small per-language MLP head; ``toxicity: {encoder: hf:/dir, head: FILE}``.
  :func:`train_head` trains the head (``curate toxicity train-head``).

Models load only from local directories (``local_files_only=True``): nothing is downloaded, ever.

Chunking (both scorers): a document is tokenised whole, without special tokens; its token ids are cut
into consecutive windows of ``max_tokens`` minus the tokenizer's special tokens (e.g. 510 + ``<s>``
``</s>`` = 512 for XLM-R), so a chunk is exactly what the model sees, as in Apertus (512-token
chunks). ``max_tokens`` is capped at what the model's position embeddings allow. The
``chunk_chars`` argument of ``score_document(s)`` is accepted for the common scorer interface and
ignored here. Chunks from all documents of a call are sorted by length and batched ``batch_size`` at
a time (right padding, attention mask), so batching changes no score beyond float rounding.
Document score = max over its chunks; the detail names the chunk.

Which output is P(toxic) (:func:`toxic_label_index`): the label of ``config.id2label`` whose name
contains ``toxic``, ``hate`` or ``offensive`` (and not ``non``/``not``/``no``), else index 1; a
model with a single logit is read as sigmoid(logit); ``problem_type: multi_label_classification``
reads sigmoid of the chosen label; otherwise softmax over the labels.

Head file (:data:`HEAD_FORMAT`): safetensors with, for every head name ``H`` (language codes such as
``de``, plus ``_fallback``), float32 tensors ``H.w1`` [hidden, dim], ``H.b1`` [hidden], ``H.w2``
[1, hidden], ``H.b2`` [1]: P(toxic) = sigmoid(w2 . relu(w1 . x + b1) + b2), x = the pooled embedding.
The safetensors metadata has one key, ``curate``, a JSON object: ``format``, ``languages`` (JSON
list), ``embed_dim``, ``hidden``, ``encoder``, ``encoder_sha256`` and ``training`` (JSON). A language
without its own head is scored by ``_fallback``.
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import json
import math
import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable

from .lexicon import normalize_language

__all__ = ["HFClassifierScorer", "EncoderHeadScorer", "train_head", "ModelLoadError", "ModelNotFoundError",
           "model_dir_sha256", "toxic_label_index", "read_labelled_rows", "HEAD_FORMAT", "FALLBACK_HEAD"]

HEAD_FORMAT = "curate-toxicity-head-v1"
FALLBACK_HEAD = "_fallback"
INSTALL_HINT = "pip install 'curate[hf]'"
_TOXIC_LABEL_RE = re.compile(r"toxic|hate|offensive")
_NEGATED_LABEL_RE = re.compile(r"^(non|not|no)[\s_-]?|[\s_-](non|not|no)[\s_-]")
_HUB_ID_RE = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
# files of a model directory that do not change what it computes
_IGNORED_FILES = re.compile(r"^(\.|README|LICEN[CS]E|.*\.md$)", re.IGNORECASE)


class ModelLoadError(ValueError):
    """A model or head that cannot be used: not local, incomplete, or inconsistent."""


class ModelNotFoundError(ModelLoadError, FileNotFoundError):
    """The model directory (or head file) does not exist."""


def _require_transformers():
    try:
        import torch  # noqa: F401
        import transformers
    except ImportError as exc:
        raise ImportError(f"Hugging Face toxicity models need transformers and torch: {INSTALL_HINT} "
                          f"(and a torch build for your device); missing: {exc.name}") from exc
    return transformers


@contextmanager
def _quiet_loading(transformers):
    """No progress bars while loading local files (transformers 5 draws one per model load)."""
    tl = getattr(getattr(transformers, "utils", None), "logging", None)
    was = tl.is_progress_bar_enabled() if tl and hasattr(tl, "is_progress_bar_enabled") else None
    if was:
        tl.disable_progress_bar()
    try:
        yield
    finally:
        if was:
            tl.enable_progress_bar()


def _strip_scheme(path: str | os.PathLike) -> str:
    s = os.fspath(path)
    return s[3:] if s.startswith("hf:") else s


def local_model_dir(path: str | os.PathLike, what: str = "model") -> Path:
    """The local directory a ``hf:`` reference names; clear errors for anything else."""
    s = _strip_scheme(path)
    if not s:
        raise ModelLoadError(f"empty {what} path")
    if "://" in s:
        raise ModelLoadError(f"{what} {s!r} is not a local path: curate loads Hugging Face models only from a "
                             f"local directory (written by save_pretrained); it never downloads")
    p = Path(s).expanduser()
    if not p.exists():
        if _HUB_ID_RE.match(s) and not s.startswith(("./", "../")):
            raise ModelNotFoundError(
                f"{what} {s!r} is not a local directory; it looks like a Hugging Face Hub id, and curate never "
                f"downloads: fetch it first (e.g. `huggingface-cli download {s} --local-dir DIR`) and pass hf:DIR")
        raise ModelNotFoundError(f"{what} directory not found: {p}")
    if not p.is_dir():
        raise ModelLoadError(f"{what} {p} is a file; expected a directory written by save_pretrained "
                             f"(config.json, weights, tokenizer files)")
    if not (p / "config.json").is_file():
        raise ModelLoadError(f"{what} directory {p} has no config.json; is it a save_pretrained directory?")
    return p


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def model_dir_sha256(directory: str | os.PathLike) -> str:
    """sha256 over the files of a model directory, sorted by name: ``name NUL sha256(file) LF`` each.

    Every top-level regular file counts (config, weights, tokenizer files) except hidden files, README*,
    LICENSE* and *.md, which do not change what the model computes."""
    directory = Path(directory)
    h = hashlib.sha256()
    n = 0
    for p in sorted(directory.iterdir(), key=lambda q: q.name):
        if p.is_file() and not _IGNORED_FILES.match(p.name):
            h.update(f"{p.name}\0{_file_sha256(p)}\n".encode())
            n += 1
    if not n:
        raise ModelLoadError(f"no model files in {directory}")
    return h.hexdigest()


def toxic_label_index(id2label: dict | None, num_labels: int) -> int:
    """The output index read as P(toxic); see the module docstring for the rule."""
    if num_labels == 1:
        return 0
    for idx, name in sorted((int(k), str(v)) for k, v in (id2label or {}).items()):
        low = name.strip().lower()
        if _TOXIC_LABEL_RE.search(low) and not _NEGATED_LABEL_RE.search(low) and 0 <= idx < num_labels:
            return idx
    if num_labels < 2:
        raise ModelLoadError(f"cannot pick a toxic label among {num_labels} outputs")
    return 1


def _resolve_device(device: str):
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"toxicity device {device!r} is not a torch device (cpu, cuda, cuda:1, ...)") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"toxicity device {device!r} requested but CUDA is not available "
                         f"(torch {torch.__version__}); use device: cpu or install a CUDA build of torch")
    return dev


def _resolve_dtype(dtype, dev):
    import torch

    if dtype is None or dtype == "auto":
        return torch.bfloat16 if dev.type == "cuda" else torch.float32
    if isinstance(dtype, str):
        try:
            return {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16,
                    "bf16": torch.bfloat16, "float16": torch.float16, "fp16": torch.float16}[dtype]
        except KeyError:
            raise ValueError(f"dtype {dtype!r}: choose auto, float32, bfloat16 or float16") from None
    return dtype


class _ChunkedModel:
    """Tokenise whole documents, cut token windows, batch them across documents, max-pool per document."""

    def __init__(self, path, device: str, batch_size: int, max_tokens: int, dtype, kind: str):
        self._transformers = _require_transformers()
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if int(max_tokens) < 1:
            raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")
        self.path = local_model_dir(path, kind)
        self.device_obj = _resolve_device(device)
        self.device = str(self.device_obj)
        self.batch_size = int(batch_size)
        self.dtype = _resolve_dtype(dtype, self.device_obj)
        self.model_sha256 = model_dir_sha256(self.path)
        with _quiet_loading(self._transformers):
            try:
                self.tokenizer = self._transformers.AutoTokenizer.from_pretrained(str(self.path),
                                                                                  local_files_only=True)
            except Exception as exc:  # noqa: BLE001 - transformers raises many kinds; name the directory
                raise ModelLoadError(f"cannot load a tokenizer from {self.path}: {exc}") from exc
            self.model = self._load_model()
        self.model.to(device=self.device_obj, dtype=self.dtype)
        self.model.eval()
        cfg = self.model.config
        self._prefix, self._suffix = self._special_tokens()
        limit = int(max_tokens)
        max_pos = getattr(cfg, "max_position_embeddings", None)
        if max_pos:
            if getattr(cfg, "model_type", "") in ("roberta", "xlm-roberta", "camembert", "xlm-roberta-xl"):
                max_pos -= (cfg.pad_token_id or 0) + 1  # positions start after padding_idx
            limit = min(limit, int(max_pos))
        tok_max = getattr(self.tokenizer, "model_max_length", None)
        if isinstance(tok_max, int) and 0 < tok_max < 1_000_000:
            limit = min(limit, tok_max)
        self.max_tokens = limit
        self.window = limit - len(self._prefix) - len(self._suffix)
        if self.window < 1:
            raise ModelLoadError(f"max_tokens {limit} leaves no room besides the special tokens of {self.path}")
        pad = self.tokenizer.pad_token_id
        if pad is None:
            pad = getattr(cfg, "pad_token_id", None)
        self._pad_id = int(pad) if pad is not None else 0

    def _load_model(self):
        raise NotImplementedError

    def _special_tokens(self) -> tuple[list[int], list[int]]:
        """The ids the tokenizer puts before and after a text (found by encoding a probe both ways)."""
        probe = "a"
        plain = self.tokenizer(probe, add_special_tokens=False)["input_ids"]
        full = self.tokenizer(probe, add_special_tokens=True)["input_ids"]
        n = len(plain)
        for i in range(len(full) - n + 1):
            if full[i:i + n] == plain:
                return list(full[:i]), list(full[i + n:])
        return [], []

    def chunk_ids(self, text: str) -> list[list[int]]:
        """A document's model inputs: windows of token ids, each with the special tokens around it."""
        return self._chunks_of(self._encode([text])[0])

    def _encode(self, texts: list[str]) -> list[list[int]]:
        for t in texts:
            if not isinstance(t, str):
                raise TypeError(f"text must be str, got {type(t).__name__}")
        if not texts:
            return []
        return self.tokenizer(list(texts), add_special_tokens=False, return_attention_mask=False,
                              verbose=False)["input_ids"]

    def _chunks_of(self, ids: list[int]) -> list[list[int]]:
        w = self.window
        pieces = [ids[i:i + w] for i in range(0, len(ids), w)] or [[]]
        return [self._prefix + p + self._suffix for p in pieces]

    def _batches(self, chunks: list[list[int]]) -> Iterable[tuple[list[int], Any, Any]]:
        """(chunk indices, input_ids, attention_mask) batches, longest chunks first."""
        import torch

        order = sorted(range(len(chunks)), key=lambda i: (-len(chunks[i]), i))
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            width = max(len(chunks[i]) for i in idx)
            ids = torch.full((len(idx), width), self._pad_id, dtype=torch.long)
            mask = torch.zeros((len(idx), width), dtype=torch.long)
            for row, i in enumerate(idx):
                c = chunks[i]
                ids[row, :len(c)] = torch.tensor(c, dtype=torch.long)
                mask[row, :len(c)] = 1
            yield idx, ids.to(self.device_obj), mask.to(self.device_obj)

    def _chunk_probs(self, chunks: list[list[int]], chunk_langs: list[str]) -> tuple[list[float], list[str]]:
        import torch

        probs = [0.0] * len(chunks)
        tags = [""] * len(chunks)
        with torch.inference_mode():
            for idx, ids, mask in self._batches(chunks):
                p, t = self._forward(ids, mask, [chunk_langs[i] for i in idx])
                for row, i in enumerate(idx):
                    probs[i], tags[i] = float(p[row]), t[row]
        return probs, tags

    def _forward(self, ids, mask, langs) -> tuple[list[float], list[str]]:
        raise NotImplementedError

    def _detail(self, best_tag: str) -> dict[str, Any]:
        raise NotImplementedError

    def score_documents(self, texts: list[str], languages: list[str],
                        chunk_chars: int | None = None) -> list[tuple[float, dict[str, Any]]]:
        """(score, detail) per document; chunks of all the documents are batched together."""
        texts, languages = list(texts), list(languages)
        if len(texts) != len(languages):
            raise ValueError(f"{len(texts)} texts but {len(languages)} languages")
        langs = [normalize_language(lang) for lang in languages]
        chunks, owner = [], []
        for d, ids in enumerate(self._encode(texts)):
            for c in self._chunks_of(ids):
                chunks.append(c)
                owner.append(d)
        probs, tags = self._chunk_probs(chunks, [langs[d] for d in owner])
        best: list[tuple[float, int, int]] = [(-1.0, -1, 0) for _ in texts]  # (score, chunk index, position)
        counts = [0] * len(texts)
        for pos, (d, p) in enumerate(zip(owner, probs)):
            k = counts[d]
            counts[d] += 1
            if p > best[d][0]:
                best[d] = (p, k, pos)
        out = []
        for d in range(len(texts)):
            score, k, pos = best[d]
            detail = self._detail(tags[pos])
            detail.update({"score": round(score, 6), "chunk": k, "n_chunks": counts[d], "language": langs[d]})
            out.append((score, detail))
        return out

    def score_document(self, text: str, language: str,
                       chunk_chars: int | None = None) -> tuple[float, dict[str, Any]]:
        return self.score_documents([text], [language], chunk_chars)[0]

    def score(self, text: str, language: str) -> float:
        return self.score_document(text, language)[0]

    def score_chunk(self, ids: list[int], language: str = "en") -> float:
        """P(toxic) of one model input (as :meth:`chunk_ids` returns), scored alone."""
        return self._chunk_probs([list(ids)], [normalize_language(language)])[0][0]

    def _common_detail(self) -> dict[str, Any]:
        return {"device": self.device, "batch_size": self.batch_size, "max_tokens": self.max_tokens,
                "chunking": "tokens", "dtype": str(self.dtype).replace("torch.", "")}


class HFClassifierScorer(_ChunkedModel):
    """P(toxic) from a local ``AutoModelForSequenceClassification`` directory; document = max over chunks."""

    def __init__(self, path: str | os.PathLike, device: str = "cpu", batch_size: int = 64, max_tokens: int = 512,
                 dtype=None):
        super().__init__(path, device, batch_size, max_tokens, dtype, "toxicity model")
        cfg = self.model.config
        self.num_labels = int(cfg.num_labels)
        self.label_index = toxic_label_index(getattr(cfg, "id2label", None), self.num_labels)
        self.label = str((getattr(cfg, "id2label", None) or {}).get(self.label_index, self.label_index))
        self.multi_label = getattr(cfg, "problem_type", None) == "multi_label_classification"
        self.sha256 = self.model_sha256
        self.name = f"hf:{self.path.resolve().name}@{self.sha256[:12]}"

    def _load_model(self):
        try:
            return self._transformers.AutoModelForSequenceClassification.from_pretrained(
                str(self.path), local_files_only=True)
        except Exception as exc:  # noqa: BLE001
            raise ModelLoadError(f"cannot load a sequence-classification model from {self.path}: {exc}") from exc

    def _forward(self, ids, mask, langs):
        import torch

        logits = self.model(input_ids=ids, attention_mask=mask).logits.float()
        if self.num_labels == 1 or self.multi_label:
            p = torch.sigmoid(logits[:, self.label_index])
        else:
            p = torch.softmax(logits, dim=-1)[:, self.label_index]
        return p.cpu().tolist(), [""] * len(langs)

    def _detail(self, best_tag: str) -> dict[str, Any]:
        d = {"scorer": self.name, "model_sha256": self.sha256, "label": self.label,
             "label_index": self.label_index}
        d.update(self._common_detail())
        return d


# --------------------------------------------------------------------------- encoder + per-language head

def _mean_pool(hidden, mask):
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return ((hidden * m).sum(dim=1) / m.sum(dim=1).clamp(min=1)).float()


class _Encoder(_ChunkedModel):
    def _load_model(self):
        try:
            return self._transformers.AutoModel.from_pretrained(str(self.path), local_files_only=True)
        except Exception as exc:  # noqa: BLE001
            raise ModelLoadError(f"cannot load an encoder from {self.path}: {exc}") from exc

    @property
    def embed_dim(self) -> int:
        return int(self.model.config.hidden_size)

    def embed(self, ids, mask):
        """Attention-masked mean of the last hidden states, float32 [B, dim]."""
        return _mean_pool(self.model(input_ids=ids, attention_mask=mask).last_hidden_state, mask)

    def embed_texts(self, texts: list[str]):
        """One embedding per text, from its first window (texts longer than max_tokens are truncated)."""
        import torch

        chunks = [self._chunks_of(ids)[0] for ids in self._encode(list(texts))]
        out = torch.zeros((len(chunks), self.embed_dim), dtype=torch.float32)
        with torch.inference_mode():
            for idx, ids, mask in self._batches(chunks):
                out[idx] = self.embed(ids, mask).cpu()
        return out


def _load_head(path: str | os.PathLike) -> tuple[dict, dict, str]:
    from safetensors import safe_open
    from safetensors.torch import load_file

    p = Path(path).expanduser()
    if not p.is_file():
        raise ModelNotFoundError(f"toxicity head file not found: {p}")
    try:
        with safe_open(str(p), framework="pt") as fh:
            meta = json.loads((fh.metadata() or {}).get("curate", "{}"))
        tensors = load_file(str(p))
    except Exception as exc:  # noqa: BLE001
        raise ModelLoadError(f"{p} is not a safetensors head file ({HEAD_FORMAT}): {exc}") from exc
    if meta.get("format") != HEAD_FORMAT:
        raise ModelLoadError(f"{p}: format {meta.get('format')!r}, expected {HEAD_FORMAT!r}")
    names = json.loads(meta.get("languages", "[]")) + [FALLBACK_HEAD]
    heads = {}
    for name in names:
        try:
            heads[name] = tuple(tensors[f"{name}.{k}"].float() for k in ("w1", "b1", "w2", "b2"))
        except KeyError as exc:
            raise ModelLoadError(f"{p}: head {name!r} lacks tensor {exc.args[0]!r}") from None
    return heads, meta, _file_sha256(p)


class EncoderHeadScorer(_Encoder):
    """Apertus recipe: mean-pooled encoder embeddings -> per-language MLP head -> P(toxic); max over chunks."""

    def __init__(self, encoder_path: str | os.PathLike, head_path: str | os.PathLike, device: str = "cpu",
                 batch_size: int = 64, max_tokens: int = 512, dtype=None, check_encoder: bool = True):
        heads, meta, head_sha = _load_head(head_path)  # a bad head fails before the encoder loads
        super().__init__(encoder_path, device, batch_size, max_tokens, dtype, "toxicity encoder")
        self.head_path = Path(head_path)
        self.head_sha256 = head_sha
        self.head_meta = meta
        if int(meta.get("embed_dim", -1)) != self.embed_dim:
            raise ModelLoadError(f"head {self.head_path} expects {meta.get('embed_dim')}-dim embeddings; encoder "
                                 f"{self.path} gives {self.embed_dim}")
        if check_encoder and meta.get("encoder_sha256") and meta["encoder_sha256"] != self.model_sha256:
            raise ModelLoadError(f"head {self.head_path} was trained on encoder {meta['encoder_sha256'][:12]}, "
                                 f"not on {self.path} ({self.model_sha256[:12]}); retrain it with "
                                 f"`curate toxicity train-head` or pass check_encoder=False")
        self.heads = {k: tuple(t.to(self.device_obj) for t in v) for k, v in heads.items()}
        self.languages = sorted(k for k in self.heads if k != FALLBACK_HEAD)
        self.sha256 = hashlib.sha256(f"{self.model_sha256}\0{self.head_sha256}".encode()).hexdigest()
        self.name = (f"hf-encoder:{self.path.resolve().name}@{self.model_sha256[:12]}"
                     f"+head:{self.head_path.name}@{self.head_sha256[:12]}")

    def head_for(self, language: str) -> str:
        lang = normalize_language(language)
        return lang if lang in self.heads and lang != FALLBACK_HEAD else FALLBACK_HEAD

    def _forward(self, ids, mask, langs):
        import torch

        x = self.embed(ids, mask)
        names = [self.head_for(lang) for lang in langs]
        p = torch.zeros(len(names), dtype=torch.float32, device=x.device)
        for name in sorted(set(names)):
            rows = torch.tensor([i for i, n in enumerate(names) if n == name], device=x.device)
            p[rows] = _apply_head(self.heads[name], x[rows])
        return p.cpu().tolist(), [("fallback" if n == FALLBACK_HEAD else n) for n in names]

    def _detail(self, best_tag: str) -> dict[str, Any]:
        d = {"scorer": self.name, "model_sha256": self.sha256, "encoder_sha256": self.model_sha256,
             "head_sha256": self.head_sha256, "head": best_tag, "pooling": "mean"}
        d.update(self._common_detail())
        return d


def _apply_head(head, x):
    import torch

    w1, b1, w2, b2 = head
    return torch.sigmoid((torch.relu(x @ w1.T + b1) @ w2.T + b2).squeeze(-1))


# --------------------------------------------------------------------------- training the head

def _train_mlp(x, y, hidden: int, epochs: int, lr: float, seed: int, batch: int = 256):
    """Minibatch Adam on BCE; fully determined by the seed (CPU, fixed order)."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    mu, sd = x.mean(dim=0), x.std(dim=0, unbiased=False).clamp(min=1e-6)
    x = (x - mu) / sd  # standardised features train much faster; folded into w1, b1 below
    dim = x.shape[1]
    w1 = (torch.randn(hidden, dim, generator=gen) * math.sqrt(2.0 / dim)).requires_grad_()
    b1 = torch.zeros(hidden, requires_grad=True)
    w2 = (torch.randn(1, hidden, generator=gen) * math.sqrt(1.0 / hidden)).requires_grad_()
    b2 = torch.zeros(1, requires_grad=True)
    params = [w1, b1, w2, b2]
    opt = torch.optim.Adam(params, lr=lr)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    last = float("nan")
    for _ in range(epochs):
        perm = torch.randperm(x.shape[0], generator=gen)
        total, n = 0.0, 0
        for s in range(0, x.shape[0], batch):
            idx = perm[s:s + batch]
            logits = (torch.relu(x[idx] @ w1.T + b1) @ w2.T + b2).squeeze(-1)
            loss = loss_fn(logits, y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
            n += len(idx)
        last = total / max(n, 1)
    with torch.no_grad():  # w1 . ((x - mu) / sd) + b1 = (w1 / sd) . x + (b1 - (w1 / sd) . mu)
        w1_raw = w1 / sd
        b1_raw = b1 - w1_raw @ mu
    return tuple(p.detach().clone().contiguous() for p in (w1_raw, b1_raw, w2, b2)), last


def train_head(encoder_path: str | os.PathLike, texts: list[str], labels: list, languages: list[str],
               out_path: str | os.PathLike, epochs: int = 20, lr: float = 1e-3, seed: int = 0, hidden: int = 256,
               device: str = "cpu", batch_size: int = 64, max_tokens: int = 512, min_rows: int = 20) -> dict:
    """Train per-language MLP heads (plus the shared ``_fallback`` head on all rows) on mean-pooled
    embeddings of a local encoder and write the head file (safetensors, see the module docstring).

    A language gets its own head when it has at least ``min_rows`` rows, at least one of each class;
    every row also trains the fallback. Each text is embedded from its first
    ``max_tokens`` tokens. Same inputs and seed = same head file, byte for byte."""
    import torch
    from safetensors.torch import save_file

    texts, languages = list(texts), list(languages)
    y_all = [1.0 if bool(v) else 0.0 for v in labels]
    if not (len(texts) == len(y_all) == len(languages)):
        raise ValueError(f"texts, labels and languages differ in length: {len(texts)}, {len(y_all)}, "
                         f"{len(languages)}")
    if not texts:
        raise ValueError("no training rows")
    if len(set(y_all)) < 2:
        raise ValueError("training needs both toxic and non-toxic rows")
    if epochs < 1 or lr <= 0 or hidden < 1:
        raise ValueError(f"epochs >= 1, lr > 0 and hidden >= 1 required (got {epochs}, {lr}, {hidden})")
    langs = [normalize_language(lang) for lang in languages]
    enc = _Encoder(encoder_path, device, batch_size, max_tokens, "float32", "toxicity encoder")
    x = enc.embed_texts(texts)
    y = torch.tensor(y_all, dtype=torch.float32)
    tensors, stats = {}, {}
    groups = {FALLBACK_HEAD: list(range(len(texts)))}
    for lang in sorted(set(langs)):
        rows = [i for i, lg in enumerate(langs) if lg == lang]
        pos = sum(y_all[i] for i in rows)
        if len(rows) >= min_rows and 0 < pos < len(rows):
            groups[lang] = rows
    for gi, (name, rows) in enumerate(sorted(groups.items())):
        idx = torch.tensor(rows)
        head, loss = _train_mlp(x[idx], y[idx], hidden, epochs, lr, seed + gi)
        for key, t in zip(("w1", "b1", "w2", "b2"), head):
            tensors[f"{name}.{key}"] = t
        stats[name] = {"rows": len(rows), "toxic": int(sum(y_all[i] for i in rows)), "final_loss": round(loss, 6)}
    training = {"epochs": epochs, "lr": lr, "seed": seed, "hidden": hidden, "max_tokens": enc.max_tokens,
                "min_rows": min_rows, "rows": len(texts), "pooling": "mean", "heads": stats}
    meta = {"format": HEAD_FORMAT, "languages": json.dumps(sorted(k for k in groups if k != FALLBACK_HEAD)),
            "embed_dim": str(enc.embed_dim), "hidden": str(hidden), "encoder_sha256": enc.model_sha256,
            "encoder": enc.path.resolve().name, "training": json.dumps(training, sort_keys=True)}
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    # one metadata key: safetensors writes its metadata map in no fixed order, and the file must be
    # byte-identical for the same inputs and seed
    save_file(tensors, str(out), metadata={"curate": json.dumps(meta, sort_keys=True)})
    return {"head": str(out), "sha256": _file_sha256(out), "encoder_sha256": enc.model_sha256,
            "languages": json.loads(meta["languages"]), **{k: v for k, v in training.items() if k != "heads"},
            "heads": stats}


def read_labelled_rows(path: str | os.PathLike, text_column: str = "text", label_columns: Iterable[str] = ("label",),
                       language_column: str | None = "lang", default_language: str | None = None
                       ) -> tuple[list[str], list[bool], list[str], dict]:
    """(texts, labels, languages, stats) from a CSV or JSON-lines file (``.gz`` too).

    A row is toxic if any label column is > 0; rows whose labels are all negative or empty are skipped as
    unlabelled. The language comes from ``language_column`` when the row has it, else ``default_language``."""
    path = Path(path)
    label_columns = list(label_columns)
    opener = gzip.open if path.suffix == ".gz" else open
    stem = path.name[:-3] if path.suffix == ".gz" else path.name
    texts, labels, langs = [], [], []
    skipped = 0
    with opener(path, "rt", encoding="utf-8", newline="") as fh:
        if stem.endswith((".jsonl", ".json", ".ndjson")):
            rows: Iterable = (json.loads(line) for line in fh if line.strip())
        else:
            rows = csv.DictReader(fh)
        for row_no, row in enumerate(rows, 1):
            try:
                raw = [row.get(c) for c in label_columns]
                if text_column not in row:
                    raise ValueError(f"no column {text_column!r}")
                values = [None if v is None or str(v).strip() == "" else float(v) for v in raw]
            except (ValueError, TypeError) as exc:
                raise ValueError(f"{path} row {row_no}: {exc}") from None
            if all(v is None or v < 0 for v in values):
                skipped += 1
                continue
            lang = row.get(language_column) if language_column else None
            lang = lang or default_language
            if not lang:
                raise ValueError(f"{path} row {row_no}: no language (column {language_column!r}); "
                                 f"pass a default language")
            text = row[text_column]
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"{path} row {row_no}: empty text in column {text_column!r}")
            texts.append(text)
            labels.append(any(v is not None and v > 0 for v in values))
            langs.append(str(lang))
    return texts, labels, langs, {"rows": len(texts), "skipped_unlabelled": skipped, "toxic": sum(labels)}


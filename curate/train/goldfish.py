"""Goldfish loss (Hans et al., 2024) as Apertus implements it: drop a token's loss when a hash of the
h label ids ending at it selects it, so the model never sees every token of a repeated passage.

The hash, exactly:
  * a table of 1,000,003 uniform floats: ``g = torch.Generator(device="cpu"); g.manual_seed(2971215073);
    table = torch.rand(1_000_003, generator=g)`` (float32, CPU; cached, copied to other devices on demand);
  * for each position t >= h-1 of a row: key = product of labels[t-h+1 .. t] in int64, wrapping on overflow
    (two's complement, as torch's int64 multiply does), then ``key % 1_000_003``: torch's ``%`` is a floor
    modulo, so with a positive divisor the key is non-negative even when the product is negative;
  * the token is dropped when ``table[key] < 1/k`` (float32 comparison);
  * the first h-1 positions of every row are never dropped (no full window yet).
The decision depends only on the h-gram, so the same h-gram is dropped (or kept) wherever it occurs.
"""
from __future__ import annotations

import torch

TABLE_SIZE = 1_000_003
TABLE_SEED = 2971215073
IGNORE_INDEX = -100

_tables: dict[str, torch.Tensor] = {}


def hash_table(device: torch.device | str = "cpu") -> torch.Tensor:
    """The cached float32 table of TABLE_SIZE uniform draws (always drawn on CPU, then moved)."""
    key = str(torch.device(device))
    if key not in _tables:
        if "cpu" not in _tables:
            g = torch.Generator(device="cpu")
            g.manual_seed(TABLE_SEED)
            _tables["cpu"] = torch.rand(TABLE_SIZE, generator=g)
        _tables[key] = _tables["cpu"].to(device)
    return _tables[key]


def goldfish_mask(labels: torch.Tensor, k: int = 50, h: int = 50) -> torch.Tensor:
    """Boolean mask of the positions Goldfish drops from the loss (True = dropped).

    ``labels``: int tensor [T] or [B, T] of target token ids. Returns a bool tensor of the same shape.
    The mask is the pure hash decision: combine it with the ignore mask via :func:`apply_goldfish` or
    ``keep = valid & ~goldfish_mask(...)`` so that ignored labels are never brought back.
    """
    if k < 1 or h < 1:
        raise ValueError(f"goldfish needs k >= 1 and h >= 1 (got k={k}, h={h})")
    if labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise TypeError(f"goldfish_mask expects integer labels, got {labels.dtype}")
    squeeze = labels.dim() == 1
    rows = labels.unsqueeze(0) if squeeze else labels
    if rows.dim() != 2:
        raise ValueError(f"labels must be [T] or [B, T], got shape {tuple(labels.shape)}")
    n_rows, length = rows.shape
    mask = torch.zeros(n_rows, length, dtype=torch.bool, device=rows.device)
    if length >= h:
        # unfold gives the windows ending at t = h-1 .. T-1; int64 prod wraps modulo 2^64
        windows = rows.to(torch.int64).unfold(1, h, 1)
        keys = windows.prod(dim=-1) % TABLE_SIZE
        mask[:, h - 1 :] = hash_table(rows.device)[keys] < 1.0 / k
    return mask.squeeze(0) if squeeze else mask


def apply_goldfish(labels: torch.Tensor, k: int = 50, h: int = 50, ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """Copy of ``labels`` with Goldfish-dropped positions set to ``ignore_index``.

    Hash windows see the raw ids (including any ignore_index values); positions already ignored stay
    ignored, so this can only remove tokens from the loss, never add them back."""
    out = labels.clone()
    out[goldfish_mask(labels, k=k, h=h)] = ignore_index
    return out

"""An Apertus-architecture decoder in one file.

Decoder-only transformer, no biases anywhere, pre-norm RMSNorm, QK-norm (RMSNorm over each head's q and
k), RoPE with theta 500,000, grouped-query attention, a non-gated MLP (up -> xIELU -> down) and untied
input embedding / output head. Attention takes document ids so packed sequences get a block-diagonal
causal mask: a token sees only earlier tokens of its own document.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .configs import ModelConfig


def _inverse_softplus(y: float) -> float:
    """x with softplus(x) = y, i.e. log(exp(y) - 1), written with expm1 for small y."""
    return math.log(math.expm1(y))


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.rms_norm(x, (x.shape[-1],), self.weight, self.eps)


class XIELU(nn.Module):
    """xIELU with trainable alpha_p, alpha_n (one pair per layer):

    x > 0:  a_p * x^2 + beta * x
    x <= 0: a_n * (exp(x) - 1) - a_n * x + beta * x
    with a_p = softplus(p), a_n = beta + softplus(n), beta = 0.5; p and n start where a_p = a_n = init.
    """

    def __init__(self, init: float = 0.8, beta: float = 0.5):
        super().__init__()
        self.beta = beta
        self.alpha_p = nn.Parameter(torch.tensor([_inverse_softplus(init)]))
        self.alpha_n = nn.Parameter(torch.tensor([_inverse_softplus(init - beta)]))

    def coefficients(self) -> tuple[torch.Tensor, torch.Tensor]:
        return F.softplus(self.alpha_p), self.beta + F.softplus(self.alpha_n)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a_p, a_n = self.coefficients()
        a_p, a_n = a_p.to(x.dtype), a_n.to(x.dtype)
        # clamp before expm1 so the unused branch cannot overflow to inf (inf * 0 = nan in backward)
        neg = a_n * torch.expm1(x.clamp(max=0)) - a_n * x
        pos = a_p * x * x
        return torch.where(x > 0, pos, neg) + self.beta * x


def rope_cos_sin(position_ids: torch.Tensor, head_dim: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin tables [B, T, head_dim] for (possibly per-row reset) position ids [B, T], in float32."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, device=position_ids.device, dtype=torch.float32) / head_dim))
    angles = position_ids.to(torch.float32)[..., None] * inv_freq
    angles = torch.cat([angles, angles], dim=-1)
    return angles.cos(), angles.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate-half RoPE on x [B, T, heads, head_dim]."""
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    cos, sin = cos[:, :, None, :].to(x.dtype), sin[:, :, None, :].to(x.dtype)
    return x * cos + rotated * sin


def document_causal_mask(doc_ids: torch.Tensor) -> torch.Tensor:
    """Boolean attention mask [B, 1, T, T] (True = may attend): causal and within the same document."""
    length = doc_ids.shape[-1]
    causal = torch.ones(length, length, dtype=torch.bool, device=doc_ids.device).tril()
    same_doc = doc_ids[:, :, None] == doc_ids[:, None, :]
    return (same_doc & causal)[:, None]


class Attention(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.n_heads, self.n_kv, self.head_dim = cfg.n_heads, cfg.n_kv_heads, cfg.head_dim
        self.wq = nn.Linear(cfg.d_model, cfg.n_heads * cfg.head_dim, bias=False)
        self.wk = nn.Linear(cfg.d_model, cfg.n_kv_heads * cfg.head_dim, bias=False)
        self.wv = nn.Linear(cfg.d_model, cfg.n_kv_heads * cfg.head_dim, bias=False)
        self.wo = nn.Linear(cfg.n_heads * cfg.head_dim, cfg.d_model, bias=False)
        self.q_norm = RMSNorm(cfg.head_dim, cfg.norm_eps)
        self.k_norm = RMSNorm(cfg.head_dim, cfg.norm_eps)

    def forward(self, x, cos, sin, mask):
        b, t, _ = x.shape
        q = self.q_norm(self.wq(x).view(b, t, self.n_heads, self.head_dim))
        k = self.k_norm(self.wk(x).view(b, t, self.n_kv, self.head_dim))
        v = self.wv(x).view(b, t, self.n_kv, self.head_dim)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        q, k, v = (z.transpose(1, 2) for z in (q, k, v))
        if self.n_kv != self.n_heads:  # GQA: each KV head serves n_heads / n_kv query heads
            rep = self.n_heads // self.n_kv
            k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=mask is None)
        return self.wo(out.transpose(1, 2).reshape(b, t, -1))


class MLP(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.up = nn.Linear(cfg.d_model, cfg.ffn_dim, bias=False)
        self.act = XIELU()
        self.down = nn.Linear(cfg.ffn_dim, cfg.d_model, bias=False)

    def forward(self, x):
        return self.down(self.act(self.up(x)))


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.attn_norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.attn = Attention(cfg)
        self.mlp_norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.mlp = MLP(cfg)

    def forward(self, x, cos, sin, mask):
        x = x + self.attn(self.attn_norm(x), cos, sin, mask)
        return x + self.mlp(self.mlp_norm(x))


class Decoder(nn.Module):
    """The language model: ``forward(input_ids, position_ids=None, doc_ids=None) -> logits [B, T, V]``."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.layers = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """Normal(0, init_std) weights; residual output projections scaled by 1/sqrt(2 * n_layers)."""
        std = self.cfg.init_std
        for name, p in self.named_parameters():
            if p.dim() == 2:
                scale = 1 / math.sqrt(2 * self.cfg.n_layers) if name.endswith(("wo.weight", "down.weight")) else 1.0
                nn.init.normal_(p, mean=0.0, std=std * scale)

    def forward(self, input_ids: torch.Tensor, position_ids: torch.Tensor | None = None,
                doc_ids: torch.Tensor | None = None) -> torch.Tensor:
        b, t = input_ids.shape
        if position_ids is None:
            position_ids = torch.arange(t, device=input_ids.device).expand(b, t)
        # one document per row needs no explicit mask: SDPA's is_causal path is the fast one
        mask = None
        if doc_ids is not None and bool((doc_ids != doc_ids[:, :1]).any()):
            mask = document_causal_mask(doc_ids)
        cos, sin = rope_cos_sin(position_ids, self.cfg.head_dim, self.cfg.rope_theta)
        x = self.embed(input_ids)
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        return self.head(self.norm(x))

    @torch.no_grad()
    def generate_greedy(self, prefix: torch.Tensor, n_new: int) -> torch.Tensor:
        """Greedy continuation of a 1-D prefix by n_new tokens (no KV cache: for tests and small checks)."""
        seq = prefix.clone()
        for _ in range(n_new):
            logits = self(seq[None])[0, -1]
            seq = torch.cat([seq, logits.argmax().view(1)])
        return seq[prefix.numel():]


def flops_per_token(cfg: ModelConfig, seq_len: int) -> float:
    """Training FLOPs per token (forward + backward), PaLM-style: 6 * matmul params + attention scores.

    The input embedding is a lookup, not a matmul, so it is left out; the output head is counted."""
    n_matmul = cfg.n_params - cfg.vocab_size * cfg.d_model
    return 6.0 * n_matmul + 12.0 * cfg.n_layers * cfg.d_model * seq_len

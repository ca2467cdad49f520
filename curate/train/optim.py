"""AdEMAMix (Pagliardini et al., 2024) with its alpha / beta3 warm-ups, AdamW, and the WSD schedule."""
from __future__ import annotations

import math

import torch
from torch import nn


def alpha_schedule(step: int, alpha: float, warmup: int) -> float:
    """Linear warm-up of AdEMAMix's alpha from 0 to ``alpha`` over ``warmup`` steps."""
    if warmup <= 0:
        return alpha
    return min(step * alpha / warmup, alpha)


def beta3_schedule(step: int, beta_start: float, beta_end: float, warmup: int) -> float:
    """AdEMAMix's beta3 warm-up: interpolate linearly in the EMA's half-life-like quantity 1/log(beta)
    from beta_start (= beta1) to beta_end, so the slow EMA's memory grows smoothly."""
    if warmup <= 0 or step >= warmup:
        return beta_end
    frac = step / warmup
    log_start, log_end = math.log(beta_start), math.log(beta_end)
    value = math.exp(log_start * log_end / ((1 - frac) * log_end + frac * log_start))
    return min(value, beta_end)


class AdEMAMix(torch.optim.Optimizer):
    """AdEMAMix: Adam's fast EMA m1 plus a slow EMA m2 (beta3) mixed in with weight alpha.

    update = (m1_hat + alpha_t * m2) / (sqrt(nu_hat) + eps);  p -= lr * (update + weight_decay * p).
    m2 is not bias-corrected (as in the paper). ``warmup`` is the alpha/beta3 warm-up length T_{alpha,beta3}
    in steps (the paper sets it to the run length); 0 disables the warm-ups.
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float, float] = (0.9, 0.999, 0.9999),
                 alpha: float = 8.0, warmup: int = 0, eps: float = 1e-8, weight_decay: float = 0.0):
        if not 0 <= betas[0] < 1 or not 0 <= betas[1] < 1 or not 0 <= betas[2] < 1:
            raise ValueError(f"betas must be in [0, 1): {betas}")
        defaults = dict(lr=lr, betas=betas, alpha=alpha, warmup=warmup, eps=eps, weight_decay=weight_decay)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            b1, b2, b3_final = group["betas"]
            lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["m1"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["m2"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["nu"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["step"] += 1
                t = state["step"]
                alpha = alpha_schedule(t, group["alpha"], group["warmup"])
                b3 = beta3_schedule(t, b1, b3_final, group["warmup"])
                grad = p.grad
                m1, m2, nu = state["m1"], state["m2"], state["nu"]
                m1.lerp_(grad, 1 - b1)
                m2.lerp_(grad, 1 - b3)
                nu.mul_(b2).addcmul_(grad, grad, value=1 - b2)
                denom = (nu / (1 - b2**t)).sqrt_().add_(eps)
                update = (m1 / (1 - b1**t)).add_(m2, alpha=alpha).div_(denom)
                if wd:
                    p.mul_(1 - lr * wd)
                p.add_(update, alpha=-lr)
        return loss


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on matrices only; norms' gains and xIELU's alphas (1-D) are not decayed."""
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def build_optimizer(name: str, model: nn.Module, lr: float, weight_decay: float, total_steps: int,
                    device_type: str = "cpu") -> torch.optim.Optimizer:
    """``ademamix`` (Apertus: betas 0.9/0.999/0.9999, alpha 8, warm-ups over the run) or ``adamw``."""
    groups = param_groups(model, weight_decay)
    if name == "ademamix":
        return AdEMAMix(groups, lr=lr, betas=(0.9, 0.999, 0.9999), alpha=8.0, warmup=total_steps)
    if name == "adamw":
        fused = device_type == "cuda"
        return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.95), eps=1e-8, fused=fused)
    raise ValueError(f"unknown optimizer {name!r}; choose ademamix or adamw")


def wsd_lr(step: int, total: int, peak: float, warmup: int, cooldown: int, min_ratio: float = 0.1) -> float:
    """Warmup-stable-decay: linear warm-up to ``peak``, constant, then a 1-sqrt cool-down over the last
    ``cooldown`` steps to ``min_ratio * peak``. ``step`` counts from 0 (the lr used for step+1)."""
    if warmup > 0 and step < warmup:
        return peak * (step + 1) / warmup
    decay_start = total - cooldown
    if cooldown <= 0 or step < decay_start:
        return peak
    progress = min(1.0, (step - decay_start + 1) / cooldown)
    return peak * (min_ratio + (1 - min_ratio) * (1 - math.sqrt(progress)))

"""Model and run presets. ``tiny`` is for CPU tests; ``125m`` and ``1b`` are GPU shapes.

Sizes name the transformer body in the usual way (GPT-3 small / Llama-3.2-1B-like shapes); with the
131,072-token vocabulary and untied embeddings, the two embedding matrices add 2*131072*d parameters
(``ModelConfig.n_params`` counts everything)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

VOCAB_SIZE = 131_072
BOS_ID = 1
EOD_ID = 2


@dataclass(frozen=True)
class ModelConfig:
    """Shape of the Apertus-architecture decoder."""

    vocab_size: int = VOCAB_SIZE
    d_model: int = 64
    n_layers: int = 2
    n_heads: int = 4
    n_kv_heads: int = 2
    ffn_dim: int = 256
    rope_theta: float = 500_000.0
    norm_eps: float = 1e-5
    init_std: float = 0.02

    def __post_init__(self) -> None:
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model {self.d_model} is not divisible by n_heads {self.n_heads}")
        if self.n_heads % self.n_kv_heads:
            raise ValueError(f"n_heads {self.n_heads} is not divisible by n_kv_heads {self.n_kv_heads}")
        if (self.d_model // self.n_heads) % 2:
            raise ValueError("head dimension must be even for RoPE")

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    @property
    def n_params(self) -> int:
        """Exact parameter count of :class:`curate.train.model.Decoder` with this config."""
        d, hd = self.d_model, self.head_dim
        attn = d * d * 2 + 2 * d * self.n_kv_heads * hd + 2 * hd  # q, o, k, v, q/k norms
        mlp = 2 * d * self.ffn_dim + 2  # up, down, xIELU alphas
        layer = attn + mlp + 2 * d  # two pre-norms
        return self.n_layers * layer + 2 * self.vocab_size * d + d

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Preset:
    """A model shape plus the run defaults that suit it."""

    model: ModelConfig
    seq_len: int
    batch_size: int  # global batch, in sequences
    lr: float
    warmup_steps: int = 0  # 0 = 10% of the run (at least 1 step)


PRESETS: dict[str, Preset] = {
    "tiny": Preset(ModelConfig(), seq_len=64, batch_size=8, lr=3e-3),
    "125m": Preset(
        ModelConfig(d_model=768, n_layers=12, n_heads=12, n_kv_heads=4, ffn_dim=3072),
        seq_len=2048, batch_size=16, lr=6e-4,
    ),
    "1b": Preset(
        ModelConfig(d_model=2048, n_layers=16, n_heads=32, n_kv_heads=8, ffn_dim=8192),
        seq_len=2048, batch_size=8, lr=3e-4,
    ),
}


def get_preset(name: str, **model_overrides) -> Preset:
    """Look up a preset by name, optionally overriding model fields (e.g. ``vocab_size`` in tests)."""
    if name not in PRESETS:
        raise ValueError(f"unknown config {name!r}; choose one of {sorted(PRESETS)}")
    preset = PRESETS[name]
    if model_overrides:
        unknown = set(model_overrides) - set(ModelConfig.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown model config keys: {sorted(unknown)}")
        preset = replace(preset, model=replace(preset.model, **model_overrides))
    return preset

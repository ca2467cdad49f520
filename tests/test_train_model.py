"""The Apertus-architecture decoder: document masking, position reset, xIELU, shapes, optimizer pieces."""
import math

import pytest

torch = pytest.importorskip("torch")

from curate.train.configs import PRESETS, ModelConfig, get_preset  # noqa: E402
from curate.train.model import XIELU, Decoder, document_causal_mask, flops_per_token  # noqa: E402
from curate.train.optim import AdEMAMix, beta3_schedule, wsd_lr  # noqa: E402

CFG = ModelConfig(vocab_size=97, d_model=32, n_layers=2, n_heads=4, n_kv_heads=2, ffn_dim=64)


@pytest.fixture(scope="module")
def model() -> Decoder:
    torch.manual_seed(0)
    m = Decoder(CFG).eval()
    return m


def _pack(*docs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    ids = torch.cat(docs)[None]
    doc_ids = torch.cat([torch.full((len(d),), i) for i, d in enumerate(docs)])[None]
    pos = torch.cat([torch.arange(len(d)) for d in docs])[None]
    return ids, pos, doc_ids


def test_attention_does_not_cross_documents(model):
    g = torch.Generator().manual_seed(1)
    doc_a, doc_b = torch.randint(3, 97, (20,), generator=g), torch.randint(3, 97, (15,), generator=g)
    other_a = torch.randint(3, 97, (20,), generator=g)
    ids, pos, docs = _pack(doc_a, doc_b)
    ids2, _, _ = _pack(other_a, doc_b)
    with torch.no_grad():
        out1 = model(ids, pos, docs)
        out2 = model(ids2, pos, docs)
        alone = model(doc_b[None])  # positions 0.. by default
        leaky = model(ids2, pos, None)  # no document mask: B sees A
    assert not torch.allclose(out1[0, :20], out2[0, :20])
    torch.testing.assert_close(out1[0, 20:], out2[0, 20:], rtol=1e-5, atol=1e-5)
    # B packed after A computes what B alone computes (RoPE is relative, so this checks the mask;
    # the loader's position-id reset is tested in test_train_loop.py)
    torch.testing.assert_close(out1[0, 20:], alone[0], rtol=1e-5, atol=1e-5)
    assert not torch.allclose(leaky[0, 20:], out1[0, 20:], atol=1e-4)


def test_document_causal_mask_shape_and_values():
    docs = torch.tensor([[0, 0, 1, 1, 1, 2]])
    m = document_causal_mask(docs)[0, 0]
    assert m.shape == (6, 6)
    assert m[1, 0] and not m[0, 1]  # causal
    assert not m[2, 1] and m[3, 2] and m[4, 2]  # doc 1 does not see doc 0
    assert not m[5, :5].any() and m[5, 5]


def test_xielu_formula_init_and_gradients():
    act = XIELU()
    a_p, a_n = act.coefficients()
    assert a_p.item() == pytest.approx(0.8, abs=1e-6) and a_n.item() == pytest.approx(0.8, abs=1e-6)
    x = torch.tensor([-30.0, -2.0, -0.5, 0.0, 0.5, 3.0, 200.0], requires_grad=True)
    y = act(x)
    expected = [0.8 * (math.exp(v) - 1) - 0.8 * v + 0.5 * v if v <= 0 else 0.8 * v * v + 0.5 * v for v in x.tolist()]
    torch.testing.assert_close(y, torch.tensor(expected), rtol=1e-5, atol=1e-5)
    y.sum().backward()
    assert torch.isfinite(x.grad).all()
    assert act.alpha_p.grad is not None and act.alpha_n.grad is not None
    assert act.alpha_p.grad.abs().item() > 0 and act.alpha_n.grad.abs().item() > 0


def test_architecture_no_bias_qk_norm_gqa_untied():
    m = Decoder(CFG)
    names = dict(m.named_parameters())
    assert not any(n.endswith("bias") for n in names)
    assert "layers.0.attn.q_norm.weight" in names and "layers.0.attn.k_norm.weight" in names
    assert names["layers.0.attn.wk.weight"].shape == (CFG.n_kv_heads * CFG.head_dim, CFG.d_model)
    assert m.embed.weight.data_ptr() != m.head.weight.data_ptr()
    assert "layers.1.mlp.act.alpha_p" in names and not hasattr(m.layers[0].mlp, "gate")
    assert sum(p.numel() for p in m.parameters()) == CFG.n_params


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_param_counts(name):
    cfg = get_preset(name).model
    with torch.device("meta"):
        m = Decoder(cfg)
    assert sum(p.numel() for p in m.parameters()) == cfg.n_params
    assert flops_per_token(cfg, 2048) > 6 * (cfg.n_params - 2 * cfg.vocab_size * cfg.d_model)


def test_config_validation():
    with pytest.raises(ValueError):
        ModelConfig(d_model=64, n_heads=4, n_kv_heads=3)
    with pytest.raises(ValueError):
        get_preset("nope")
    with pytest.raises(ValueError):
        get_preset("tiny", no_such_field=1)


def test_wsd_schedule_shape():
    lrs = [wsd_lr(s, 100, 1.0, warmup=10, cooldown=20) for s in range(100)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert all(v == 1.0 for v in lrs[10:80])
    assert lrs[-1] == pytest.approx(0.1)  # cools down to 0.1 x peak
    mid = wsd_lr(89, 100, 1.0, warmup=10, cooldown=20)  # progress 0.5
    assert mid == pytest.approx(0.1 + 0.9 * (1 - math.sqrt(0.5)))
    assert all(a >= b for a, b in zip(lrs[80:], lrs[81:]))


def test_beta3_warmup_endpoints():
    assert beta3_schedule(0, 0.9, 0.9999, 100) == pytest.approx(0.9)
    assert beta3_schedule(100, 0.9, 0.9999, 100) == pytest.approx(0.9999)
    vals = [beta3_schedule(t, 0.9, 0.9999, 100) for t in range(101)]
    assert all(a <= b for a, b in zip(vals, vals[1:]))


def test_ademamix_matches_hand_computation():
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = AdEMAMix([p], lr=0.1, betas=(0.9, 0.999, 0.9999), alpha=8.0, warmup=0, weight_decay=0.0)
    grads = [torch.tensor([0.5, -1.0]), torch.tensor([0.2, 0.3])]
    m1 = m2 = nu = torch.zeros(2)
    ref = torch.tensor([1.0, -2.0])
    for t, g in enumerate(grads, start=1):
        p.grad = g.clone()
        opt.step()
        m1 = 0.9 * m1 + 0.1 * g
        m2 = 0.9999 * m2 + 0.0001 * g
        nu = 0.999 * nu + 0.001 * g * g
        ref = ref - 0.1 * (m1 / (1 - 0.9**t) + 8.0 * m2) / ((nu / (1 - 0.999**t)).sqrt() + 1e-8)
    torch.testing.assert_close(p.detach(), ref)

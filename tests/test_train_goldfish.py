"""Goldfish mask against an independent pure-Python computation of Apertus' hash."""
import pytest

torch = pytest.importorskip("torch")

from curate.train.goldfish import IGNORE_INDEX, apply_goldfish, goldfish_mask  # noqa: E402

TABLE_SIZE = 1_000_003
SEED = 2971215073


@pytest.fixture(scope="module")
def table() -> list[float]:
    g = torch.Generator(device="cpu")
    g.manual_seed(SEED)
    return torch.rand(TABLE_SIZE, generator=g).tolist()


def wrap_int64(x: int) -> int:
    """Python int -> the int64 two's-complement value it wraps to."""
    x &= (1 << 64) - 1
    return x - (1 << 64) if x >= (1 << 63) else x


def reference_mask(labels: list[int], table: list[float], k: int, h: int) -> list[bool]:
    out = []
    for t in range(len(labels)):
        if t < h - 1:
            out.append(False)
            continue
        prod = 1
        for x in labels[t - h + 1 : t + 1]:
            prod = wrap_int64(prod * x)
        key = prod % TABLE_SIZE  # Python: floor modulo, non-negative for a positive divisor
        out.append(table[key] < 1.0 / k)
    return out


def test_table_is_the_documented_draw(table):
    assert len(table) == TABLE_SIZE
    assert 0.0 <= min(table[:1000]) and max(table[:1000]) < 1.0


@pytest.mark.parametrize("k,h", [(50, 50), (4, 3), (2, 5), (10, 1)])
def test_matches_pure_python_on_random_labels(table, k, h):
    g = torch.Generator().manual_seed(k * 100 + h)
    labels = torch.randint(0, 131_072, (3, 400), generator=g)
    got = goldfish_mask(labels, k=k, h=h)
    for row in range(labels.shape[0]):
        assert got[row].tolist() == reference_mask(labels[row].tolist(), table, k, h)


def test_overflowing_and_negative_products(table):
    """Large ids make the 50-long product overflow int64 many times; check the wrapped value really goes
    negative somewhere, so the non-negative modulo is exercised."""
    big = [131_071, 131_069, 99_991, 2**31 - 1, 65_537, 3]
    labels = [big[(i * 7 + i // 3) % len(big)] for i in range(300)]
    negatives = 0
    for t in range(2, len(labels)):
        prod = 1
        for x in labels[t - 2 : t + 1]:
            prod = wrap_int64(prod * x)
        negatives += prod < 0
    assert negatives > 0
    for k, h in [(2, 3), (3, 50), (50, 50)]:
        got = goldfish_mask(torch.tensor(labels), k=k, h=h).tolist()
        assert got == reference_mask(labels, table, k, h)
    # negative ids (e.g. ignore-index values in the window) are hashed as numbers, like the reference
    with_neg = [(-100 if i % 11 == 0 else x) for i, x in enumerate(labels)]
    assert goldfish_mask(torch.tensor(with_neg), k=2, h=4).tolist() == reference_mask(with_neg, table, 2, 4)


def test_first_h_minus_1_never_dropped():
    labels = torch.randint(3, 1000, (4, 200), generator=torch.Generator().manual_seed(1))
    mask = goldfish_mask(labels, k=1, h=13)  # k=1: every full window is dropped (table < 1.0)
    assert not mask[:, :12].any()
    assert mask[:, 12:].all()
    assert not goldfish_mask(labels[:, :5], k=1, h=13).any()  # rows shorter than h: nothing dropped


def test_same_hgram_same_decision_anywhere():
    g = torch.Generator().manual_seed(2)
    grams = torch.randint(3, 131_072, (30, 6), generator=g)
    filler = torch.randint(3, 131_072, (500,), generator=g)
    ref = goldfish_mask(grams, k=2, h=6)[:, -1]
    assert ref.any() and not ref.all()
    for offset in (6, 37, 250):
        for i, gram in enumerate(grams):
            seq = filler.clone()
            seq[offset - 5 : offset + 1] = gram
            assert goldfish_mask(seq, k=2, h=6)[offset] == ref[i]


@pytest.mark.parametrize("k,h", [(4, 5), (50, 13), (4, 50), (50, 50)])
def test_drop_rate_is_about_one_over_k(k, h):
    labels = torch.randint(3, 131_072, (8, 5000), generator=torch.Generator().manual_seed(k + h))
    mask = goldfish_mask(labels, k=k, h=h)[:, h - 1 :]
    nonzero = labels.unfold(1, h, 1).prod(-1) != 0
    rate = mask[nonzero].float().mean().item()
    assert abs(rate - 1 / k) < 0.2 / k


def test_products_wrapping_to_zero_share_key_zero(table):
    """A property of the reference hash: a window whose ids hold >= 64 factors of two has an int64 product
    of 0, so all such windows share table[0] (0.2337...): never dropped at k=50, always at k=4. With h=50
    this is several percent of windows of random ids."""
    labels = torch.randint(3, 131_072, (8, 5000), generator=torch.Generator().manual_seed(9))
    zero = labels.unfold(1, 50, 1).prod(-1) == 0
    assert 0.02 < zero.float().mean().item() < 0.2
    for k in (4, 50):
        mask = goldfish_mask(labels, k=k, h=50)[:, 49:]
        assert (mask[zero] == (table[0] < 1 / k)).all()
    assert table[0] > 1 / 50 and table[0] < 1 / 4


def test_1d_and_2d_agree_and_k_h_matter():
    labels = torch.randint(3, 131_072, (2, 300), generator=torch.Generator().manual_seed(3))
    both = goldfish_mask(labels, k=4, h=8)
    assert torch.equal(goldfish_mask(labels[1], k=4, h=8), both[1])
    assert not torch.equal(both, goldfish_mask(labels, k=4, h=9))
    assert not torch.equal(both, goldfish_mask(labels, k=3, h=8))


def test_apply_goldfish_never_unmasks_ignored_labels():
    labels = torch.randint(3, 131_072, (2, 300), generator=torch.Generator().manual_seed(4))
    labels[:, ::7] = IGNORE_INDEX
    out = apply_goldfish(labels, k=3, h=4)
    dropped = goldfish_mask(labels, k=3, h=4)
    assert (out[labels == IGNORE_INDEX] == IGNORE_INDEX).all()
    assert (out[dropped] == IGNORE_INDEX).all()
    kept = ~dropped & (labels != IGNORE_INDEX)
    assert torch.equal(out[kept], labels[kept])
    assert dropped.any()


def test_bad_input_is_rejected():
    with pytest.raises(ValueError):
        goldfish_mask(torch.zeros(10, dtype=torch.long), k=0)
    with pytest.raises(TypeError):
        goldfish_mask(torch.zeros(10), k=4)
    with pytest.raises(ValueError):
        goldfish_mask(torch.zeros(2, 3, 4, dtype=torch.long))

"""Training stage end to end on tiny shards: packing, blending, loss, resume, Goldfish memorisation, DDP."""
import json
import os
import socket
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402

from curate.megatron import IndexedWriter  # noqa: E402
from curate.train.cli import train as train_cmd  # noqa: E402
from curate.train.data import PackedLoader, parse_shard_spec  # noqa: E402
from curate.train.loop import TrainArgs, latest_checkpoint, load_model, train  # noqa: E402

TEXT = (
    "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of "
    "foolishness, it was the epoch of belief, it was the epoch of incredulity. "
)


def write_shards(directory: Path, docs: list[list[int]], n_files: int = 2) -> Path:
    """docs (bodies without <s>/</s>) into n_files shard pairs under directory."""
    directory.mkdir(parents=True, exist_ok=True)
    per = -(-len(docs) // n_files)
    for f in range(n_files):
        w = IndexedWriter(directory / f"part_{f:02d}")
        for body in docs[f * per : (f + 1) * per]:
            w.add([1, *body, 2])
        w.close()
    return directory


def byte_docs(n: int) -> list[list[int]]:
    return [[b + 3 for b in (TEXT[i % 7 * 10 :] + TEXT * (1 + i % 2)).encode()] for i in range(n)]


def tiny_args(shards, out, **kw) -> TrainArgs:
    base = dict(shards=[(str(shards), 1.0)], out=str(out), steps=8, config="tiny", seq_len=32, batch_size=4,
                model_overrides={"vocab_size": 260}, goldfish_k=4, goldfish_h=8)
    base.update(kw)
    return TrainArgs(**base)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models run faster on one intra-op thread (and the DDP test forks two processes)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def text_shards(tmp_path_factory) -> Path:
    return write_shards(tmp_path_factory.mktemp("text") / "shards", byte_docs(12))


# ---------------------------------------------------------------- data


def test_packing_is_the_shuffled_concatenation(tmp_path):
    rng = np.random.default_rng(0)
    docs = [list(rng.integers(3, 200, rng.integers(0, 40))) for _ in range(25)]
    shards = write_shards(tmp_path / "s", docs, n_files=3)
    loader = PackedLoader([(str(shards), 1.0)], seq_len=16, global_batch=3, seed=7)
    order = loader.streams[0].order(0)
    stream = np.concatenate([[1, *docs[d], 2] for d in order])
    seen_inputs = []
    for _ in range(3):
        b = loader.next_batch()
        for row in range(3):
            ids, lab = b["input_ids"][row].numpy(), b["labels"][row].numpy()
            assert np.array_equal(ids[1:], lab[:-1])  # labels are inputs shifted by one
            seen_inputs.append(ids)
            # loss masked exactly where the input token is </s> (the cross-document prediction)
            assert np.array_equal(b["loss_mask"][row].numpy(), ids != 2)
            # document ids step up right after each </s>; positions restart at 0 there
            docs_row, pos = b["doc_ids"][row].numpy(), b["position_ids"][row].numpy()
            starts = np.r_[True, ids[:-1] == 2]
            assert np.array_equal(docs_row, np.cumsum(starts) - 1)
            assert np.all(pos[starts] == 0) and np.all(pos[~starts] == pos[np.flatnonzero(~starts) - 1] + 1)
    assert np.array_equal(np.concatenate(seen_inputs), stream[: 9 * 16])
    # another seed, another document order
    other = PackedLoader([(str(shards), 1.0)], seq_len=16, global_batch=3, seed=8)
    assert not np.array_equal(other.streams[0].order(0), order)


def test_epochs_wrap_and_reshuffle(tmp_path):
    shards = write_shards(tmp_path / "s", [[5] * 3, [6] * 4, [7] * 5], n_files=1)  # 18 tokens
    loader = PackedLoader([(str(shards), 1.0)], seq_len=9, global_batch=1, seed=0)
    tokens = [loader.next_batch()["input_ids"][0].tolist() for _ in range(6)]  # 3 epochs
    flat = sum(tokens, [])
    for e in range(3):
        epoch = flat[e * 18 : (e + 1) * 18]
        assert sorted(epoch) == sorted([1, 5, 5, 5, 2, 1, 6, 6, 6, 6, 2, 1, 7, 7, 7, 7, 7, 2])


def test_blend_follows_weights_and_ranks_slice_the_batch(tmp_path):
    a = write_shards(tmp_path / "a", [[10] * 50 for _ in range(4)])
    b = write_shards(tmp_path / "b", [[20] * 50 for _ in range(4)])
    srcs = [(str(a), 3.0), (str(b), 1.0)]
    full = PackedLoader(srcs, seq_len=8, global_batch=8, seed=1)
    batches = [full.next_batch() for _ in range(4)]
    from_a = sum(int((bt["input_ids"][:, 1:] == 10).any(1).sum()) for bt in batches)
    assert from_a == 24  # exactly 3:1 of 32 samples
    for rank in range(2):
        part = PackedLoader(srcs, seq_len=8, global_batch=8, seed=1, rank=rank, world_size=2)
        for bt in batches:
            mine = part.next_batch()
            assert torch.equal(mine["input_ids"], bt["input_ids"][rank * 4 : (rank + 1) * 4])
    with pytest.raises(ValueError):
        PackedLoader(srcs, seq_len=8, global_batch=7, world_size=2)


def test_shard_spec_parsing(tmp_path):
    assert parse_shard_spec("/x/y:2.5") == ("/x/y", 2.5)
    assert parse_shard_spec("/x/y") == ("/x/y", 1.0)
    assert parse_shard_spec("C:/data") == ("C:/data", 1.0)
    with pytest.raises(ValueError):
        parse_shard_spec("/x:0")
    with pytest.raises(FileNotFoundError):
        PackedLoader([(str(tmp_path), 1.0)], seq_len=8, global_batch=1)


# ---------------------------------------------------------------- training


def test_loss_falls_and_outputs_are_written(text_shards, tmp_path):
    run_dir = text_shards.parent
    (run_dir / "run.json").write_text(json.dumps({"run_id": "run-abc"}))
    res = train(tiny_args(text_shards, tmp_path / "out", steps=40, warmup_steps=4))
    first, last = np.mean([res.losses[s] for s in (1, 2, 3)]), np.mean([res.losses[s] for s in (38, 39, 40)])
    assert last < first - 1.5, (first, last)
    rows = [json.loads(line) for line in (tmp_path / "out" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(1, 41))
    assert rows[-1]["tokens_seen"] == 40 * 4 * 32 and rows[0]["tokens_per_s"] > 0
    assert rows[-1]["lr"] == pytest.approx(0.1 * 3e-3)  # WSD ends at 0.1 x peak
    lineage = json.loads((tmp_path / "out" / "train.json").read_text())
    files = lineage["sources"][0]["files"]
    assert len(files) == 4 and all(len(f["sha256"]) == 64 for f in files)
    assert lineage["sources"][0]["run"]["run_id"] == "run-abc"
    assert lineage["config"]["goldfish_k"] == 4 and lineage["model"]["vocab_size"] == 260
    assert lineage["code_revision"]


def test_resume_continues_the_same_run(text_shards, tmp_path):
    full = train(tiny_args(text_shards, tmp_path / "full", steps=10))
    part = train(tiny_args(text_shards, tmp_path / "part", steps=10, stop_at=4))
    assert latest_checkpoint(tmp_path / "part").name == "step_00000004.pt"
    with pytest.raises(FileExistsError):
        train(tiny_args(text_shards, tmp_path / "part", steps=10))
    with pytest.raises(ValueError, match="goldfish"):
        train(tiny_args(text_shards, tmp_path / "part", steps=10, resume=True, goldfish=False))
    rest = train(tiny_args(text_shards, tmp_path / "part", steps=10, resume=True))
    assert sorted(rest.losses) == list(range(5, 11))
    for step in range(1, 5):
        assert part.losses[step] == full.losses[step]
    for step in range(5, 11):
        assert rest.losses[step] == full.losses[step], step
    for a, b in zip(full.model.parameters(), rest.model.parameters()):
        assert torch.equal(a, b)
    steps = [json.loads(x)["step"] for x in (tmp_path / "part" / "metrics.jsonl").read_text().splitlines()]
    assert steps == list(range(1, 11))


def test_tokens_outside_vocab_are_a_clear_error(text_shards, tmp_path):
    with pytest.raises(ValueError, match="outside the model vocabulary"):
        train(tiny_args(text_shards, tmp_path / "o", steps=1, model_overrides={"vocab_size": 100}))


def test_cli_trains_with_blend(text_shards, tmp_path):
    other = write_shards(tmp_path / "other", byte_docs(4)[::-1], n_files=1)
    result = CliRunner().invoke(train_cmd, [
        "--shards", str(text_shards), "--shards", f"{other}:0.5", "--steps", "3", "--out", str(tmp_path / "o"),
        "--seq-len", "16", "--batch-size", "2", "--vocab-size", "260", "--optimizer", "adamw", "--no-goldfish",
    ])
    assert result.exit_code == 0, result.output
    lineage = json.loads((tmp_path / "o" / "train.json").read_text())
    assert [s["weight"] for s in lineage["sources"]] == [1.0, 0.5]
    assert lineage["config"]["goldfish"] is False and lineage["config"]["optimizer"] == "adamw"
    bad = CliRunner().invoke(train_cmd, ["--shards", str(tmp_path / "none"), "--steps", "1", "--out", str(tmp_path / "x")])
    assert bad.exit_code != 0 and "does not exist" in bad.output


# ---------------------------------------------------------------- Goldfish memorisation


def _memorised_fraction(model, docs, prefix_len: int) -> float:
    """Fraction of continuation tokens greedy decoding reproduces verbatim, over all documents."""
    hit = total = 0
    for body in docs:
        full = torch.tensor([1, *body])
        cont = model.generate_greedy(full[:prefix_len], len(full) - prefix_len)
        hit += int((cont == full[prefix_len:]).sum())
        total += len(full) - prefix_len
    return hit / total


def test_goldfish_reduces_verbatim_memorisation(tmp_path):
    rng = np.random.default_rng(3)
    docs = [list(rng.integers(3, 67, 48)) for _ in range(4)]
    shards = write_shards(tmp_path / "mem", docs, n_files=1)
    scores = {}
    for goldfish in (False, True):
        res = train(TrainArgs(
            shards=[(str(shards), 1.0)], out=str(tmp_path / f"gf{goldfish}"), steps=80, config="tiny",
            seq_len=64, batch_size=4, lr=1e-2, warmup_steps=10, grad_clip=1.0, weight_decay=0.0,
            goldfish=goldfish, goldfish_k=4, goldfish_h=4, model_overrides={"vocab_size": 67},
        ))
        scores[goldfish] = _memorised_fraction(res.model.eval(), docs, prefix_len=8)
    assert scores[False] > 0.9, scores
    assert scores[True] < scores[False] - 0.4, scores


# ---------------------------------------------------------------- DDP


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, args: TrainArgs, result_file: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    res = train(args)
    if rank == 0:
        Path(result_file).write_text(json.dumps(res.losses))
    torch.distributed.destroy_process_group()


def test_ddp_matches_single_process(text_shards, tmp_path):
    single = train(tiny_args(text_shards, tmp_path / "one", steps=5, batch_size=4))
    result_file = tmp_path / "ddp.json"
    args = tiny_args(text_shards, tmp_path / "two", steps=5, batch_size=4)
    # fork: the children inherit the imported torch (spawn would re-import it, ~10 s on a loaded machine)
    torch.multiprocessing.start_processes(_ddp_worker, args=(2, _free_port(), args, str(result_file)), nprocs=2,
                                          join=True, start_method="fork")
    ddp = {int(k): v for k, v in json.loads(result_file.read_text()).items()}
    assert sorted(ddp) == sorted(single.losses)
    np.testing.assert_allclose([ddp[s] for s in sorted(ddp)], [single.losses[s] for s in sorted(ddp)], rtol=1e-5)
    ddp_model = load_model(latest_checkpoint(tmp_path / "two"))
    for a, b in zip(single.model.parameters(), ddp_model.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------- demo shards (fixture from conftest)


def test_trains_on_demo_shards(demo_run, tmp_path):
    """The bundled demo's tekken-tokenized shards train with the full 131,072 vocabulary."""
    run_dir = Path(demo_run)
    res = train(TrainArgs(shards=[(str(run_dir / "shards"), 1.0)], out=str(tmp_path / "demo"), steps=10,
                          config="tiny", seq_len=64, batch_size=4, warmup_steps=1, lr=1e-2))
    first, last = np.mean([res.losses[s] for s in (1, 2, 3)]), np.mean([res.losses[s] for s in (8, 9, 10)])
    assert last < first - 0.8, res.losses
    lineage = json.loads((tmp_path / "demo" / "train.json").read_text())
    run_json = json.loads((run_dir / "run.json").read_text())
    assert lineage["sources"][0]["run"]["run_id"] == run_json["run_id"]
    assert run_json["run_id"] in lineage["sources"][0]["run"]["manifest_run_ids"]
    assert any(f["path"].endswith(".parquet") for f in lineage["sources"][0]["files"])

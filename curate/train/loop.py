"""The training loop: data -> model -> masked (EoD + Goldfish) loss -> clipped optimizer step, with
checkpoints that resume exactly, ``metrics.jsonl`` and a ``train.json`` lineage record.

Distributed: under torchrun (WORLD_SIZE > 1) every rank joins a process group (gloo on CPU, nccl on
CUDA), builds the same model from the same seed, and takes its slice of each global batch. The loss is
normalised by the token count of the *global* batch, so DDP's gradient average equals the gradient of
one process on the whole batch.

Loss mask per position = the loader's EoD mask (see data.py) AND NOT goldfish_mask(labels): Goldfish hashes
the packed row's labels as they are (windows may span a document boundary, as when Apertus applies it to
Megatron's packed labels), and can only remove positions from the loss, never restore masked ones.
"""
from __future__ import annotations

import contextlib
import json
import os
import random
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

from curate.checksum import sha256_file

from .configs import ModelConfig, get_preset
from .data import PackedLoader, discover_shards
from .goldfish import goldfish_mask
from .model import Decoder
from .optim import build_optimizer, wsd_lr

CKPT_DIR = "checkpoints"


@dataclass
class TrainArgs:
    """Everything a run depends on. ``shards`` is a list of (directory, weight)."""

    shards: list[tuple[str, float]]
    out: str
    steps: int
    config: str = "tiny"
    device: str = "cpu"
    seq_len: int | None = None  # None = the preset's
    batch_size: int | None = None  # global batch in sequences; None = the preset's
    lr: float | None = None
    warmup_steps: int | None = None  # None = 10% of the run (at least 1)
    cooldown_frac: float = 0.2  # last 20% of the steps: 1-sqrt decay
    min_lr_ratio: float = 0.1
    weight_decay: float = 0.1
    grad_clip: float = 0.1  # Apertus; 0 disables
    optimizer: str = "ademamix"
    goldfish: bool = True
    goldfish_k: int = 50
    goldfish_h: int = 50
    seed: int = 0
    resume: bool = False
    ckpt_every: int = 0  # 0 = only at the end (and at stop_at)
    checkpoint: bool = True  # False: write no checkpoints at all (benchmarks)
    stop_at: int | None = None  # stop after this step (simulates an interrupted run)
    log_every: int = 1
    model_overrides: dict = field(default_factory=dict)  # e.g. {"vocab_size": 512} for tests


@dataclass
class TrainResult:
    losses: dict[int, float]  # step -> global mean loss over kept tokens
    last_step: int
    out: Path
    model: Decoder


# ---------------------------------------------------------------- distributed


def init_distributed(device: str) -> tuple[int, int, torch.device]:
    """(rank, world_size, device); joins a process group from torchrun's env vars when WORLD_SIZE > 1."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda requested but CUDA is not available")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be cpu or cuda, got {device!r}")
    if device == "cuda":
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local_rank)
        dev = torch.device("cuda", local_rank)
    else:
        dev = torch.device("cpu")
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device == "cuda" else "gloo", init_method="env://",
                                rank=rank, world_size=world)
    return rank, world, dev


def _all_reduce(t: torch.Tensor) -> torch.Tensor:
    if dist.is_initialized() and dist.get_world_size() > 1:
        dist.all_reduce(t)
    return t


# ---------------------------------------------------------------- lineage


def code_revision() -> str:
    """``git rev-parse HEAD`` of the source tree (``+dirty`` when modified), else the package version."""
    here = Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=10)
        if head.returncode == 0:
            dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                                   capture_output=True, text=True, timeout=10)
            return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        pass
    from .. import __version__

    return f"curate {__version__}"


def _run_info(shard_dir: Path) -> dict | None:
    """run.json (and the manifests' run ids) of the curate run that wrote these shards, if found:
    ``shard_dir`` itself or up to two levels above (a run directory keeps shards under ``shards/``)."""
    for candidate in [shard_dir, *list(shard_dir.resolve().parents)[:2]]:
        run_json = candidate / "run.json"
        if not run_json.is_file():
            continue
        info: dict = {"run_json": str(run_json), "run_json_sha256": sha256_file(run_json)}
        try:
            info["run_id"] = json.loads(run_json.read_text()).get("run_id")
        except (json.JSONDecodeError, AttributeError) as exc:
            info["error"] = f"unreadable run.json: {exc}"
        manifests = candidate / "manifests"
        if manifests.is_dir():
            info["manifests"] = str(manifests)
            info["manifest_run_ids"] = _manifest_run_ids(manifests)
        return info
    return None


def _manifest_run_ids(manifests: Path) -> list[str]:
    files = sorted(manifests.rglob("*.parquet"))
    if not files:
        return []
    try:
        import pyarrow.parquet as pq
    except ImportError:  # lineage still records run.json
        return []
    ids: set[str] = set()
    for f in files:
        schema = pq.read_schema(f)
        if "run_id" in schema.names:
            ids.update(str(v) for v in pq.read_table(f, columns=["run_id"]).column("run_id").unique().to_pylist())
    return sorted(ids)


def lineage(args: TrainArgs, model_cfg: ModelConfig, seq_len: int, batch: int, lr: float) -> dict:
    """The ``train.json`` record: shard files with sha256, producing runs, config, code revision."""
    sources = []
    for directory, weight in args.shards:
        files = []
        for prefix in discover_shards(directory):
            for suffix in (".bin", ".idx", ".parquet"):
                p = prefix.with_suffix(suffix)
                if p.exists():
                    files.append({"path": str(p), "bytes": p.stat().st_size, "sha256": sha256_file(p)})
        sources.append({"dir": str(directory), "weight": weight, "files": files, "run": _run_info(Path(directory))})
    return {
        "sources": sources,
        "config": {**asdict(args), "seq_len": seq_len, "batch_size": batch, "lr": lr},
        "model": model_cfg.to_dict(),
        "n_params": model_cfg.n_params,
        "code_revision": code_revision(),
        "torch": torch.__version__,
    }


# ---------------------------------------------------------------- checkpoints


def _rng_state() -> dict:
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def latest_checkpoint(out: Path) -> Path | None:
    ckpts = sorted((out / CKPT_DIR).glob("step_*.pt"))
    return ckpts[-1] if ckpts else None


def save_checkpoint(out: Path, step: int, model, optimizer, loader: PackedLoader, args: TrainArgs,
                    model_cfg: ModelConfig) -> Path:
    """Atomic write of everything needed to continue exactly: weights, optimizer, step, data, RNGs."""
    path = out / CKPT_DIR / f"step_{step:08d}.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".pt.tmp")
    torch.save({
        "step": step, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
        "data": loader.state_dict(), "rng": _rng_state(), "args": asdict(args), "model_cfg": model_cfg.to_dict(),
    }, tmp)
    os.replace(tmp, path)
    return path


_RESUME_MUST_MATCH = ("config", "optimizer", "goldfish", "goldfish_k", "goldfish_h", "seed", "model_overrides")


def load_model(checkpoint: str | Path, device: str = "cpu") -> Decoder:
    """A trained :class:`Decoder` from a checkpoint file."""
    ckpt = torch.load(checkpoint, map_location=device, weights_only=False)
    model = Decoder(ModelConfig(**ckpt["model_cfg"])).to(device)
    model.load_state_dict(ckpt["model"])
    return model


# ---------------------------------------------------------------- the loop


def _append_metrics(path: Path, record: dict) -> None:
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")


def _trim_metrics(path: Path, last_step: int) -> None:
    """On resume, forget metrics logged after the checkpoint (they will be logged again)."""
    if path.exists():
        keep = [line for line in path.read_text().splitlines() if line and json.loads(line)["step"] <= last_step]
        path.write_text("".join(line + "\n" for line in keep))


def train(args: TrainArgs) -> TrainResult:
    """Run (or resume) a training run; returns the logged losses and the trained model."""
    if args.steps < 1:
        raise ValueError("steps must be >= 1")
    preset = get_preset(args.config, **args.model_overrides)
    model_cfg = preset.model
    seq_len = args.seq_len or preset.seq_len
    batch = args.batch_size or preset.batch_size
    peak_lr = args.lr if args.lr is not None else preset.lr
    warmup = args.warmup_steps
    if warmup is None:
        warmup = preset.warmup_steps or max(1, args.steps // 10)
    cooldown = int(round(args.cooldown_frac * args.steps))
    out = Path(args.out)

    rank, world, device = init_distributed(args.device)
    is_main = rank == 0
    loader = PackedLoader(args.shards, seq_len, batch, seed=args.seed, rank=rank, world_size=world)

    torch.manual_seed(args.seed)
    with device:  # initialise in place: a 1B model is slow to initialise on CPU and copy over
        model = Decoder(model_cfg)
    optimizer = build_optimizer(args.optimizer, model, peak_lr, args.weight_decay, args.steps, device.type)

    start = 0
    ckpt_path = latest_checkpoint(out)
    if ckpt_path is not None and not args.resume:
        raise FileExistsError(f"{out} already holds checkpoints; pass --resume to continue or choose a new --out")
    if args.resume and ckpt_path is not None:
        ckpt = torch.load(ckpt_path, map_location=device, weights_only=False)
        for key in _RESUME_MUST_MATCH:
            if ckpt["args"].get(key) != getattr(args, key):
                raise ValueError(f"cannot resume from {ckpt_path}: {key} was {ckpt['args'].get(key)!r}, "
                                 f"now {getattr(args, key)!r}")
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        loader.load_state_dict(ckpt["data"])
        _set_rng_state(ckpt["rng"])
        start = int(ckpt["step"])
        if is_main:
            print(f"resumed from {ckpt_path} at step {start}", flush=True)
    elif args.resume and is_main:
        print(f"--resume: no checkpoint under {out / CKPT_DIR}, starting fresh", flush=True)

    metrics = out / "metrics.jsonl"
    if is_main:
        out.mkdir(parents=True, exist_ok=True)
        record = lineage(args, model_cfg, seq_len, batch, peak_lr)
        prev = out / "train.json"
        if start and prev.exists():
            old = {f["path"]: f["sha256"] for s in json.loads(prev.read_text())["sources"] for f in s["files"]}
            new = {f["path"]: f["sha256"] for s in record["sources"] for f in s["files"]}
            if old != new:
                raise ValueError("cannot resume: the shard files changed since the checkpoint (see train.json)")
        (out / "train.json").write_text(json.dumps(record, indent=2))
        if start:
            _trim_metrics(metrics, start)
        elif metrics.exists():
            metrics.unlink()

    ddp_model = model
    if world > 1:
        ddp_model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)
    autocast = (torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext())
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True

    stop = min(args.steps, args.stop_at) if args.stop_at else args.steps
    losses: dict[int, float] = {}
    tokens_per_step = batch * seq_len
    model.train()
    for step in range(start, stop):
        t0 = time.perf_counter()
        lr = wsd_lr(step, args.steps, peak_lr, warmup, cooldown, args.min_lr_ratio)
        for group in optimizer.param_groups:
            group["lr"] = lr
        cpu_batch = loader.next_batch()
        top = int(max(cpu_batch["input_ids"].max(), cpu_batch["labels"].max()))
        if top >= model_cfg.vocab_size:
            raise ValueError(f"token id {top} in the shards is outside the model vocabulary ({model_cfg.vocab_size})")
        b = {k: v.to(device, non_blocking=True) for k, v in cpu_batch.items()}
        keep = b["loss_mask"]
        if args.goldfish:
            keep = keep & ~goldfish_mask(b["labels"], k=args.goldfish_k, h=args.goldfish_h)
        with autocast:
            logits = ddp_model(b["input_ids"], b["position_ids"], b["doc_ids"])
        token_loss = F.cross_entropy(logits.float().flatten(0, 1), b["labels"].flatten(), reduction="none")
        local_sum = (token_loss * keep.flatten()).sum()
        counts = _all_reduce(torch.stack([keep.sum().to(torch.float64), local_sum.detach().to(torch.float64)]))
        n_kept = counts[0].clamp(min=1)
        # DDP averages gradients over ranks, so scale by world: the mean equals sum_global / n_kept
        (local_sum * (world / n_kept.to(local_sum.dtype))).backward()
        grad_norm = (torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip) if args.grad_clip > 0
                     else torch.zeros(()))
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        loss = float(counts[1] / n_kept)
        if device.type == "cuda":
            torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        done = step + 1
        losses[done] = loss
        if is_main and (done % args.log_every == 0 or done == stop):
            _append_metrics(metrics, {
                "step": done, "loss": loss, "lr": lr, "tokens_per_s": tokens_per_step / dt,
                "tokens_seen": done * tokens_per_step, "loss_tokens": int(counts[0]),
                "grad_norm": float(grad_norm), "step_time_s": dt,
            })
        if is_main and args.checkpoint and ((args.ckpt_every and done % args.ckpt_every == 0) or done == stop):
            save_checkpoint(out, done, model, optimizer, loader, args, model_cfg)
    if world > 1:
        dist.barrier()
    return TrainResult(losses=losses, last_step=stop, out=out, model=model)

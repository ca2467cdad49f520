"""GPU training throughput of curate.train: tokens/s, MFU and peak memory for the 125m and 1b presets,
Goldfish off (the baseline) and on, on synthetic shards.

    .venv/bin/python bench/bench_train_gpu.py            # one H100/H200, well under five minutes
    .venv/bin/python bench/bench_train_gpu.py --quick    # fewer timed steps
    .venv/bin/python bench/bench_train_gpu.py --smoke    # CPU, tiny preset: checks the script runs

Each case runs the real training loop (``curate.train.loop.train``, checkpoints off) for a few warm-up
steps plus timed steps; tokens/s is the median over the timed steps (each step ends with a device
synchronisation). MFU = tokens/s * training FLOPs per token / peak, with the dense bf16 peak of an
H100 SXM and of an H200 (both 989 TFLOP/s). Writes bench/results/train_gpu_<card>.md (not in --smoke).
"""
from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from curate.megatron import IndexedWriter  # noqa: E402
from curate.train.configs import get_preset  # noqa: E402
from curate.train.loop import TrainArgs, train  # noqa: E402
from curate.train.model import flops_per_token  # noqa: E402

PEAK_BF16_FLOPS = {"h100": 989e12, "h200": 989e12}


def card_name() -> str:
    if not torch.cuda.is_available():
        return "cpu"
    name = torch.cuda.get_device_name().lower()
    for card in PEAK_BF16_FLOPS:
        if card in name:
            return card
    return "".join(c if c.isalnum() else "_" for c in name)


def synthetic_shards(directory: Path, n_tokens: int, vocab: int, seed: int = 0) -> Path:
    """Random documents (<s> + 100..3000 random ids + </s>) totalling about n_tokens."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    writer = IndexedWriter(directory / "synthetic")
    written = 0
    while written < n_tokens:
        body = rng.integers(3, vocab, int(rng.integers(100, 3000)), dtype=np.int64)
        writer.add(np.concatenate([[1], body, [2]]))
        written += body.size + 2
    writer.close()
    return directory


def run_case(shards: Path, work: Path, config: str, goldfish: bool, seq_len: int, batch: int, warmup: int,
             timed: int, device: str, vocab: int | None) -> dict:
    out = work / f"{config}_{'gf' if goldfish else 'plain'}"
    if device == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    args = TrainArgs(shards=[(str(shards), 1.0)], out=str(out), steps=warmup + timed, config=config, device=device,
                     seq_len=seq_len, batch_size=batch, goldfish=goldfish, checkpoint=False, warmup_steps=1,
                     model_overrides={"vocab_size": vocab} if vocab else {})
    result = train(args)
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    tps = statistics.median(r["tokens_per_s"] for r in rows[warmup:])
    cfg = get_preset(config, **({"vocab_size": vocab} if vocab else {})).model
    peak_mem = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else float("nan")
    del result
    gc.collect()
    return {"config": config, "goldfish": goldfish, "tokens_per_s": tps, "params": cfg.n_params,
            "flops_per_token": flops_per_token(cfg, seq_len), "peak_mem_gib": peak_mem,
            "final_loss": rows[-1]["loss"], "batch": batch, "seq_len": seq_len}


def table(rows: list[dict], card: str) -> str:
    peak = PEAK_BF16_FLOPS.get(card)
    lines = [
        "| config | params | batch x seq | Goldfish | tokens/s (median) | vs off | MFU | peak mem GiB |",
        "|---|---:|---:|---|---:|---:|---:|---:|",
    ]
    base = {r["config"]: r["tokens_per_s"] for r in rows if not r["goldfish"]}
    for r in rows:
        mfu = f"{100 * r['tokens_per_s'] * r['flops_per_token'] / peak:.1f}%" if peak else "n/a"
        ratio = r["tokens_per_s"] / base[r["config"]]
        lines.append(f"| {r['config']} | {r['params'] / 1e6:.0f}M | {r['batch']} x {r['seq_len']} | "
                     f"{'on (k=50,h=50)' if r['goldfish'] else 'off'} | {r['tokens_per_s']:,.0f} | {ratio:.3f} | "
                     f"{mfu} | {r['peak_mem_gib']:.1f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smoke", action="store_true", help="CPU, tiny preset, a few steps")
    ap.add_argument("--quick", action="store_true", help="fewer timed steps")
    ap.add_argument("--configs", default="125m,1b")
    ap.add_argument("--seq-len", type=int, default=2048)
    ap.add_argument("--batch", default="125m=8,1b=4", help="per-config global batch, e.g. 125m=8,1b=4")
    args = ap.parse_args()

    if args.smoke:
        device, configs, seq_len, batches, warmup, timed, vocab = "cpu", ["tiny"], 64, {"tiny": 4}, 1, 3, 4096
    else:
        if not torch.cuda.is_available():
            sys.exit("no CUDA device: run with --smoke on CPU")
        device, configs, seq_len, vocab = "cuda", args.configs.split(","), args.seq_len, None
        batches = {k: int(v) for k, v in (kv.split("=") for kv in args.batch.split(","))}
        warmup, timed = (2, 5) if args.quick else (3, 10)
    card = card_name()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        need = max(batches[c] for c in configs) * seq_len * (warmup + timed + 1)
        shards = synthetic_shards(Path(tmp) / "shards", need, vocab or 131_072)
        for config in configs:
            for goldfish in (False, True):
                rows.append(run_case(shards, Path(tmp), config, goldfish, seq_len, batches[config], warmup, timed,
                                     device, vocab))
                r = rows[-1]
                print(f"{config} goldfish={goldfish}: {r['tokens_per_s']:,.0f} tokens/s, loss {r['final_loss']:.3f}",
                      flush=True)
    report = (f"# curate.train throughput on {card}\n\ntorch {torch.__version__}; {warmup} warm-up + {timed} timed steps; "
              f"{'bf16 autocast' if device == 'cuda' else 'fp32 (CPU smoke)'}, SDPA with document masks, AdEMAMix.\n\n{table(rows, card)}\n")
    print(report)
    if not args.smoke:
        dest = ROOT / "bench" / "results" / f"train_gpu_{card}.md"
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(report)
        print(f"wrote {dest}")


if __name__ == "__main__":
    main()

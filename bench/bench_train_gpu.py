"""Training throughput of curate.train: tokens/s, MFU and peak memory per preset, for three arms run on the
same model, optimizer and batches: Goldfish off (the baseline), Goldfish on, and Goldfish on without
document masking.

    .venv/bin/python bench/bench_train_gpu.py                       # one H100/H200: 125m and 1b at 4096
    .venv/bin/python bench/bench_train_gpu.py --configs 125m --no-compile --quick
    .venv/bin/python bench/bench_train_gpu.py --smoke               # CPU, tiny preset: checks the script runs
    .venv/bin/python bench/bench_train_gpu.py --shards RUN/shards   # real shards instead of synthetic ones

The step is curate.train.loop's step (Decoder, EoD loss mask AND NOT goldfish_mask, per-token cross-entropy
normalised by the kept tokens, grad clip 0.1, AdEMAMix by default, bf16 autocast on CUDA), rebuilt here so
that the arms can share one model and alternate: ``--smoke`` checks that its first loss equals what
``curate.train.loop.train`` logs for the same seed and batch.

Fairness: every arm gets the same warm-up steps first (torch.compile compiles there, the allocator and the
caches warm up); then the arms take turns, ``--block`` steps each (default 1: step by step), over
``--repeats`` rounds, the order reversed every other round (A B C C B A ...), so that load from elsewhere
(a shared CPU, clock changes) falls on all arms alike; each step is timed alone between device synchronisations,
and every arm consumes the same pre-built batches. tokens/s = median over an arm's timed steps. Peak memory
is CUDA's max_memory_allocated over an arm's blocks (model, optimizer state and activations together); on
CPU no per-arm figure exists and the table says "n/a (CPU)", with the process peak RSS in the header.

Document masking off = the packed row is one causal sequence (no position reset, SDPA is_causal: the flash
path); on = block-diagonal causal mask (a dense bool mask: SDPA's memory-efficient kernel, not flash).
MFU = tokens/s * curate.train.model.flops_per_token / peak dense bf16 FLOP/s of the card (H100 SXM and
H200: 989e12); the same model FLOPs are counted with and without masking.
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import json
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from curate.megatron import IndexedWriter  # noqa: E402
from curate.train.configs import get_preset  # noqa: E402
from curate.train.data import PackedLoader  # noqa: E402
from curate.train.goldfish import goldfish_mask  # noqa: E402
from curate.train.loop import TrainArgs, train  # noqa: E402
from curate.train.model import Decoder, flops_per_token  # noqa: E402
from curate.train.optim import build_optimizer  # noqa: E402

PEAK_BF16_FLOPS = {"h100": 989e12, "h200": 989e12}
ARMS = {  # name: (goldfish, document masking)
    "goldfish off": (False, True),
    "goldfish on": (True, True),
    "goldfish on + no doc mask": (True, False),
}


def card_name() -> str:
    if not torch.cuda.is_available():
        return "cpu"
    name = torch.cuda.get_device_name().lower()
    for card in PEAK_BF16_FLOPS:
        if card in name:
            return card
    return "".join(c if c.isalnum() else "_" for c in name)


def device_description() -> str:
    if not torch.cuda.is_available():
        return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads)"
    driver = "?"
    with contextlib.suppress(Exception):
        driver = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                capture_output=True, text=True, timeout=20).stdout.strip().splitlines()[0]
    props = torch.cuda.get_device_properties(0)
    return (f"{torch.cuda.get_device_name()} ({props.total_memory / 2**30:.0f} GiB), driver {driver}, "
            f"CUDA {torch.version.cuda}")


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


def sdpa_probe(head_dim: int, device: str) -> dict[str, str]:
    """Which SDPA kernels run for this head size, causal without a mask and with a dense bool mask."""
    if device != "cuda":
        return {"causal": "CPU kernels", "masked": "CPU kernels"}
    from torch.nn.attention import SDPBackend, sdpa_kernel

    q = torch.randn(1, 4, 256, head_dim, device="cuda", dtype=torch.bfloat16)
    mask = torch.ones(256, 256, dtype=torch.bool, device="cuda").tril()[None, None]
    out = {}
    for label, kwargs in (("causal", {"is_causal": True}), ("masked", {"attn_mask": mask})):
        ok = []
        for name, backend in (("flash", SDPBackend.FLASH_ATTENTION), ("efficient", SDPBackend.EFFICIENT_ATTENTION),
                              ("cudnn", getattr(SDPBackend, "CUDNN_ATTENTION", None)), ("math", SDPBackend.MATH)):
            if backend is None:
                continue
            try:
                with sdpa_kernel(backend):
                    F.scaled_dot_product_attention(q, q, q, **kwargs)
                ok.append(name)
            except RuntimeError:
                pass
        out[label] = ", ".join(ok) or "none"
    return out


class Bench:
    """One preset: model + optimizer + fixed batches, and a step that mirrors curate.train.loop.train."""

    def __init__(self, shards: Path, config: str, seq_len: int, batch: int, n_batches: int, device: str,
                 vocab: int | None, compile_model: bool, optimizer: str, seed: int = 0):
        overrides = {"vocab_size": vocab} if vocab else {}
        self.cfg = get_preset(config, **overrides).model
        self.config, self.seq_len, self.batch, self.device = config, seq_len, batch, torch.device(device)
        loader = PackedLoader([(str(shards), 1.0)], seq_len, batch, seed=seed)
        self.batches = [{k: v.to(self.device) for k, v in loader.next_batch().items()} for _ in range(n_batches)]
        top = max(int(b["input_ids"].max()) for b in self.batches)
        if top >= self.cfg.vocab_size:
            raise SystemExit(f"token id {top} in {shards} is outside the {config} vocabulary ({self.cfg.vocab_size})")
        torch.manual_seed(seed)
        with self.device:
            self.model = Decoder(self.cfg)
        self.optimizer = build_optimizer(optimizer, self.model, 1e-4, 0.1, 1000, self.device.type)
        self.forward = torch.compile(self.model) if compile_model else self.model
        self.autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if device == "cuda" else \
            contextlib.nullcontext
        if device == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = True
        self.used = 0

    def loss(self, b: dict, goldfish: bool, doc_mask: bool) -> torch.Tensor:
        keep = b["loss_mask"]
        if goldfish:
            keep = keep & ~goldfish_mask(b["labels"], k=50, h=50)
        with self.autocast():
            if doc_mask:
                logits = self.forward(b["input_ids"], b["position_ids"], b["doc_ids"])
            else:
                logits = self.forward(b["input_ids"])
        token_loss = F.cross_entropy(logits.float().flatten(0, 1), b["labels"].flatten(), reduction="none")
        return (token_loss * keep.flatten()).sum() / keep.sum().clamp(min=1)

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize()

    def step(self, goldfish: bool, doc_mask: bool, index: int) -> tuple[float, float]:
        """One optimizer step on batch `index`; returns (seconds, loss)."""
        b = self.batches[index % len(self.batches)]
        self.sync()
        t0 = time.perf_counter()
        loss = self.loss(b, goldfish, doc_mask)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 0.1)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.sync()
        return time.perf_counter() - t0, float(loss.detach())


def run_config(bench: Bench, arms: list[str], warmup: int, block: int, repeats: int) -> list[dict]:
    cuda = bench.device.type == "cuda"
    times = {a: [] for a in arms}
    peaks = {a: 0 for a in arms}
    losses = {a: float("nan") for a in arms}
    index = {a: 0 for a in arms}  # every arm walks the same batch sequence

    def run_block(arm: str, n: int, timed: bool) -> None:
        goldfish, doc_mask = ARMS[arm]
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        for _ in range(n):
            dt, losses[arm] = bench.step(goldfish, doc_mask, index[arm])
            index[arm] += 1
            if timed:
                times[arm].append(dt)
        if cuda:
            peaks[arm] = max(peaks[arm], torch.cuda.max_memory_allocated())

    for arm in arms:
        t0 = time.perf_counter()
        run_block(arm, warmup, timed=False)
        print(f"  {bench.config} {arm}: warm-up {warmup} steps in {time.perf_counter() - t0:.1f}s", flush=True)
    for r in range(repeats):
        for arm in (arms if r % 2 == 0 else arms[::-1]):
            run_block(arm, block, timed=True)
    tokens = bench.batch * bench.seq_len
    rows = []
    for arm in arms:
        med = statistics.median(times[arm])
        rows.append({"config": bench.config, "arm": arm, "goldfish": ARMS[arm][0], "doc_mask": ARMS[arm][1],
                     "tokens_per_s": tokens / med, "step_s_median": med, "step_s_min": min(times[arm]),
                     "step_s_max": max(times[arm]), "timed_steps": len(times[arm]), "params": bench.cfg.n_params,
                     "flops_per_token": flops_per_token(bench.cfg, bench.seq_len),
                     "peak_mem_gib": peaks[arm] / 2**30 if cuda else None, "last_loss": losses[arm],
                     "batch": bench.batch, "seq_len": bench.seq_len})
    return rows


def check_against_loop(shards: Path, work: Path, config: str, seq_len: int, batch: int, vocab: int | None,
                       device: str, optimizer: str) -> tuple[float, float]:
    """(first loss of this bench's step, first loss logged by curate.train.loop.train), same seed and batch."""
    bench = Bench(shards, config, seq_len, batch, 1, device, vocab, False, optimizer)
    with torch.no_grad():
        mine = float(bench.loss(bench.batches[0], True, True))
    del bench
    args = TrainArgs(shards=[(str(shards), 1.0)], out=str(work / "loop_check"), steps=1, config=config, device=device,
                     seq_len=seq_len, batch_size=batch, goldfish=True, checkpoint=False, warmup_steps=1,
                     optimizer=optimizer, model_overrides={"vocab_size": vocab} if vocab else {})
    return mine, train(args).losses[1]


def fmt_mem(r: dict) -> str:
    return "n/a (CPU)" if r["peak_mem_gib"] is None else f"{r['peak_mem_gib']:.1f}"


def table(rows: list[dict], card: str) -> str:
    peak = PEAK_BF16_FLOPS.get(card)
    lines = [
        "| config | params | batch x seq | arm | tokens/s (median) | vs goldfish off | step s (min-max) | MFU | "
        "peak mem GiB | last loss |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    base = {r["config"]: r["tokens_per_s"] for r in rows if r["arm"] == "goldfish off"}
    for r in rows:
        mfu = f"{100 * r['tokens_per_s'] * r['flops_per_token'] / peak:.1f}%" if peak else "n/a"
        ratio = f"{r['tokens_per_s'] / base[r['config']]:.3f}" if r["config"] in base else "n/a"
        lines.append(f"| {r['config']} | {r['params'] / 1e6:.0f}M | {r['batch']} x {r['seq_len']} | {r['arm']} | "
                     f"{r['tokens_per_s']:,.0f} | {ratio} | {r['step_s_median']:.3f} ({r['step_s_min']:.3f}-"
                     f"{r['step_s_max']:.3f}) | {mfu} | {fmt_mem(r)} | {r['last_loss']:.3f} |")
    by = {(r["config"], r["arm"]): r["tokens_per_s"] for r in rows}
    lines.append("")
    for config in dict.fromkeys(r["config"] for r in rows):
        off, on = by.get((config, "goldfish off")), by.get((config, "goldfish on"))
        nodoc = by.get((config, "goldfish on + no doc mask"))
        if off and on:
            lines.append(f"- {config}: Goldfish overhead {100 * (off / on - 1):+.1f}% step time (target <= 2%)")
        if on and nodoc:
            lines.append(f"- {config}: document masking costs {100 * (nodoc / on - 1):+.1f}% step time "
                         f"(masked vs unmasked, Goldfish on in both)")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smoke", action="store_true", help="CPU, tiny preset, seq 64: checks the script runs")
    ap.add_argument("--quick", action="store_true", help="fewer rounds (4) and warm-up steps (2)")
    ap.add_argument("--configs", default="125m,1b")
    ap.add_argument("--seq-len", type=int, default=4096)
    ap.add_argument("--batch", default="125m=8,1b=4,tiny=4", help="per-config global batch, e.g. 125m=8,1b=4")
    ap.add_argument("--vocab", type=int, default=None, help="override the vocabulary size (tiny runs)")
    ap.add_argument("--device", default=None, help="cuda (default when available) or cpu")
    ap.add_argument("--compile", dest="compile", action="store_true", default=None, help="torch.compile the model")
    ap.add_argument("--no-compile", dest="compile", action="store_false")
    ap.add_argument("--optimizer", default="ademamix", choices=["ademamix", "adamw"])
    ap.add_argument("--arms", default=",".join(ARMS), help=f"comma-separated subset of: {', '.join(ARMS)}")
    ap.add_argument("--warmup", type=int, default=3, help="warm-up steps per arm (compilation happens here)")
    ap.add_argument("--block", type=int, default=1, help="steps per turn (1: the arms alternate step by step)")
    ap.add_argument("--repeats", type=int, default=8, help="rounds of turns")
    ap.add_argument("--shards", default=None, help="shard directory or run directory; default: synthetic shards")
    ap.add_argument("--check-loop", action="store_true", help="compare the first loss with curate.train.loop.train")
    ap.add_argument("--out", default=None, help="markdown file to write (default on CUDA: "
                                                "bench/results/train_gpu_<card>.md; none on CPU)")
    ap.add_argument("--json", default=None, help="also write the rows as JSON")
    args = ap.parse_args()

    if args.quick:
        args.warmup, args.repeats = min(args.warmup, 2), min(args.repeats, 4)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        sys.exit("--device cuda: no CUDA device (run with --smoke on CPU)")
    if args.smoke:
        torch.set_num_threads(1)  # on a shared CPU, fewer stalled threads: steadier (still not meaningful) timings
        configs, seq_len, vocab = ["tiny"], 64, args.vocab or 4096
        args.warmup, args.block, args.repeats, args.check_loop = 2, 1, 20, True
    else:
        configs, seq_len, vocab = args.configs.split(","), args.seq_len, args.vocab
    compile_model = args.compile if args.compile is not None else device == "cuda"
    batches = {k: int(v) for k, v in (kv.split("=") for kv in args.batch.split(","))}
    arms = [a.strip() for a in args.arms.split(",")]
    unknown = [a for a in arms if a not in ARMS]
    if unknown:
        sys.exit(f"unknown arm(s) {unknown}; choose from {list(ARMS)}")
    card = card_name() if device == "cuda" else "cpu"
    n_batches = max(2, args.block * 2)
    rows, notes = [], []
    with tempfile.TemporaryDirectory() as tmp:
        if args.shards:
            shards = Path(args.shards)
        else:
            need = max(batches[c] for c in configs) * seq_len * (n_batches + 2)
            shards = synthetic_shards(Path(tmp) / "shards", need, vocab or 131_072)
        for config in configs:
            if args.check_loop:
                mine, loop = check_against_loop(shards, Path(tmp), config, seq_len, batches[config], vocab, device,
                                                args.optimizer)
                agree = abs(mine - loop) <= 1e-4 * max(1.0, abs(loop))
                notes.append(f"{config}: first loss of the bench step {mine:.6f}, curate.train.loop.train "
                             f"{loop:.6f} ({'agree' if agree else 'DISAGREE'})")
                print(notes[-1], flush=True)
                if not agree:
                    sys.exit("the bench step does not compute curate.train's loss: fix bench/bench_train_gpu.py")
            t0 = time.perf_counter()
            bench = Bench(shards, config, seq_len, batches[config], n_batches, device, vocab, compile_model,
                          args.optimizer)
            probe = sdpa_probe(bench.cfg.head_dim, device)
            notes.append(f"{config}: SDPA kernels for head dim {bench.cfg.head_dim}: causal (doc mask off): "
                         f"{probe['causal']}; dense mask (doc mask on): {probe['masked']}")
            rows += run_config(bench, arms, args.warmup, args.block, args.repeats)
            del bench
            gc.collect()
            if device == "cuda":
                torch.cuda.empty_cache()
            print(f"{config}: done in {time.perf_counter() - t0:.1f}s", flush=True)
            for r in rows[-len(arms):]:
                print(f"  {r['arm']}: {r['tokens_per_s']:,.0f} tokens/s, peak {fmt_mem(r)} GiB", flush=True)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
    precision = "bf16 autocast" if device == "cuda" else "fp32"
    rss_note = " (per-arm memory exists on CUDA only)" if device != "cuda" else ""
    if device != "cuda":
        notes.append("CPU: these timings check the harness, not the code's speed; they move with whatever else "
                     "runs on the machine (compare the step min-max spread)")
    report = (f"## curate.train throughput on {card}\n\n"
              f"- device: {device_description()}; torch {torch.__version__}\n"
              f"- command: `{' '.join([Path(sys.executable).name, *sys.argv])}`\n"
              f"- {precision}, torch.compile {'on' if compile_model else 'off'}, optimizer {args.optimizer}, "
              f"{'synthetic shards' if not args.shards else 'shards ' + str(args.shards)}\n"
              f"- {args.warmup} warm-up steps per arm, then {args.repeats} rounds of {args.block}-step turns per "
              f"arm (order reversed every other round); tokens/s from the median step\n"
              f"- process peak RSS {rss:.2f} GiB{rss_note}\n" + "".join(f"- {n}\n" for n in notes)
              + f"\n{table(rows, card)}\n")
    print(report)
    out = args.out or (str(ROOT / "bench" / "results" / f"train_gpu_{card}.md") if device == "cuda" else None)
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(report)
        print(f"wrote {out}")
    if args.json:
        Path(args.json).write_text(json.dumps({"card": card, "rows": rows, "notes": notes}, indent=1))


if __name__ == "__main__":
    main()

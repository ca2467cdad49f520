"""``curate train``: the click command (torch is imported only when the command runs)."""
from __future__ import annotations

import click


@click.command("train")
@click.option("--shards", "shards", multiple=True, required=True,
              help="Shard directory (searched recursively for *.bin/*.idx), optionally DIR:WEIGHT; repeat to blend.")
@click.option("--config", "config", default="tiny", show_default=True, help="Model preset: tiny, 125m, 1b.")
@click.option("--steps", type=click.IntRange(min=1), required=True, help="Total optimizer steps of the run.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Output directory.")
@click.option("--seq-len", type=click.IntRange(min=1), default=None, help="Packed sequence length (default: preset).")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Global batch in sequences (default: preset).")
@click.option("--lr", type=float, default=None, help="Peak learning rate (default: preset).")
@click.option("--warmup-steps", type=click.IntRange(min=0), default=None, help="Default: 10% of --steps.")
@click.option("--cooldown-frac", type=click.FloatRange(0, 1), default=0.2, show_default=True)
@click.option("--grad-clip", type=click.FloatRange(min=0), default=0.1, show_default=True, help="0 disables.")
@click.option("--weight-decay", type=click.FloatRange(min=0), default=0.1, show_default=True)
@click.option("--goldfish-k", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--goldfish-h", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--no-goldfish", is_flag=True, help="Train on every token (no Goldfish loss).")
@click.option("--optimizer", type=click.Choice(["ademamix", "adamw"]), default="ademamix", show_default=True)
@click.option("--resume", is_flag=True, help="Continue from the latest checkpoint under --out.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--ckpt-every", type=click.IntRange(min=0), default=0, show_default=True,
              help="Checkpoint every N steps (0: only at the end).")
@click.option("--vocab-size", type=click.IntRange(min=3), default=None, help="Override the preset's vocabulary.")
@click.option("--report-every", type=click.IntRange(min=0), default=10, show_default=True,
              help="Print step, loss, tokens/s and ETA every N steps (0: only the last; every step is in metrics.jsonl).")
def train(shards, config, steps, device, out, seq_len, batch_size, lr, warmup_steps, cooldown_frac, grad_clip,
          weight_decay, goldfish_k, goldfish_h, no_goldfish, optimizer, resume, seed, ckpt_every, vocab_size,
          report_every):
    """Train an Apertus-architecture decoder (Goldfish loss) on Megatron shards. A curate run directory as
    --shards trains on its merged/ shards when `curate merge` made them, else on its shards/ (never both)."""
    import os

    from .data import parse_shard_spec
    from .loop import TrainArgs
    from .loop import train as run_training

    try:
        sources = [parse_shard_spec(s) for s in shards]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--shards") from exc
    from .data import shard_root

    for directory, _ in sources:
        note = shard_root(directory)[1] if os.path.isdir(directory) else None
        if note and os.environ.get("RANK", "0") == "0":
            click.echo(note, err=True)
    args = TrainArgs(
        shards=sources, out=out, steps=steps, config=config, device=device, seq_len=seq_len,
        batch_size=batch_size, lr=lr, warmup_steps=warmup_steps, cooldown_frac=cooldown_frac,
        weight_decay=weight_decay, grad_clip=grad_clip, optimizer=optimizer, goldfish=not no_goldfish,
        goldfish_k=goldfish_k, goldfish_h=goldfish_h, seed=seed, resume=resume, ckpt_every=ckpt_every,
        model_overrides={"vocab_size": vocab_size} if vocab_size else {},
    )
    reporter = _Reporter(os.path.join(out, "metrics.jsonl"), steps, report_every) \
        if os.environ.get("RANK", "0") == "0" else None
    try:
        if reporter:
            reporter.start()
        result = run_training(args)
    except (ValueError, FileNotFoundError, FileExistsError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        if reporter:
            reporter.stop()
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()
    if result.losses and os.environ.get("RANK", "0") == "0":
        last = max(result.losses)
        click.echo(f"step {last}: loss {result.losses[last]:.4f}; metrics in {result.out / 'metrics.jsonl'}")


class _Reporter:
    """Prints a line every N optimizer steps from the metrics the training loop appends to metrics.jsonl
    (one record a step), polling the file from a thread, so the loop itself stays as it is."""

    def __init__(self, path: str, total: int, every: int, poll_s: float = 0.5):
        import threading

        self.path, self.total, self.every, self.poll_s = path, total, every, poll_s
        self._offset = self._start_size()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._times: list[float] = []

    def _start_size(self) -> int:
        import os

        try:
            return os.path.getsize(self.path)  # a resumed run appends: report only the new steps
        except OSError:
            return 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._read()  # the last steps

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_s):
            self._read()

    def _read(self) -> None:
        import json

        try:
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                data = f.read()
        except OSError:
            return
        end = data.rfind(b"\n") + 1
        self._offset += end
        for line in data[:end].splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            self._times.append(float(rec.get("step_time_s") or 0.0))
            step = int(rec.get("step", 0))
            if (self.every and step % self.every == 0) or step == self.total:
                recent = self._times[-20:]
                eta = (self.total - step) * (sum(recent) / len(recent)) if recent else 0.0
                click.echo(f"step {step}/{self.total} ({100 * step / self.total:.0f}%): loss {rec.get('loss', 0):.4f}, "
                           f"{rec.get('tokens_per_s', 0):,.0f} tokens/s, ETA {_hms(eta)}", err=True)


def _hms(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


if __name__ == "__main__":  # `python -m curate.train.cli ...` (what slurm/train.sbatch runs under torchrun)
    train()

"""Benchmark: CPU time of the optout block with signals [robots] (Apertus) vs all five (issue 14).

Corpus, built in a temporary directory each run (deterministic, seed 14):
- a robots cache of real robots.txt files (../shared/corpora/robots/real, the first --hosts by name), one https
  snapshot each; a quarter of them get a Cloudflare-style ``Content-Signal: search=yes, ai-train=no`` line and
  a tenth a ``Content-Usage`` line (path-scoped or not) in their ``*`` group, as managed robots.txt files do;
- a tdmrep.json row for every host: 10% a real file (``/`` reserved, ``/free/`` not), 90% a 404;
- --docs documents spread over the hosts (paths from generic shapes), a third with page signals as the WARC
  reader keeps them (X-Robots-Tag, tdm-reservation, Content-Usage headers, robots meta).

Each row runs the block as a pipeline does: a fresh `Optout` block (cache load and setup included), then
`process` on every document, timed with `time.process_time()`. Rows take turns within each repeat (which goes
first alternates); medians of --repeats. The ratio and the block's ms/doc are compared with the end-to-end
CPU ms/doc of the full pipeline (--e2e-ms, from bench/results/2026-12-01-pipeline.md).

    .venv/bin/python bench/bench_optout_signals.py                 # 5,000 documents, 3 repeats
    .venv/bin/python bench/bench_optout_signals.py --docs 1000 --repeats 1
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
REAL = Path(os.environ.get("CURATE_SHARED", REPO.parent / "shared")) / "corpora" / "robots" / "real"

from datatrove.data import Document  # noqa: E402

from curate.blocks.base import state  # noqa: E402
from curate.blocks.optout import Optout  # noqa: E402
from curate.robots.cache import RobotsCache, snapshot_from_body  # noqa: E402
from curate.robots.policy import SIGNALS  # noqa: E402

PATHS = ["/", "/news/{n}.html", "/blog/2021/05/post-{n}", "/search?q=x&page={n}", "/free/item-{n}", "/ai-ok/{n}",
         "/private/{n}", "/de/produkte/{n}", "/wp-admin/x{n}.php", "/images/{n}.jpg"]
TDMREP = json.dumps([{"location": "/free/", "tdm-reservation": 0},
                     {"location": "/", "tdm-reservation": 1, "tdm-policy": "https://example.com/policy.json"}])


def _with_signals(body: bytes, rng: random.Random) -> bytes:
    """A managed-robots.txt style edit: signal lines added to the * group (or a new one)."""
    lines = []
    if rng.random() < 0.25:
        lines.append(b"Content-Signal: search=yes, ai-train=no")
    if rng.random() < 0.10:
        lines.append(rng.choice([b"Content-Usage: train-ai=n", b"Content-Usage: /ai-ok/ train-ai=y"]))
    if not lines:
        return body
    marker = b"User-agent: *\n"
    at = body.find(marker)
    block = b"\n".join(lines) + b"\n"
    if at < 0:
        return body + b"\n" + marker + block
    return body[: at + len(marker)] + block + body[at + len(marker):]


def build(root: Path, n_hosts: int, n_docs: int) -> tuple[Path, list[tuple[str, str, dict | None]]]:
    rng = random.Random(14)
    files = sorted(REAL.glob("*.txt"))[:n_hosts]
    if not files:
        raise SystemExit(f"no robots.txt files under {REAL}")
    snaps, hosts = [], []
    for f in files:
        host = f.name[: -len(".txt")].lower()
        try:
            snaps.append(snapshot_from_body("https", host, _with_signals(f.read_bytes(), rng), "2025-01-01",
                                            max_bytes=512000))
        except Exception:  # a file name that is not a host: skip it
            continue
        if rng.random() < 0.10:
            snaps.append(snapshot_from_body("https", host, TDMREP, "2025-01-01", kind="tdmrep"))
        else:
            snaps.append(snapshot_from_body("https", host, b"<html>404</html>", "2025-01-01", status=404,
                                            kind="tdmrep"))
        hosts.append(host)
    cache = root / "cache"
    RobotsCache(cache).append(snaps)
    docs = []
    for i in range(n_docs):
        url = f"https://{rng.choice(hosts)}" + rng.choice(PATHS).format(n=i)
        page = None
        if rng.random() < 1 / 3:
            headers = {"x-robots-tag": [rng.choice(["noarchive", "index, follow", "noai", "GPTBot: noai"])]}
            if rng.random() < 0.2:
                headers["tdm-reservation"] = [rng.choice(["0", "1"])]
            if rng.random() < 0.2:
                headers["content-usage"] = [rng.choice(["train-ai=n", "train-ai=y, search=y"])]
            page = {"headers": headers, "meta": {"robots": [rng.choice(["index", "noimageai", "noarchive"])]},
                    "scanned": 4096}
        docs.append((url, f"CC-MAIN-20{rng.randrange(16, 25)}-10", page))
    return cache, docs


def run_block(cache: Path, docs: list, signals: list[str]) -> tuple[float, float, dict]:
    documents = []
    for i, (url, dump, page) in enumerate(docs):
        meta = {"url": url, "date": dump}
        if page is not None:
            meta["page_signals"] = page
        documents.append(Document(text="x", id=str(i), metadata=meta))
    gc.collect()
    started = time.process_time()
    block = Optout(str(cache), agents="apertus", policy="retroactive", signals=signals)
    block.setup()
    set_up = time.process_time()
    for doc in documents:
        block.process(doc)  # the first document of a host parses its files (memoised by sha256)
    elapsed = time.process_time() - started
    reasons: dict[str, int] = {}
    for doc in documents:
        reason = state(doc)["reason"] or "kept"
        reasons[reason] = reasons.get(reason, 0) + 1
    return elapsed, set_up - started, reasons


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=int, default=5000)
    ap.add_argument("--hosts", type=int, default=400)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--e2e-ms", type=float, default=2.57,
                    help="end-to-end CPU ms/doc of the full pipeline to compare with (pipeline.md run 3: 30.8 s / "
                         "12,000 docs)")
    args = ap.parse_args()
    rows = {"robots": ["robots"], "all five": list(SIGNALS)}
    with tempfile.TemporaryDirectory() as tmp:
        cache, docs = build(Path(tmp), args.hosts, args.docs)
        times: dict[str, list[float]] = {k: [] for k in rows}
        setups: dict[str, list[float]] = {k: [] for k in rows}
        reasons: dict[str, dict] = {}
        for repeat in range(args.repeats):
            order = list(rows) if repeat % 2 == 0 else list(rows)[::-1]
            for name in order:
                elapsed, set_up, reasons[name] = run_block(cache, docs, rows[name])
                times[name].append(elapsed)
                setups[name].append(set_up)
    n = len(docs)
    med = {k: statistics.median(v) for k, v in times.items()}
    ms = {k: 1000 * v / n for k, v in med.items()}
    print(f"corpus: {n:,} documents over {args.hosts} real robots.txt hosts (Content-Signal on ~25%, Content-Usage "
          f"on ~10%, tdmrep.json on 10%, 404 elsewhere), a third with page signals; median of {args.repeats}")
    print()
    print("| signals | CPU s (median) | min | max | of which setup (cache load) | ms/doc | dropped by reason |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name in rows:
        dropped = ", ".join(f"{k} {v}" for k, v in sorted(reasons[name].items()) if k != "kept")
        print(f"| {name} | {med[name]:.3f} | {min(times[name]):.3f} | {max(times[name]):.3f} | "
              f"{statistics.median(setups[name]):.3f} | {ms[name]:.4f} | {dropped} |")
    ratio = med["all five"] / med["robots"]
    added = ms["all five"] - ms["robots"]
    e2e = args.e2e_ms
    share_r = ms["robots"] / e2e
    share_a = ms["all five"] / (e2e + added)
    print()
    print(f"ratio all five / robots: {ratio:.2f}x; added {added:.4f} ms/doc")
    print(f"against {e2e} ms/doc end to end: optout's share {share_r:.2%} -> {share_a:.2%} "
          f"(+{(share_a - share_r) * 100:.2f} percentage points; end-to-end time +{added / e2e:.2%}); "
          f"target: share grows by < 10%: {'met' if added / e2e < 0.10 else 'MISSED'}")
    print(f"against 5.5 ms/doc (the issue's figure): end-to-end time +{added / 5.5:.2%}")


if __name__ == "__main__":
    main()

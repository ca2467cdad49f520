"""Benchmark: curate.license.detect on prose, web pages, code files and full license texts.

Times, in the same run and on the same documents:
  detect      the public entry point (keyword prefilter, then every detector)
  no-filter   the same detectors without the prefilter (baseline: what the prefilter saves)
and prints a markdown table of medians over repeats, documents per second, and the ratio baseline/detect.

Documents: license-free prose from ../shared/corpora (crawl jsonl samples, toxicity CSV comments) when
present, else generated sentences; web pages = prose + a footer (CC link, CC notice, rights reserved or
none); code = generated Python functions under license headers; license texts = choosealicense (if present).

    .venv/bin/python bench/bench_license.py            # 5 repeats
    .venv/bin/python bench/bench_license.py --quick    # 3 repeats, fewer documents
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import statistics
import time
from pathlib import Path
from typing import Callable

from curate.license import detect
from curate.license.detect import _detect_all

REPO = Path(__file__).resolve().parents[1]
CORPORA = Path(os.environ.get("CURATE_SHARED", REPO.parent / "shared")) / "corpora"

WORDS = ("the of and to in a is that for it as was with be by on not he this are or his from at which but "
         "garden recipe market river station council season players museum weather bridge village").split()
FOOTERS = [
    "",
    '<a rel="license" href="https://creativecommons.org/licenses/by-nc-sa/4.0/">CC BY-NC-SA 4.0</a>',
    "This work is licensed under a Creative Commons Attribution 4.0 International License.",
    "© 2024 Example Media. All rights reserved.",
]
HEADERS = [
    "# SPDX-License-Identifier: MIT\n",
    "# Licensed under the Apache License, Version 2.0 (the \"License\");\n",
    "# This program is free software; you can redistribute it and/or modify it under the terms of the GNU\n"
    "# General Public License as published by the Free Software Foundation; either version 2 of the License,\n"
    "# or (at your option) any later version.\n",
    "",
]


def prose(rng: random.Random, limit: int) -> list[str]:
    """License-free prose: corpora samples if present, else generated text."""
    docs: list[str] = []
    jsonl = CORPORA / "crawl/derived_fineweb_schema/cc_en_head_as_fineweb.jsonl"
    if jsonl.exists():
        docs += [json.loads(line)["text"] for line in jsonl.read_text().splitlines()]
        with open(CORPORA / "toxicity/detoxify_dummy_jigsaw/train.csv", newline="", encoding="utf-8") as fh:
            docs += [row["comment_text"] for row in csv.DictReader(fh)]
    while len(docs) < limit:
        docs.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(50, 800))) + ".")
    return docs[:limit]


def code_files(rng: random.Random, n: int) -> list[str]:
    """Generated Python modules, a quarter each with an SPDX line, Apache header, GPL header or nothing."""
    out = []
    for i in range(n):
        n_funcs = rng.randint(5, 60)
        body = "".join(f"def f{j}(x):\n    return x * {j} + {rng.randint(0, 99)}\n\n" for j in range(n_funcs))
        out.append(HEADERS[i % len(HEADERS)] + "import os\n\n" + body)
    return out


def license_texts() -> list[str]:
    folder = CORPORA / "license/choosealicense/_licenses"
    return [p.read_text(encoding="utf-8").split("---\n", 2)[2] for p in sorted(folder.glob("*.txt"))]


def time_it(fn: Callable[[str], object], docs: list[str], repeats: int) -> float:
    """Median seconds over `repeats` passes of `fn` over all docs."""
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        for doc in docs:
            fn(doc)
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 repeats on fewer documents")
    args = parser.parse_args()
    repeats, n = (3, 300) if args.quick else (5, 1000)
    rng = random.Random(0)
    texts = prose(rng, n)
    workloads = {
        "prose (no license)": texts,
        "web pages + footers": [t + "\n" + FOOTERS[i % len(FOOTERS)] for i, t in enumerate(texts)],
        "code files": code_files(rng, n // 2),
        "full license texts": license_texts(),
    }
    detect("warm-up: MIT License")
    print(f"repeats: {repeats} (median)\n")
    print("| workload | docs | MB | detect s | no-filter s (baseline) | detect docs/s | ratio baseline/detect |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, docs in workloads.items():
        if not docs:
            print(f"| {name} | 0 | - | - | - | - | - |")
            continue
        mb = sum(len(d) for d in docs) / 1e6
        ours = time_it(detect, docs, repeats)
        base = time_it(_detect_all, docs, repeats)
        print(f"| {name} | {len(docs)} | {mb:.2f} | {ours:.3f} | {base:.3f} | {len(docs) / ours:,.0f} | "
              f"{base / ours:.1f}x |")


if __name__ == "__main__":
    main()

"""Benchmark: license detection quality and speed, curate against the anchors (licenseclassifier, ScanCode).

1. Accuracy: bench/license_eval.py on the external sets (test split; --quick: dev split), curate and, where
   bench/.venv-anchors exists, licenseclassifier and ScanCode side by side (their answers are cached in
   bench/results/tmp/, so only the first run pays ScanCode's seconds per license text).
2. Speed, CPU ms per document, one process, median over repeats, on real documents only:
     license-free prose 3.5 KB   Universal Dependencies sentences joined to 3.5 KB + crawl documents cut to 3.5 KB
     web pages with footers      the same crawl documents, each ending with one of the two real page footers
                                 found in the crawl samples ("Copyright (c) 2020 | AV Conversion Services | All
                                 Rights Reserved." and "(c) 2014 Canadian Lawyers for International Human Rights")
     code files                  source files of installed packages (the notices_source + neg_code sample)
     full license texts          the full_texts set (choosealicense, licensee, Debian, wheels)
   Each against the no-filter baseline (`len(text)`: reading the text; `text.lower()`: one pass over it) and
   the anchors (run in bench/.venv-anchors in a subprocess; ScanCode on at most 40 documents a row).
   Target from issue 11: <= 0.1 ms per 3.5 KB license-free document.

    .venv/bin/python bench/bench_license.py            # test split, 5 repeats
    .venv/bin/python bench/bench_license.py --quick    # dev split, 3 repeats, fewer documents

3. `--pipeline-corpus`: the license block alone (curate.blocks.license with pipelines/apertus.yaml's options)
   on bench/bench_pipeline.py's corpus (its demo generator, 1,500 documents by default), CPU ms per document,
   median of --repeats passes after one warm-up pass, and `detect_matches` alone on the documents that pass the
   keyword gate (CPU ms per such document); `--profile` adds cProfile's top functions by own time.
   With PYTHONPATH=<an exported older curate> it measures that code on the same corpus.

    .venv/bin/python bench/bench_license.py --pipeline-corpus [--docs 1500] [--repeats 5] [--profile]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import license_eval as ev  # noqa: E402

REPO = HERE.parent
FOOTER_SOURCES = [("crawl/dolma/provided_documents_000.json.gz", 5, "All Rights Reserved"),
                  ("crawl/dolma/provided_documents_000.json.gz", 3, "Canadian Lawyers for International")]
SCANCODE_MAX_DOCS = 20


def workloads(quick: bool) -> dict[str, list[str]]:
    build = ev._load_build()
    items, _ = ev.load_items("all")
    by_set: dict[str, list[str]] = {}
    for it, text in items:
        by_set.setdefault(it["set"], []).append(text)
    crawl = by_set.get("neg_prose", [])
    cut = [doc[i:i + 3500] for doc in crawl for i in range(0, len(doc) - 3000, 3500)]
    prose = by_set.get("neg_prose_ud", []) + cut
    footers = []
    for rel, n, needle in FOOTER_SOURCES:
        try:
            doc = build.jsonl_doc("shared", rel, n)
        except (OSError, IndexError):
            continue
        line = next((ln for ln in doc.splitlines() if needle in ln), None)
        if line:
            footers.append(line)
    web = [doc + "\n" + footers[i % len(footers)] for i, doc in enumerate(cut)] if footers else []
    code = by_set.get("notices_source", []) + by_set.get("neg_code", [])
    if not code:  # the ScanCode sample is absent: any source files of installed packages
        site = build.SITE
        code = [p.read_text(encoding="utf-8", errors="replace")
                for p in sorted(site.glob("*/*.py"))[:400] if p.stat().st_size < 50_000]
    full = by_set.get("full_texts", [])
    n = 120 if quick else 100_000
    return {"license-free prose 3.5 KB": prose[:n], "web pages with footers": web[:n],
            "code files": code[:n], "full license texts": full[:n]}


def time_ms(fn: Callable[[str], object], docs: list[str], repeats: int) -> float:
    """Median over repeats of CPU ms per document."""
    runs = []
    for _ in range(repeats):
        start = time.process_time()
        for doc in docs:
            fn(doc)
        runs.append((time.process_time() - start) * 1000 / len(docs))
    return statistics.median(runs)


def speed_rows(names: list[str], docs: dict[str, list[str]], repeats: int, quick: bool = False) -> dict[str, dict[str, float]]:
    """ms/doc per workload for each named detector available in this interpreter."""
    fns: dict[str, Callable[[str], object]] = {"read (len)": len, "lowercase": str.lower}
    for name in names:
        if name == "curate":
            import importlib

            from curate.license import detect
            fns["curate gate"] = importlib.import_module("curate.license.detect")._prefilter
            fns["curate detect"] = detect
        elif name == "licenseclassifier":
            import licenseclassifier
            fns["licenseclassifier"] = licenseclassifier.identify_license
        elif name == "scancode":
            fns["scancode (full)"] = ev.ScanCode().detect
    out: dict[str, dict[str, float]] = {}
    for wl, texts in docs.items():
        if not texts:
            continue
        out[wl] = {}
        for label, fn in fns.items():
            sample, reps = texts, repeats
            if label.startswith("scancode"):
                sample, reps = texts[:SCANCODE_MAX_DOCS // (4 if quick else 1)], 1
            fn(sample[0])  # warm-up (ScanCode loads its index here)
            out[wl][label] = time_ms(fn, sample, reps)
    return out


def pipeline_corpus(n_docs: int, repeats: int, profile: bool) -> int:
    """The license block alone on bench_pipeline's corpus (see the module docstring, 3.)."""
    import tempfile

    import pyarrow.parquet as pq
    import yaml
    from datatrove.data import Document

    import curate
    from curate.blocks.license import License  # before bench_pipeline, which puts this checkout first on sys.path
    from curate.license import detect_matches
    from curate.license.detect import _prefilter
    from bench_pipeline import build_corpus

    with tempfile.TemporaryDirectory() as tmp:
        build_corpus(Path(tmp), n_docs)
        texts = [t for f in sorted(Path(tmp).glob("*.parquet")) for t in pq.read_table(f).column("text").to_pylist()]
    options = next(b["license"] for b in yaml.safe_load((REPO / "pipelines/apertus.yaml").read_text())["blocks"]
                   if "license" in b)
    block = License(**options)
    block.setup()

    def one_pass() -> float:
        docs = [Document(text=t, id=str(i), metadata={}) for i, t in enumerate(texts)]
        t0 = time.process_time()
        for d in docs:
            block.process(d)
        return time.process_time() - t0

    one_pass()  # warm-up: index load, first-use caches
    times = [one_pass() for _ in range(repeats)]
    per_doc = [t / len(texts) * 1e3 for t in times]
    print(f"curate from {Path(curate.__file__).parent}")
    print(f"{len(texts)} documents, {sum(map(len, texts)) / len(texts) / 1e3:.2f} K chars/doc, "
          f"{sum(map(_prefilter, texts))} pass the keyword gate")
    print(f"license block: {statistics.median(per_doc):.4f} CPU ms/doc (median of {repeats}; "
          f"{' '.join(f'{x:.4f}' for x in per_doc)})")
    gated = [t for t in texts if _prefilter(t)]
    if gated:
        def detect_pass() -> float:
            t0 = time.process_time()
            for t in gated:
                detect_matches(t)
            return time.process_time() - t0

        detect_pass()
        per_gated = [detect_pass() / len(gated) * 1e3 for _ in range(repeats)]
        print(f"detect_matches on the {len(gated)} gate-passing documents: {statistics.median(per_gated):.4f} "
              f"CPU ms/doc (median of {repeats}; {' '.join(f'{x:.4f}' for x in per_gated)})")
    if profile:
        import cProfile
        import pstats

        docs = [Document(text=t, id=str(i), metadata={}) for i, t in enumerate(texts)]
        prof = cProfile.Profile()
        prof.enable()
        for d in docs:
            block.process(d)
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(15)
    return 0


def anchors_available() -> bool:
    return ev.ANCHORS_PY.exists()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="dev split, 3 repeats, fewer documents")
    parser.add_argument("--speed-only", action="store_true")
    parser.add_argument("--accuracy-only", action="store_true")
    parser.add_argument("--no-anchors", action="store_true", help="curate only")
    parser.add_argument("--anchors-speed-json", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--pipeline-corpus", action="store_true",
                        help="the license block alone on bench_pipeline.py's corpus (no shared corpora needed)")
    parser.add_argument("--docs", type=int, default=1500, help="--pipeline-corpus: documents")
    parser.add_argument("--repeats", type=int, default=5, help="--pipeline-corpus: timed passes")
    parser.add_argument("--profile", action="store_true", help="--pipeline-corpus: cProfile top functions")
    args = parser.parse_args()
    if args.pipeline_corpus:
        return pipeline_corpus(args.docs, args.repeats, args.profile)
    repeats = 3 if args.quick else 5
    if not (ev.DATA / "items.json").exists() or not ev.load_items("dev")[0]:
        print("skipped: the external evaluation sets are absent (../shared/corpora missing?)")
        return 0
    if args.anchors_speed_json:  # inside bench/.venv-anchors
        print(json.dumps(speed_rows(["licenseclassifier", "scancode"], workloads(args.quick), repeats, args.quick)))
        return 0
    split = "dev" if args.quick else "test"
    if not args.speed_only:
        print(f"### Accuracy (split {split}; bench/license_eval.py)\n")
        items, problems = ev.load_items(split)
        cur = ev.Curate()
        import curate
        if not str(Path(curate.__file__)).startswith(str(REPO / "curate")):
            cur.version = f"curate from {Path(curate.__file__).parent}"
        print(ev.markdown(cur.name, cur.version, split, ev.evaluate(cur, items, 3), problems))
        print("\nFresh license-free text (bench/license_fresh_negatives.py):")
        sys.stdout.flush()
        subprocess.run([sys.executable, str(HERE / "license_fresh_negatives.py")])
        for name in () if args.no_anchors else ev.ANCHOR_DETECTORS:
            print()
            if name == "scancode" and args.quick:
                print("scancode: accuracy skipped with --quick (seconds per license text; run without --quick, "
                      "its answers are cached after the first run)")
                continue
            if not anchors_available():
                print(f"{name}: skipped (anchors venv absent; install with `bash bench/license_anchors.sh`)")
                continue
            sys.stdout.flush()
            subprocess.run([str(ev.ANCHORS_PY), str(HERE / "license_eval.py"), "--split", split,
                            "--detector", name])
        print()
    if args.accuracy_only:
        return 0
    docs = workloads(args.quick)
    print(f"### Speed (CPU ms/doc, one process, median of {repeats} repeats; ScanCode: first "
          f"{SCANCODE_MAX_DOCS // (4 if args.quick else 1)} docs of each row, 1 pass)\n")
    rows = speed_rows(["curate"], docs, repeats)
    if args.no_anchors:
        print("anchors not run (--no-anchors)\n")
    elif anchors_available():
        out = subprocess.run([str(ev.ANCHORS_PY), str(Path(__file__).resolve()), "--anchors-speed-json",
                              *(["--quick"] if args.quick else [])], capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip():
            for wl, cols in json.loads(out.stdout.strip().splitlines()[-1]).items():
                rows.setdefault(wl, {}).update({k: v for k, v in cols.items() if k not in ("read (len)", "lowercase")})
        else:
            print(f"anchors' speed skipped: {out.stderr.strip()[-300:]}")
    else:
        print("anchors skipped: bench/.venv-anchors absent (install with `bash bench/license_anchors.sh`)\n")
    cols = ["read (len)", "lowercase", "curate gate", "curate detect", "licenseclassifier", "scancode (full)"]
    cols = [c for c in cols if any(c in r for r in rows.values())]
    print("| workload | docs | KB/doc | " + " | ".join(cols) + " |")
    print("|---|---:|---:|" + "---:|" * len(cols))
    for wl, r in rows.items():
        texts = docs[wl]
        kb = sum(len(t) for t in texts) / len(texts) / 1000
        print(f"| {wl} | {len(texts)} | {kb:.1f} | " + " | ".join(
            f"{r[c]:.4f}" if c in r and r[c] < 1 else (f"{r[c]:.1f}" if c in r else "-") for c in cols) + " |")
    prose = rows.get("license-free prose 3.5 KB", {}).get("curate detect")
    if prose is not None:
        import importlib

        gate = importlib.import_module("curate.license.detect")._prefilter
        texts = docs["license-free prose 3.5 KB"]
        passing = sum(map(gate, texts))
        print(f"\n'curate gate' = the keyword gate alone: what a document with no license word costs; "
              f"{passing} of {len(texts)} license-free prose documents pass it ({100 * passing / len(texts):.0f}%: "
              f"'license', 'copyright', 'creative'...) and are read around those words")
        print(f"target <= 0.1 ms per 3.5 KB license-free document (all of them, gate-passing ones included): "
              f"curate {prose:.4f} ms -> {'met' if prose <= 0.1 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Toxicity scorers compared on data none of them was tuned on, and their speed, in one run.

Scorers:
- default: the shipped classifier (curate/data/toxicity/model/toxicity-ft.bin, `make_scorer()`);
- lexicon: the old word-list scorer (`model: lexicon`);
- c4-badwords: the C4 rule, 1 if any LDNOOBW entry for the language occurs as a whole word (substring for
  Chinese), else 0 (lists read in place from ../shared/corpora/toxicity/ldnoobw);
- alt-profanity-check: the PyPI package's English linear SVM (`pip install alt-profanity-check`), applied to
  every language as it is (it is an English model: other languages are shown for completeness only).

Data (all read in place, never copied):
1. the held-out `test` split of ../shared/corpora/toxicity/train/labelled.jsonl.gz (sha256 of the text, see
   curate/toxicity/recipe.py; the default model trained on `train` only, choices were made on `dev`):
   ROC-AUC per language and per source;
2. HateCheck (en) and Multilingual HateCheck (de fr it nl pl es pt zh) samples in
   bench/data/toxicity_eval/hatecheck_<lang>.tsv, an external functional suite used for evaluation only:
   cases with sha256(case_id) below 0.3 are `dev` (looked at while choosing), the rest `test` (reported here):
   hateful vs non-hateful cases, and hateful cases vs clean prose (the held-out `test` split of
   clean_sentences.jsonl.gz in that language; none ships for it and pl);
3. bench/data/toxicity_functional.tsv: a small set WE WROTE (negation, counter-speech, quoted slurs, identity
   terms in neutral sentences, threats without swear words, friendly profanity), mean score per
   functionality, so failure modes are visible. Self-written: not a quality figure;
4. speed: documents per CPU second (time.process_time, median of --repeats runs) on 3.5 KB documents built by
   concatenating held-out test and dev sentences (all languages), each scorer scoring whole documents
   (chunks of 2000 characters, max); the default twice: a fresh scorer per repeat (cold: its token table
   holds the dictionary words only, as in a new worker process) and one that has seen the texts (warm);
   and the default model's load time, CPU seconds of `FastTextToxicityScorer()` in fresh processes (with
   the derived cache under $CURATE_CACHE present, and absent as for the first process on a machine).

ROC-AUC is rank-based with ties averaged (0.5 = chance).
Run: .venv/bin/python bench/bench_toxicity.py [--quick] [--speed-only] [--repeats N] [--profile N] [--before DIR]
         [--corpora PATH] [--out FILE.md]
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from curate.toxicity import FastTextToxicityScorer, chunk_text, lexicon  # noqa: E402
from curate.toxicity import recipe  # noqa: E402

APERTUS = ["en", "zh", "fr", "de", "it", "nl", "pl", "es", "pt"]
HC_DIR = REPO / "bench" / "data" / "toxicity_eval"
FUNCTIONAL = REPO / "bench" / "data" / "toxicity_functional.tsv"
HC_DEV_FRACTION = 0.3


def auc(scores, labels) -> float | None:
    """Mann-Whitney ROC-AUC with average ranks for ties; None without both classes."""
    pairs = sorted(zip(scores, labels))
    n_pos = sum(1 for _, y in pairs if y)
    n_neg = len(pairs) - n_pos
    if not n_pos or not n_neg:
        return None
    rank_sum, i = 0.0, 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        avg = (i + 1 + j) / 2
        rank_sum += avg * sum(1 for k in range(i, j) if pairs[k][1])
        i = j
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def hc_split(case_id: str) -> str:
    u = int.from_bytes(hashlib.sha256(case_id.encode("utf-8")).digest()[:8], "big") / 2**64
    return "dev" if u < HC_DEV_FRACTION else "test"


def load_hatecheck(lang: str, split: str = "test") -> list[dict]:
    path = HC_DIR / f"hatecheck_{lang}.tsv"
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return [r for r in rows if hc_split(r["case_id"]) == split]


class C4BadWords:
    """The C4 rule: any LDNOOBW entry as a whole word (Chinese: substring)."""

    def __init__(self, corpora: Path):
        self.dir = corpora / "toxicity" / "ldnoobw"
        self._re: dict[str, re.Pattern | None] = {}

    def pattern(self, lang: str):
        if lang not in self._re:
            path = self.dir / f"{lang}.txt"
            words = [w.strip().casefold() for w in path.read_text(encoding="utf-8").splitlines() if w.strip()] \
                if path.is_file() else []
            alt = "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))
            self._re[lang] = None if not words else re.compile(alt if lang == "zh" else rf"(?<!\w)(?:{alt})(?!\w)")
        return self._re[lang]

    def score(self, text: str, lang: str) -> float:
        p = self.pattern(lang)
        return 1.0 if p is not None and p.search(text.casefold()) else 0.0


def make_scorers(corpora: Path) -> dict:
    default = FastTextToxicityScorer()
    c4 = C4BadWords(corpora)
    scorers = {"default": lambda texts, langs: [default.score(t, l) for t, l in zip(texts, langs)],
               "lexicon": lambda texts, langs: [lexicon.score_text(t, l) for t, l in zip(texts, langs)],
               "c4-badwords": lambda texts, langs: [c4.score(t, l) for t, l in zip(texts, langs)]}
    try:
        from profanity_check import predict_prob

        scorers["alt-profanity-check"] = lambda texts, langs: [float(x) for x in predict_prob(list(texts))] if texts else []
    except ImportError:
        print("alt-profanity-check is not installed (pip install alt-profanity-check): its column is left out",
              file=sys.stderr)
    return scorers, default


def fmt(x) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def table(header: list[str], rows: list[list]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def bench_heldout(rows, scorers) -> str:
    test = [r for r in rows if r["split"] == "test" and r["file"] == recipe.LABELLED]
    texts, langs, labels = [r["text"] for r in test], [r["lang"] for r in test], [r["label"] for r in test]
    scores = {name: fn(texts, langs) for name, fn in scorers.items()}
    out = []
    for key in ("lang", "source"):
        groups = sorted({r[key] for r in test})
        lines = []
        for g in groups:
            idx = [i for i, r in enumerate(test) if r[key] == g]
            lines.append([g, len(idx), sum(labels[i] for i in idx)] +
                         [fmt(auc([scores[n][i] for i in idx], [labels[i] for i in idx])) for n in scorers])
        lines.append(["all", len(test), sum(labels)] + [fmt(auc(scores[n], labels)) for n in scorers])
        out.append(table([key, "n", "toxic", *scorers], lines))
    return "\n\n".join(out)


def bench_hatecheck(rows, scorers, split: str) -> str:
    clean = {}
    for r in rows:
        if r["split"] == "test" and r["file"] == recipe.CLEAN:
            clean.setdefault(r["lang"], []).append(r["text"])
    lines = []
    worst: dict[str, float] = {}
    for lang in APERTUS:
        if not (HC_DIR / f"hatecheck_{lang}.tsv").is_file():
            lines.append([lang, "missing", "", ""] + ["" for _ in scorers])
            continue
        cases = load_hatecheck(lang, split)
        texts = [c["text"] for c in cases]
        ys = [int(c["label"]) for c in cases]
        prose = clean.get(lang, [])
        row_nh, row_cl = [], []
        for name, fn in scorers.items():
            s = fn(texts, [lang] * len(texts))
            a = auc(s, ys)
            row_nh.append(fmt(a))
            if prose:
                sp = fn(prose, [lang] * len(prose))
                hateful = [x for x, y in zip(s, ys) if y]
                row_cl.append(fmt(auc(hateful + sp, [1] * len(hateful) + [0] * len(sp))))
            else:
                row_cl.append("n/a")
            if name == "default" and a is not None:
                worst[lang] = a
        n_h = sum(ys)
        lines.append([lang, n_h, len(ys) - n_h, len(prose)] + [f"{a} / {b}" for a, b in zip(row_nh, row_cl)])
    head = ["lang", "hateful", "non-hateful", "clean prose", *[f"{n} (vs nh / vs prose)" for n in scorers]]
    low = min(worst, key=worst.get) if worst else None
    note = f"\n\nWorst language for the default (hateful vs non-hateful): {low} {worst[low]:.3f}" if low else ""
    return table(head, lines) + note


def bench_functional(scorers) -> str:
    with open(FUNCTIONAL, newline="", encoding="utf-8") as fh:
        cases = list(csv.DictReader(fh, delimiter="\t"))
    scores = {n: fn([c["text"] for c in cases], [c["lang"] for c in cases]) for n, fn in scorers.items()}
    funcs = sorted({(c["functionality"], c["label"]) for c in cases}, key=lambda f: (-int(f[1]), f[0]))
    lines = []
    for f, lab in funcs:
        idx = [i for i, c in enumerate(cases) if c["functionality"] == f]
        langs = ",".join(sorted({cases[i]["lang"] for i in idx}))
        lines.append([f, "hateful" if lab == "1" else "not", len(idx), langs] +
                     [f"{sum(scores[n][i] for i in idx) / len(idx):.2f}" for n in scorers])
    ys = [int(c["label"]) for c in cases]
    lines.append(["AUC (all cases)", "", len(cases), ""] + [fmt(auc(scores[n], ys)) for n in scorers])
    return table(["functionality (self-written)", "label", "n", "langs", *[f"{n} mean" for n in scorers]], lines)


def speed_docs(rows, n_docs: int, size: int = 3500) -> list[tuple[str, str]]:
    by_lang: dict[str, list[str]] = {}
    for r in rows:
        if r["split"] in ("test", "dev"):  # held-out sentences (speed only: dev is fine here)
            by_lang.setdefault(r["lang"], []).append(r["text"])
    docs = []
    for lang in sorted(by_lang):
        cur = ""
        for t in by_lang[lang]:
            cur += t.replace("\n", " ") + " "
            if len(cur) >= size:
                docs.append((cur[:size], lang))
                cur = ""
    docs.sort(key=lambda d: hashlib.sha256(d[0].encode()).hexdigest())  # mix languages, fixed order
    return docs[:n_docs]


def load_seconds(repeats: int, src: Path = REPO, cache_dir: str | None = None) -> float:
    """Median CPU seconds of `FastTextToxicityScorer()` in fresh processes importing curate from `src` (numpy
    and curate.toxicity imported first: every worker imports them anyway). cache_dir: a $CURATE_CACHE to use
    (None = the usual one), emptied before each process."""
    code = ("import sys, time, numpy; sys.path.insert(0, sys.argv[1]); from curate.toxicity import FastTextToxicityScorer\n"
            "t0 = time.process_time(); FastTextToxicityScorer(); print(time.process_time() - t0)")
    env = dict(os.environ, **({"CURATE_CACHE": cache_dir} if cache_dir else {}))
    runs = []
    for _ in range(repeats):
        if cache_dir:  # absent each time: the first process on a machine derives it (and writes it)
            shutil.rmtree(cache_dir, ignore_errors=True)
        out = subprocess.run([sys.executable, "-c", code, str(src)], env=env, check=True, capture_output=True,
                             text=True).stdout
        runs.append(float(out.split()[-1]))
    return statistics.median(runs)


def import_before(src: Path, tmp: str):
    """The toxicity package of another source tree (e.g. `git archive OLD curate | tar -x -C DIR`), imported
    as `curate_before` (a copy under tmp), so that both versions are timed in this process, repeat by repeat.
    Its relative imports stay inside the copy; its data files are this tree's (the model is the same file)."""
    import importlib

    shutil.copytree(src / "curate", Path(tmp) / "curate_before")
    sys.path.append(tmp)
    return importlib.import_module("curate_before.toxicity")


def bench_speed(rows, scorers, default, n_docs: int, repeats: int = 5, profile: int = 0,
                before: Path | None = None) -> str:
    docs = speed_docs(rows, n_docs)
    texts, langs = [d for d, _ in docs], [lang for _, lang in docs]
    import tempfile

    tmp = tempfile.mkdtemp(prefix="bench-toxicity-")
    versions = {"": FastTextToxicityScorer}
    if before is not None:
        versions[", before"] = import_before(before, tmp).FastTextToxicityScorer

    def batches(scorer):  # in batches of 64, as the block scores them
        for i in range(0, len(texts), 64):
            scorer.score_documents(texts[i:i + 64], langs[i:i + 64], 2000)

    runners = {}
    for tag, cls in versions.items():
        fresh = [cls() for _ in range(repeats)]  # loaded before timing, one per repeat
        warm = cls()
        batches(warm)
        # cold: a fresh scorer each repeat (a new worker process); warm: one that has seen the documents
        runners[f"default{tag} (cold token cache)"] = lambda fresh=fresh: batches(fresh.pop())
        runners[f"default{tag} (warm token cache)"] = lambda warm=warm: batches(warm)
    for name, fn in scorers.items():
        if name == "default":
            continue
        runners[name] = (lambda fn=fn: [max(fn(chunk_text(t, 2000), [lang] * len(chunk_text(t, 2000))))
                                        for t, lang in zip(texts, langs)])
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(repeats):  # repeat by repeat, so that the machine's load hits every row alike
        for name, run in runners.items():
            t0 = time.process_time()
            run()
            times[name].append(time.process_time() - t0)
    lines = []
    for name, ts in times.items():
        lines.append([name, len(texts), f"{len(texts) / statistics.median(ts):,.0f}",
                      f"{len(texts) / max(ts):,.0f} - {len(texts) / min(ts):,.0f}"])
    load_seconds(1)  # makes sure the usual derived cache exists
    loads = [f"{load_seconds(repeats):.3f} with its derived cache present, "
             f"{load_seconds(repeats, cache_dir=os.path.join(tmp, 'cache')):.3f} without (the first process on a "
             f"machine; it writes the cache)"]
    if before is not None:
        loads.append(f"before ({before}): {load_seconds(repeats, before):.3f}")
    shutil.rmtree(tmp, ignore_errors=True)
    t0 = time.process_time()
    x = 0
    for i in range(10_000_000):
        x += i
    ref = time.process_time() - t0
    langs_used = ",".join(sorted(set(langs)))
    out = table(["scorer", "documents (3.5 KB)", f"docs per CPU second (median of {repeats})", "range"], lines) + \
        f"\n\nDefault model load, CPU s per fresh process (median of {repeats}): {'; '.join(loads)}.\n\n" \
        f"Documents: held-out (test and dev) sentences concatenated per language ({langs_used}), 2000-character chunks; " \
        f"cold = a fresh scorer per repeat; rows timed repeat by repeat. CPU reference in the same " \
        f"run: a 10M-iteration Python `x += i` loop took {ref:.2f} CPU s (about 0.4 s on an idle modern core)."
    if profile:
        import cProfile
        import io
        import pstats

        fresh = FastTextToxicityScorer()
        prof = cProfile.Profile()
        prof.enable()
        batches(fresh)
        prof.disable()
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(profile)
        body = buf.getvalue()
        body = body[body.index("   ncalls"):].rstrip() if "   ncalls" in body else body
        out += f"\n\ncProfile of one cold run (fresh scorer), top {profile} by own time:\n\n```\n{body}\n```"
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpora", default=str(REPO.parent / "shared" / "corpora"))
    ap.add_argument("--quick", action="store_true", help="fewer speed documents")
    ap.add_argument("--speed-only", action="store_true", help="only the speed section")
    ap.add_argument("--repeats", type=int, default=5, help="speed repeats (the median is reported; >= 3)")
    ap.add_argument("--profile", type=int, default=0, metavar="N", help="add a cProfile of one cold run (top N lines)")
    ap.add_argument("--before", default=None, metavar="DIR",
                    help="also time the default scorer of this source tree's curate (e.g. an older commit), interleaved")
    ap.add_argument("--split", default="test", choices=["test", "dev"], help="HateCheck split to report")
    ap.add_argument("--out", default=None, help="also write the tables to this markdown file")
    args = ap.parse_args()
    if args.repeats < 3:
        ap.error("--repeats must be >= 3 (medians)")
    corpora = Path(args.corpora)
    rows = recipe.load_rows(corpora / "toxicity" / "train")
    scorers, default = make_scorers(corpora)
    parts = [f"Model: {default.name} sha256 {default.sha256}", ""]
    if not args.speed_only:
        parts += ["## Held-out test split of the shared training data (ROC-AUC)", bench_heldout(rows, scorers), "",
                  f"## HateCheck / Multilingual HateCheck, {args.split} split (ROC-AUC; external, evaluation only)",
                  bench_hatecheck(rows, scorers, args.split), "",
                  "## Self-written functional set (mean score per functionality; NOT a quality figure)",
                  bench_functional(scorers), ""]
    parts += ["## Speed", bench_speed(rows, scorers, default, 300 if args.quick else 1500, args.repeats, args.profile,
                                             Path(args.before).resolve() if args.before else None)]
    text = "\n".join(parts) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()

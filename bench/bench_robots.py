"""Benchmark: robots.txt opt-out decisions for the Apertus agent list, curate.robots vs protego.

Over the real robots.txt files in ../shared/corpora/robots/real/*.txt, with a URL set per host (paths sampled
from the file's own rules plus generic paths), it times, in the same run:
  ours     RobotsTxt.parse(body) once per file, then blocking(agents, url) per URL: the call the optout policy
           makes, evidence kept (per refusing rule: the agents, group, rule as written, line, pattern)
  protego  Protego.parse(text) once per file, then can_fetch(url, agent) for every agent, per URL
with parse time included and excluded, and prints a markdown table of medians over repeats plus the speed
ratio. An informative row times the per-agent API, blocking_evidence(), which builds one Decision per refused
agent (against the same protego median). The "typical pipeline" row does the same (parse included) on a subset
of files with many more URLs per host, as a corpus has many documents per host. It also counts (host, URL,
agent) decisions where protego and curate.robots disagree (informative: protego deviates from RFC 9309 /
Google's parser in known ways).

Each timed repeat takes the corpus in 20 slices that the two sides run in turn (which goes first alternates),
so that a slow spell of the shared machine slows both alike: run one after the other, a spell could fall on
curate's short run only (ratios of 8.5x and 9.3x among runs of about 12x). Each side keeps all of its results
until the repeat ends (as a consumer would until it writes them out); they are then released and the garbage
collector runs before the next repeat. A collection during curate's slices also scans protego's kept results
(many more objects than curate's), so the interleaving errs against curate. The disagreement count comes from
one more, untimed, run of each.

    .venv/bin/python bench/bench_robots.py            # all files, 5 repeats
    .venv/bin/python bench/bench_robots.py --quick    # 300 files, fewer URLs, 5 repeats
"""
from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from protego import Protego

from curate.robots import RobotsTxt, load_agents

REPO = Path(__file__).resolve().parents[1]
REAL = Path(os.environ.get("CURATE_SHARED", REPO.parent / "shared")) / "corpora" / "robots" / "real"

GENERIC_PATHS = [
    "/", "/index.html", "/about", "/blog/2021/05/some-post-title", "/search?q=robots&page=2",
    "/wp-admin/admin-ajax.php", "/private/data.json", "/images/photo.jpg", "/cgi-bin/test.cgi",
    "/news/article-12345.html", "/user/profile?id=42", "/api/v1/items", "/tag/ai", "/de/produkte/",
]
SEGMENTS = ["a", "x1", "page", "2024", "item-7", "foo.html", "bar?x=1", "q", "index.php"]


def rule_paths(text: str) -> list[str]:
    """Paths derived from the file's Allow/Disallow patterns (wildcards filled in, anchors dropped)."""
    paths = []
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep or key.strip().lower() not in ("allow", "disallow"):
            continue
        value = value.split("#", 1)[0].strip()
        if value.startswith("/"):
            paths.append(value)
    return paths


def make_urls(host: str, text: str, n: int, rng: random.Random) -> list[str]:
    """About half the URLs derived from the file's rules, the rest generic paths with random tails."""
    patterns = rule_paths(text)
    urls = []
    for i in range(n):
        if patterns and i % 2 == 0:
            path = rng.choice(patterns).rstrip("$").replace("*", rng.choice(SEGMENTS))
            if rng.random() < 0.5:
                path += rng.choice(SEGMENTS)
        else:
            path = rng.choice(GENERIC_PATHS)
            if rng.random() < 0.3:
                path = path.rstrip("/") + "/" + rng.choice(SEGMENTS)
        urls.append(f"https://{host}{path}")
    return urls


def load_corpus(limit: int | None, urls_per_host: int, seed: int) -> list[tuple[bytes, str, list[str]]]:
    rng = random.Random(seed)
    files = sorted(REAL.glob("*.txt"))
    if limit:
        files = rng.sample(files, min(limit, len(files)))
    corpus = []
    for path in files:
        body = path.read_bytes()
        text = body.decode("utf-8", "replace")
        host = path.stem.split("~", 1)[0]
        corpus.append((body, text, make_urls(host, text, urls_per_host, rng)))
    return corpus


def time_files(corpus, parse, decide) -> tuple[float, float, list]:
    """(parse_s, decide_s, results) over the corpus: parse(body, text) once per file, then decide(parsed, urls)
    for its URLs; every file's results are kept until the run ends."""
    parse_s = decide_s = 0.0
    results = []
    clock = time.perf_counter
    for body, text, urls in corpus:
        t0 = clock()
        parsed = parse(body, text)
        t1 = clock()
        out = decide(parsed, urls)
        t2 = clock()
        parse_s += t1 - t0
        decide_s += t2 - t1
        results.append(out)
    return parse_s, decide_s, results


def run_ours(corpus, agents, per_agent: bool = False) -> tuple[float, float, list]:
    """blocking() per URL; per_agent=True: blocking_evidence() (one Decision object per refused agent)."""
    if per_agent:
        def decide(robots, urls):
            return [robots.blocking_evidence(agents, url) for url in urls]
    else:
        def decide(robots, urls):
            return [robots.blocking(agents, url) for url in urls]
    return time_files(corpus, lambda body, _text: RobotsTxt.parse(body), decide)


def run_protego(corpus, agents) -> tuple[float, float, list]:
    """can_fetch(url, agent) for every agent, per URL."""
    def decide(robots, urls):
        return [[robots.can_fetch(url, agent) for agent in agents] for url in urls]
    return time_files(corpus, lambda _body, text: Protego.parse(text), decide)


def timed_pair(
    corpus, agents, ours_first: bool, chunks: int = 20
) -> tuple[tuple[float, float], tuple[float, float]]:
    """((parse_s, decide_s) of ours, same of protego) over the corpus, taken in `chunks` slices that the two
    sides run in turn (which goes first alternates), so that a slow spell of the shared machine slows both
    alike rather than one side's short run. The run starts from a collected heap; each side keeps all of its
    results until the run ends."""
    gc.collect()
    totals = {"ours": [0.0, 0.0], "protego": [0.0, 0.0]}
    kept: dict[str, list] = {"ours": [], "protego": []}
    size = max(1, -(-len(corpus) // chunks))
    for index, start in enumerate(range(0, len(corpus), size)):
        part = corpus[start : start + size]
        order = ("ours", "protego") if (index % 2 == 0) == ours_first else ("protego", "ours")
        for side in order:
            parse_s, decide_s, results = (run_ours if side == "ours" else run_protego)(part, agents)
            totals[side][0] += parse_s
            totals[side][1] += decide_s
            kept[side].append(results)
    del kept
    return (totals["ours"][0], totals["ours"][1]), (totals["protego"][0], totals["protego"][1])


def disagreements(corpus, agents, ours, theirs) -> tuple[Counter, int, int]:
    per_agent: Counter = Counter()
    hosts = 0
    total = 0
    for (_b, _t, urls), our_file, their_file in zip(corpus, ours, theirs):
        host_diff = False
        for evidence, fetchable in zip(our_file, their_file):
            blocked = {agent for block in evidence for agent in block.agents}
            for agent, protego_ok in zip(agents, fetchable):
                total += 1
                if (agent not in blocked) != protego_ok:
                    per_agent[agent] += 1
                    host_diff = True
        hosts += host_diff
    return per_agent, hosts, total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="300 files, 10 URLs per host")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats (medians: the machine is shared)")
    parser.add_argument("--urls", type=int, default=None, help="URLs per host (default 30, quick 10)")
    parser.add_argument("--files", type=int, default=None, help="number of files (default all, quick 300)")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--pipeline-files", type=int, default=None,
                        help="files in the typical-pipeline row (default 400, quick 100; 0 skips the row)")
    parser.add_argument("--pipeline-urls", type=int, default=None,
                        help="URLs per host in the typical-pipeline row (default 250, quick 100)")
    args = parser.parse_args(argv)
    if not REAL.is_dir():
        print(f"real robots.txt files not found at {REAL} (set CURATE_SHARED)", file=sys.stderr)
        return 2
    files = args.files or (300 if args.quick else None)
    urls_per_host = args.urls or (10 if args.quick else 30)
    agents = tuple(load_agents("apertus"))  # a tuple lets RobotsTxt reuse its resolved plan by identity
    corpus = load_corpus(files, urls_per_host, args.seed)
    n_urls = sum(len(u) for _b, _t, u in corpus)
    n_decisions = n_urls * len(agents)

    rates: dict[str, list[float]] = {k: [] for k in ("ours_all", "ours_dec", "prot_all", "prot_dec")}
    for repeat in range(args.repeats):
        (o_parse, o_dec), (p_parse, p_dec) = timed_pair(corpus, agents, ours_first=repeat % 2 == 1)
        rates["ours_all"].append(n_decisions / (o_parse + o_dec))
        rates["ours_dec"].append(n_decisions / o_dec)
        rates["prot_all"].append(n_decisions / (p_parse + p_dec))
        rates["prot_dec"].append(n_decisions / p_dec)
    med = {k: statistics.median(v) for k, v in rates.items()}
    per_agent, hosts, total = disagreements(corpus, agents, run_ours(corpus, agents)[2],
                                            run_protego(corpus, agents)[2])

    # Informative: the same work through the per-agent API (a Decision object per refused agent and URL).
    per_agent_rates = []
    for _repeat in range(args.repeats):
        gc.collect()
        parse_s, decide_s, _results = run_ours(corpus, agents, per_agent=True)
        per_agent_rates.append(n_decisions / (parse_s + decide_s))
        del _results
    per_agent_rate = statistics.median(per_agent_rates)

    pipeline_files = args.pipeline_files if args.pipeline_files is not None else (100 if args.quick else 400)
    pipeline_urls = args.pipeline_urls or (100 if args.quick else 250)
    pipeline = None
    if pipeline_files > 0:
        pipe_corpus = load_corpus(pipeline_files, pipeline_urls, args.seed + 1)
        pipe_decisions = sum(len(u) for _b, _t, u in pipe_corpus) * len(agents)
        pipe_rates: dict[str, list[float]] = {"ours": [], "prot": []}
        for repeat in range(args.repeats):
            (o_parse, o_dec), (p_parse, p_dec) = timed_pair(pipe_corpus, agents, ours_first=repeat % 2 == 1)
            pipe_rates["ours"].append(pipe_decisions / (o_parse + o_dec))
            pipe_rates["prot"].append(pipe_decisions / (p_parse + p_dec))
        pipeline = (len(pipe_corpus), pipeline_urls, {k: statistics.median(v) for k, v in pipe_rates.items()})

    print(f"## robots.txt opt-out decisions: curate.robots vs protego")
    print()
    print(f"{len(corpus)} real robots.txt files, {n_urls} URLs, {len(agents)} agents (Apertus list) = "
          f"{n_decisions} decisions per repeat; median of {args.repeats} repeats; Python {sys.version.split()[0]}")
    print()
    print("| measure | curate.robots (decisions/s) | protego (decisions/s) | ratio |")
    print("|---|---:|---:|---:|")
    for label, ours_key, prot_key in (
        ("parse included", "ours_all", "prot_all"),
        ("parse excluded", "ours_dec", "prot_dec"),
    ):
        ratio = med[ours_key] / med[prot_key]
        print(f"| {label} | {med[ours_key]:,.0f} | {med[prot_key]:,.0f} | {ratio:.1f}x |")
    print(f"| parse included, per-agent Decisions (blocking_evidence) | {per_agent_rate:,.0f} | "
          f"{med['prot_all']:,.0f} | {per_agent_rate / med['prot_all']:.1f}x |")
    if pipeline is not None:
        n_files, n_per_host, pipe_med = pipeline
        ratio = pipe_med["ours"] / pipe_med["prot"]
        print(f"| typical pipeline ({n_files} files x {n_per_host} URLs per host, parse included) | "
              f"{pipe_med['ours']:,.0f} | {pipe_med['prot']:,.0f} | {ratio:.1f}x |")
    print()
    n_diff = sum(per_agent.values())
    print(f"Disagreements (protego vs curate.robots): {n_diff} of {total} decisions "
          f"({100 * n_diff / total:.2f}%), on {hosts} of {len(corpus)} hosts")
    if per_agent:
        print()
        print("| agent | disagreements |")
        print("|---|---:|")
        for agent, count in per_agent.most_common():
            print(f"| {agent} | {count} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

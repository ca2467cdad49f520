"""Benchmark: robots.txt fetch throughput (hosts/s) against a local server that injects latency.

A small asyncio HTTP server runs in its own process on 127.0.0.1 (so it does not share the fetcher's GIL);
every request waits ``--latency`` seconds before its answer, as a distant server would. Each origin is a
distinct host name (``hNNNNN.bench``) mapped to 127.0.0.1 by the fetcher's resolver hook, so each fetch opens
its own connection, as in a real crawl. The fetch goes all the way into a temporary robots cache.

    .venv/bin/python bench/bench_fetch.py            # full run
    .venv/bin/python bench/bench_fetch.py --quick    # a short run

Prints a markdown table: median hosts/s over the repeats per concurrency, and the ratio against
concurrency 1 measured in the same run.
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curate.robots.cache import RobotsCache  # noqa: E402
from curate.robots.fetch import Origin, RobotsFetcher, fetch_to_cache  # noqa: E402


def _serve(port_queue, latency: float) -> None:
    """An HTTP/1.0 server: answer every GET with a small robots.txt after ``latency`` seconds."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            host = b""
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"host:"):
                    host = line[5:].strip().split(b":")[0]
            await asyncio.sleep(latency)
            body = b"User-agent: GPTBot\nDisallow: /" + host + b"/\n"
            writer.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096)
        port_queue.put(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def _resolver(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]


def _run(port: int, hosts: int, concurrency: int, offset: int) -> float:
    origins = [Origin("http", f"h{offset + i:06d}.bench:{port}") for i in range(hosts)]
    fetcher = RobotsFetcher(timeout=30, host_deadline=60, allow_private=True, resolver=_resolver)
    with tempfile.TemporaryDirectory() as directory:
        started = time.perf_counter()
        summary = fetch_to_cache(origins, RobotsCache(directory), fetcher, concurrency=concurrency, batch_size=1000)
        seconds = time.perf_counter() - started
    if summary.errors or summary.statuses.get(200) != hosts:
        raise SystemExit(f"bench run failed: statuses {dict(summary.statuses)}, errors {dict(summary.errors)}")
    return hosts / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer hosts and repeats")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the server waits per request")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 64, 256])
    args = parser.parse_args()
    repeats = args.repeats or (2 if args.quick else 3)
    serial_hosts = 30 if args.quick else 100  # concurrency 1 is slow by design: fewer hosts, same metric
    parallel_hosts = 600 if args.quick else 3000

    queue: multiprocessing.Queue = multiprocessing.Queue()
    server = multiprocessing.Process(target=_serve, args=(queue, args.latency), daemon=True)
    server.start()
    try:
        port = queue.get(timeout=30)
        rows = []
        offset = 0
        for concurrency in args.concurrency:
            hosts = serial_hosts if concurrency == 1 else parallel_hosts
            rates = []
            for _ in range(repeats):
                rates.append(_run(port, hosts, concurrency, offset))
                offset += hosts
            rows.append((concurrency, hosts, statistics.median(rates), min(rates), max(rates)))
    finally:
        server.terminate()
        server.join()

    baseline = rows[0][2]
    print(f"robots.txt fetch throughput, server latency {args.latency * 1000:.0f} ms, median of {repeats} runs\n")
    print("| concurrency | hosts per run | hosts/s (median) | min | max | ratio vs concurrency "
          f"{rows[0][0]} |")
    print("|---:|---:|---:|---:|---:|---:|")
    for concurrency, hosts, median, low, high in rows:
        print(f"| {concurrency} | {hosts} | {median:,.1f} | {low:,.1f} | {high:,.1f} | {median / baseline:.1f}x |")
    print(f"\nideal at concurrency 1: {1 / args.latency:.1f} hosts/s (latency bound)")


if __name__ == "__main__":
    main()

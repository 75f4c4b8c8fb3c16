"""Load benchmark for the HTTP service: N concurrent clients for T seconds on loopback.

    python evaluation/load_benchmark.py --clients 20 --seconds 30 [--workers 2] [--url http://127.0.0.1:8000]

Without --url it starts `zhengwu serve` itself on a free port (index in ZHENGWU_DATA_DIR, built on first start;
the per-client rate limit is switched off, since every client here is 127.0.0.1), waits until /readyz answers,
runs the load, and stops the server. Each client posts questions from the gold set to /api/v1/chat in a loop.
Prints requests/s, latency p50/p95/p99 and the error count. Target on the 2-core machine: >= 50 req/s at 20
clients, p95 <= 300 ms, 0 errors. A measurement, never a test assertion; it only ever talks to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

GOLD = Path(__file__).resolve().parent / "gold" / "gold.jsonl"


def questions() -> list[str]:
    return [json.loads(line)["question"] for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]


async def client_loop(url: str, items: list[str], offset: int, stop: float,
                      latencies: list[float], errors: list[str]) -> None:
    """One citizen: its own connection and its own session cookie, asking one question after another."""
    async with httpx.AsyncClient(timeout=30) as client:
        await _ask_until(client, url, items, offset, stop, latencies, errors)


async def _ask_until(client: httpx.AsyncClient, url: str, items: list[str], offset: int, stop: float,
                     latencies: list[float], errors: list[str]) -> None:
    i = offset
    while time.monotonic() < stop:
        question = items[i % len(items)]
        i += 1
        started = time.perf_counter()
        try:
            r = await client.post(url, json={"question": question})
            if r.status_code != 200:
                errors.append(f"HTTP {r.status_code}")
            else:
                latencies.append((time.perf_counter() - started) * 1000)
        except httpx.HTTPError as exc:
            errors.append(type(exc).__name__)


async def run(base: str, clients: int, seconds: float) -> dict:
    items = questions()
    latencies: list[float] = []
    errors: list[str] = []
    stop = time.monotonic() + seconds
    started = time.monotonic()
    await asyncio.gather(*(client_loop(f"{base}/api/v1/chat", items, k * 7, stop, latencies, errors)
                           for k in range(clients)))
    elapsed = time.monotonic() - started
    latencies.sort()

    def pct(p: float) -> float | None:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))], 1) if latencies else None

    return {"clients": clients, "seconds": round(elapsed, 1), "requests": len(latencies) + len(errors),
            "req_per_s": round((len(latencies) + len(errors)) / elapsed, 1), "p50_ms": pct(0.5),
            "p95_ms": pct(0.95), "p99_ms": pct(0.99), "errors": len(errors),
            "error_kinds": sorted(set(errors))}


def start_server(workers: int) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "ZHENGWU_RATE_LIMIT_PER_MINUTE": "0"}
    cli = Path(sys.executable).with_name("zhengwu")
    proc = subprocess.Popen([str(cli), "serve", "--port", str(port), "--workers", str(workers)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600  # the first start may build the index
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise SystemExit("zhengwu serve exited before it was ready")
        time.sleep(0.5)
    proc.kill()
    raise SystemExit("zhengwu serve did not become ready")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers when the script starts the server")
    parser.add_argument("--url", help="an already running service (loopback only)")
    args = parser.parse_args()
    if args.url and not args.url.startswith(("http://127.", "http://localhost", "http://[::1]")):
        raise SystemExit("this benchmark only targets services on this machine (127.0.0.1)")

    proc = None
    base = args.url
    if base is None:
        proc, base = start_server(args.workers)
    try:
        asyncio.run(run(base, min(args.clients, 4), 3))  # warm-up: caches, connections
        result = run_result = asyncio.run(run(base, args.clients, args.seconds))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"{run_result['clients']} clients for {result['seconds']} s: {result['req_per_s']} req/s, "
          f"p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, p99 {result['p99_ms']} ms, "
          f"{result['errors']} errors {result['error_kinds'] or ''}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()

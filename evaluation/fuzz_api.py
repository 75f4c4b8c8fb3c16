"""Fuzz the HTTP API from its own OpenAPI schema with schemathesis: no generated request may get a 5xx.

Starts `zhengwu serve` (2 workers, the machine's PostgreSQL when --database-url is given, else SQLite) on the
small fixture corpus, with the staff token so that staff routes are exercised past authentication too, and runs
`schemathesis run` against /openapi.json. Prints the number of requests sent and the failures.

    python evaluation/fuzz_api.py --examples 150 [--database-url postgresql+psycopg://root@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=150, help="max examples per operation")
    parser.add_argument("--workers", type=int, default=2, help="zhengwu serve workers")
    parser.add_argument("--database-url", help="PostgreSQL URL (default: SQLite in a temporary data dir)")
    parser.add_argument("--corpus", default=str(ROOT / "tests" / "fixtures" / "corpus"))
    parser.add_argument("--seed", type=int, default=20261130)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="zhengwu-fuzz-"))
    port = free_port()
    env = {**os.environ, "ZHENGWU_DATA_DIR": str(tmp / "data"), "ZHENGWU_CORPUS_DIR": args.corpus,
           "ZHENGWU_RATE_LIMIT_PER_MINUTE": "0", "ZHENGWU_ADMIN_TOKEN": "fuzz-token", "TQDM_DISABLE": "1",
           "ZHENGWU_PORTAL_SECRET": "fuzz-portal", "ZHENGWU_LOG_FORMAT": "json"}
    if args.database_url:
        env["ZHENGWU_DATABASE_URL"] = args.database_url
    log = (tmp / "serve.log").open("wb")
    server = subprocess.Popen([str(BIN / "zhengwu"), "serve", "--port", str(port), "--workers", str(args.workers)],
                              env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            print("server did not become ready; see", tmp / "serve.log", file=sys.stderr)
            return 2
        report = tmp / "schemathesis.json"
        started = time.monotonic()
        result = subprocess.run(
            [str(BIN / "schemathesis"), "run", f"{base}/openapi.json", "--checks", "not_a_server_error",
             "-n", str(args.examples), "--seed", str(args.seed), "-H", "Authorization: Bearer fuzz-token",
             "--request-timeout", "30", "--report", "ndjson", "--report-ndjson-path", str(report)],
            env=env, capture_output=True, text=True,
        )
        seconds = time.monotonic() - started
        requests = server_errors = 0
        for line in report.read_text(encoding="utf-8").splitlines():
            event = json.loads(line)
            for interaction in _interactions(event):
                requests += 1
                status = interaction["response"].get("status_code")
                if status is not None and status >= 500:
                    server_errors += 1
        print(result.stdout[-3000:])
        print(f"{requests} requests in {seconds:.0f} s, {server_errors} server errors "
              f"(schemathesis exit code {result.returncode})")
        return 0 if server_errors == 0 and result.returncode == 0 else 1
    finally:
        server.terminate()
        server.wait(timeout=30)


def _interactions(event: dict):
    """Every recorded request/response pair in one NDJSON event, wherever schemathesis nests them."""
    if isinstance(event, dict):
        if isinstance(event.get("request"), dict) and isinstance(event.get("response"), dict):
            yield event
        for value in event.values():
            if isinstance(value, (dict, list)):
                yield from _interactions(value)
    elif isinstance(event, list):
        for value in event:
            yield from _interactions(value)


if __name__ == "__main__":
    sys.exit(main())

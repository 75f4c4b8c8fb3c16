"""A real ``zhengwu serve`` in a child process, for the integration tests that need the command itself (its
log file, its worker processes, its socket handling)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from helpers import free_port

CLI = Path(sys.executable).with_name("zhengwu")


@contextmanager
def zhengwu_serve(env: dict[str, str], log: Path, *args: str, ready_within: float = 180) -> Iterator[str]:
    """Start ``zhengwu serve --port P [args]`` with ``env``, its output appended to ``log``; yield its base URL
    once ``/readyz`` answers 200; stop it with SIGINT (as an operator's Ctrl-C) afterwards."""
    port = free_port()
    proc = subprocess.Popen([str(CLI), "serve", "--port", str(port), *args], env=env, stdout=log.open("ab"),
                            stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + ready_within
    try:
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
            time.sleep(0.3)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()

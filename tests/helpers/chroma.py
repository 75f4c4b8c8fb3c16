"""A real Chroma server (`chroma run`) on a free loopback port, for the tests of the server topology."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

CHROMA_BIN = Path(sys.executable).parent / "chroma"


STARTUP_TIMEOUT = 30.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ChromaServer:
    """One ``chroma run`` process; ``start``/``stop`` can be repeated on the same path and port."""

    def __init__(self, path: Path, log: Path) -> None:
        self.path = path
        self.log = log
        self.port = _free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        assert self.proc is None
        log = self.log.open("ab")
        try:
            self.proc = subprocess.Popen(
                [str(CHROMA_BIN), "run", "--host", "127.0.0.1", "--port", str(self.port), "--path", str(self.path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        finally:
            log.close()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        last_error = ""
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                self.proc = None
                pytest.fail(f"chroma server exited with code {code} during startup; log:\n{self._log_tail()}")
            try:
                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError as exc:
                last_error = repr(exc)
            time.sleep(0.2)
        self.stop()
        pytest.fail(
            f"chroma server did not answer /api/v2/heartbeat within {STARTUP_TIMEOUT:.0f}s "
            f"(last error: {last_error}); log:\n{self._log_tail()}"
        )

    def stop(self) -> None:
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)

    def _log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError as exc:
            return f"(no log: {exc})"

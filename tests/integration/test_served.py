"""A real `zhengwu serve` on 127.0.0.1 (one worker, the embedded default stores, the fixture corpus), attacked as
an outsider would (issue 15): the log file it writes holds no query-string value; a chunked 100 MB body is cut
as it streams; half-sent headers and a body trickled a byte at a time do not hold a connection open.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from helpers import FIXTURE_CORPUS
from helpers.served import zhengwu_serve

SECRETS_IN_URLS = ("oSecretOpenid4242", "sig0ddba11c0ffee", "nonce7e57ab1e", "1766000001", "tok-QS-5ecret")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("served")
    log = tmp / "serve.log"
    env = {**os.environ, "TQDM_DISABLE": "1", "ZHENGWU_DATA_DIR": str(tmp / "data"),
           "ZHENGWU_CORPUS_DIR": str(FIXTURE_CORPUS), "ZHENGWU_RATE_LIMIT_PER_MINUTE": "0",
           "ZHENGWU_WECHAT_TOKEN": "served-token", "ZHENGWU_WECHAT_APP_ID": "wxserved", "ZHENGWU_LOG_FORMAT": "json",
           "ZHENGWU_HEADER_TIMEOUT_SECONDS": "1", "ZHENGWU_BODY_TIMEOUT_SECONDS": "2"}
    env.pop("ZHENGWU_DATABASE_URL", None)
    env.pop("ZHENGWU_REDIS_URL", None)
    with zhengwu_serve(env, log) as base:
        yield base, log


def connect(base: str) -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def test_the_log_a_server_writes_holds_no_query_string_value(served):
    base, log = served
    query = {"signature": SECRETS_IN_URLS[1], "timestamp": SECRETS_IN_URLS[3], "nonce": SECRETS_IN_URLS[2],
             "openid": SECRETS_IN_URLS[0]}
    with httpx.Client(timeout=30) as client:
        client.post(f"{base}/wechat", params=query, content=b"<xml></xml>")
        client.get(f"{base}/wechat", params={**query, "echostr": "echo-me"})
        client.post(f"{base}/api/v1/chat", params={"token": SECRETS_IN_URLS[4]}, json={"question": "社保卡"})
        client.get(f"{base}/console/login", params={"next": "/console?token=" + SECRETS_IN_URLS[4]})
    time.sleep(0.5)  # the access lines are written after the responses
    text = log.read_text(encoding="utf-8", errors="replace")
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    access = [line["message"] for line in lines if line.get("logger") == "uvicorn.access"]
    assert any("/wechat" in line for line in access) and any("/api/v1/chat" in line for line in access)
    for value in SECRETS_IN_URLS:
        assert value not in text, f"{value} is in the server's log"


def test_a_chunked_body_is_refused_while_it_streams(served):
    base, _log = served
    with connect(base) as sock:
        sock.sendall(b"POST /api/v1/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")
        chunk = b"10000\r\n" + b"a" * 65536 + b"\r\n"
        sent = 0
        sock.settimeout(0.2)
        reply = b""
        while sent < 100 * 1024 * 1024:
            try:
                sock.sendall(chunk)
            except OSError:  # the server answered and closed while we were still sending
                break
            sent += len(chunk)
            try:
                reply += sock.recv(65536)
                if reply:
                    break
            except TimeoutError:
                continue
        sock.settimeout(10)
        try:
            while b"\r\n\r\n" not in reply:
                data = sock.recv(65536)
                if not data:
                    break
                reply += data
        except OSError:
            pass
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert sent < 16 * 1024 * 1024, f"{sent} bytes were taken before the refusal"
    assert len(reply) < 2000


def test_half_sent_headers_do_not_hold_a_connection(served):
    base, _log = served
    with connect(base) as sock:
        sock.sendall(b"POST /api/v1/chat HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        assert sock.recv(1024) == b""  # closed by the server, not by our timeout
        assert time.monotonic() - started < 5


def test_a_body_trickled_a_byte_a_second_is_answered_408(served):
    base, _log = served
    with connect(base) as sock:
        sock.sendall(b"POST /api/v1/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100\r\n\r\n")
        started = time.monotonic()
        reply = b""
        sock.settimeout(1.0)
        for byte in b'{"question": "' + b"a" * 80:
            try:
                sock.sendall(bytes([byte]))
                reply += sock.recv(4096)
                if reply:
                    break
            except TimeoutError:
                continue
            except OSError:
                break
        assert reply.startswith(b"HTTP/1.1 408"), reply[:200]
        assert time.monotonic() - started < 8
    with httpx.Client(timeout=30) as client:  # and the server still answers everybody else
        assert client.get(f"{base}/healthz").status_code == 200

"""Issue 15, failures 4 and 5: what a citizen's client sends never becomes a 500, and is never echoed back.

JSON as Python's parser reads it accepts ``NaN``, ``Infinity`` and ``1e999`` (infinity): the 422 handler used to
echo the input and then could not encode it. An id of 2^63 overflowed SQLite. A chunked body had no length to
check and was read whole. tests/integration/test_served.py sends the same to a real `zhengwu serve`.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from helpers import app_for, make_assistant
from helpers.databases import sqlite_people

from zhengwu.personal import sign_user_token

PORTAL = "portal-hostile"
NON_FINITE = ("NaN", "Infinity", "-Infinity", "1e999", "-1e999")
HUGE = ("9223372036854775808", "18446744073709551616", "1" + "0" * 400)


@pytest.fixture(scope="module")
def client(tmp_path_factory, fixture_settings, fixture_index):
    settings = fixture_settings.model_copy(update={"rate_limit_per_minute": 0, "portal_secret": PORTAL})
    with sqlite_people(tmp_path_factory.mktemp("hostile") / "people.sqlite3") as people, \
            TestClient(app_for(settings, make_assistant(settings, fixture_index, people=people), people),
                       raise_server_exceptions=False) as client:
        yield client


def bodies() -> list[tuple[str, str]]:
    token = sign_user_token(PORTAL, "hostile-citizen")
    routes = {
        "/api/v1/chat": '{"question": %s}',
        "/api/v1/chat/stream": '{"question": "社保卡怎么办", "personalise": %s}',
        "/api/v1/feedback": '{"turn_id": %s, "value": 1, "session_id": "0123456789abcdef0123456789abcdef"}',
        "/api/v1/me/export": '{"user_token": %s}',
        "/api/v1/me/consent": '{"user_token": "' + token + '", "personalisation": %s}',
    }
    values = [*NON_FINITE, *HUGE, "-" + HUGE[0], "[" * 50 + "]" * 50, '{"a": NaN}', '"\\ud800"']
    return [(path, template % value) for path, template in routes.items() for value in values]


@pytest.mark.parametrize(("path", "body"), bodies())
def test_no_json_a_client_can_send_is_a_server_error(client, path, body):
    response = client.post(path, content=body.encode(), headers={"Content-Type": "application/json"})
    assert response.status_code < 500, (path, body[:60], response.status_code, response.text[:300])
    assert "Infinity" not in response.text and "NaN" not in response.text and "1e999" not in response.text


def test_a_huge_turn_id_is_an_invalid_request_not_an_overflow(client):
    for value in HUGE:
        response = client.post("/api/v1/feedback", content=f'{{"turn_id": {value}, "value": 1}}'.encode(),
                               headers={"Content-Type": "application/json"})
        assert response.status_code == 422 and value not in response.text


def test_errors_never_echo_the_input(client):
    secretish = "440106199001011234" + "我" * 6000
    response = client.post("/api/v1/chat", json={"question": secretish})
    assert response.status_code == 422
    assert len(response.content) < 2000 and "440106199001011234" not in response.text


async def _post_chunks(app, chunks, path: str = "/api/v1/chat") -> tuple[int, bytes, int]:
    """POST ``chunks`` to the ASGI app as a chunked body (no Content-Length), as a server hands it over;
    returns the status, the response body and how many chunks the app pulled."""
    pulled = 0
    source = iter(chunks)
    sent: list[dict] = []

    async def receive() -> dict:
        nonlocal pulled
        chunk = next(source, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        pulled += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "path": path,
             "raw_path": path.encode(), "query_string": b"", "root_path": "", "scheme": "http",
             "headers": [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")],
             "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000), "state": {}}
    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"), pulled


def test_a_chunked_body_is_cut_at_the_limit_as_it_streams(client):
    import asyncio
    import json

    def hundred_megabytes():  # announced by no Content-Length
        yield b'{"question": "'
        for _ in range(1600):
            yield b"a" * 65536

    status, body, pulled = asyncio.run(_post_chunks(client.app, hundred_megabytes()))
    assert status == 413 and json.loads(body)["message"] == "请求内容过大。"
    assert pulled <= 3, f"read {pulled} chunks of 64 KB past a 64 KB limit"
    assert len(body) < 500
    # Under the limit, a chunked body is read as before.
    question = "实验动物生产许可的咨询电话是多少？".encode()
    status, body, _ = asyncio.run(_post_chunks(client.app, [b'{"question": "', question[:7], question[7:], b'"}']))
    assert status == 200 and "020-84106805" in json.loads(body)["text"]


def test_a_streamed_answer_to_a_cut_body_ends_cleanly(client):
    """The stream route listens for the client leaving after the body; a body cut at the limit must read as the
    client gone, not as more body (which Starlette's middleware raised as an error: the fuzzer's one traceback)."""
    import asyncio

    def oversized():
        yield b'{"question": "'
        for _ in range(8):
            yield b"a" * 65536

    status, _body, pulled = asyncio.run(_post_chunks(client.app, oversized(), path="/api/v1/chat/stream"))
    assert status == 413 and pulled <= 3

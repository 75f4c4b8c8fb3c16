"""web.limits.ConnectionRotation: a kept-alive connection is asked to reconnect every so often, so that with
several workers the kernel can hand it to a less busy one (one worker at 100 % CPU and the other at 30 % under
load_benchmark.py before)."""

from __future__ import annotations

import asyncio

from zhengwu.web.limits import ConnectionRotation


async def _ok(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"connection", b"keep-alive")]})
    await send({"type": "http.response.body", "body": b"ok"})


def _closing(app, client: tuple[str, int]) -> bool:
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    asyncio.run(app({"type": "http", "client": client, "headers": []}, receive, send))
    headers = dict(sent[0]["headers"])
    return headers.get(b"connection") == b"close"


def test_every_tenth_response_on_a_connection_closes_it():
    app = ConnectionRotation(_ok, every=10)
    first = [_closing(app, ("10.0.0.1", 5000)) for _ in range(20)]
    assert first == ([False] * 9 + [True]) * 2
    assert not _closing(app, ("10.0.0.1", 5001))  # another connection (a reconnect) starts its own count
    assert not _closing(app, ("10.0.0.2", 5000))


def test_it_remembers_a_bounded_number_of_connections():
    app = ConnectionRotation(_ok, every=3, remembered=100)
    for port in range(1000):
        _closing(app, ("10.0.0.1", port))
    assert len(app._counts) == 100

"""What a client may cost the service: a bounded body, sent in bounded time (headers in bounded time:
``zhengwu.ops.slow_clients``).

``BodyLimit`` (ASGI middleware) counts the body as it streams in, so a chunked upload without Content-Length
is cut at the limit instead of being read whole into memory (issue 15: a 100 MB chunked body raised a worker
from 385 to 979 MB and came back echoed in a 422), and gives the whole body ``body_timeout_seconds`` to
arrive (a client trickling one byte a second is answered 408, not waited for).
"""

from __future__ import annotations

import asyncio
import html
import json
import time
from collections import OrderedDict

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zhengwu.answering import wording

MAX_BODY_BYTES = 64 * 1024
UPLOAD_BYTES = 50 * 1024 * 1024  # staff history imports (the history reader's own limit)
UPLOAD_PATHS = frozenset({"/api/v1/admin/history"})
# Staff document uploads and edits (a law's text is larger than 64 KB): limited by ZHENGWU_MAX_UPLOAD_MB plus
# the multipart envelope.
DOCUMENT_PREFIXES = ("/console/documents", "/api/v1/admin/documents")
MULTIPART_ALLOWANCE = 1024 * 1024


TOO_LARGE = (413, {"message": wording.TOO_LARGE, "detail": "body too large"})
TOO_SLOW = (408, {"message": wording.TOO_SLOW, "detail": "request body not received in time"})
_END_OF_BODY: Message = {"type": "http.request", "body": b"", "more_body": False}


class BodyLimit:
    """The app sees the body end where the limit (or the deadline) was passed; whatever it then answers, the
    client gets 413 (or 408). Ending the body rather than raising from ``receive`` keeps every layer between
    here and the route (middleware wrappers, FastAPI's body parsing) out of the decision."""

    def __init__(self, app: ASGIApp, body_timeout: float = 30.0, document_bytes: int = 20 * 1024 * 1024) -> None:
        self.app = app
        self.body_timeout = body_timeout
        self.document_limit = document_bytes + MULTIPART_ALLOWANCE

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if path.startswith(DOCUMENT_PREFIXES) and scope.get("method") == "POST":
            limit = self.document_limit
            too_large = (413, {"message": wording.UPLOAD_TOO_LARGE.format(mb=self.document_limit // (1024 * 1024) - 1),
                               "detail": "upload too large"})
        else:
            limit = UPLOAD_BYTES if path in UPLOAD_PATHS else MAX_BODY_BYTES
            too_large = TOO_LARGE
        as_page = path.startswith("/console/")
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _refuse(send, too_large, as_page)
            return
        received = 0
        deadline = time.monotonic() + self.body_timeout
        refusal: tuple[int, dict] | None = None  # set where the body is cut; the app was given its end then
        answered = False
        body_done = False

        async def limited_receive() -> Message:
            nonlocal received, refusal, body_done
            if refusal is not None:  # a read after the cut end (a streaming response waiting for the client)
                return {"type": "http.disconnect"}
            if body_done:  # later reads wait for the client to go away (streaming responses): no deadline
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), timeout=max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                refusal = TOO_SLOW
                return _END_OF_BODY
            if message["type"] == "http.request":
                body_done = not message.get("more_body", False)
                received += len(message.get("body", b""))
                if received > limit:
                    refusal = too_large
                    return _END_OF_BODY
            return message

        async def refusing_send(message: Message) -> None:
            nonlocal answered
            if refusal is None:
                await send(message)
            elif not answered and message["type"] == "http.response.start":
                answered = True
                await _refuse(send, refusal, as_page)
            # else: the app's answer to a body it never fully got is dropped

        await self.app(scope, limited_receive, refusing_send)


async def _refuse(send: Send, refusal: tuple[int, dict], as_page: bool = False) -> None:
    """The refusal as JSON, or for the console (a browser's form post) as a small Chinese page."""
    status, detail = refusal
    if as_page:
        body = _PAGE.format(message=html.escape(detail["message"])).encode()
        kind = b"text/html; charset=utf-8"
    else:
        body = json.dumps(detail, ensure_ascii=False).encode()
        kind = b"application/json"
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


_PAGE = ('<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>无法处理</title></head>'
         '<body><h1>无法处理此请求</h1><p role="alert">{message}</p><p><a href="/console/documents">返回资料管理</a>'
         '</p></body></html>')


class ConnectionRotation:
    """Every ``every``-th response on a connection says ``Connection: close`` (nginx's ``keepalive_requests``).

    With several workers the kernel hands each new connection to whichever worker accepts it, and a kept-alive
    connection then stays with that worker: 20 long-lived client connections split 15 / 5 left one worker at
    100 % CPU and the other at 30 % (load_benchmark.py). Reconnecting now and then lets the less busy worker
    take them. Connections are told apart by the client's address and port (a reconnect gets a new port)."""

    def __init__(self, app: ASGIApp, every: int = 10, remembered: int = 10_000) -> None:
        self.app = app
        self.every = every
        self.remembered = remembered
        self._counts: OrderedDict[tuple, int] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if scope["type"] != "http" or not client:
            await self.app(scope, receive, send)
            return
        key = tuple(client)
        count = self._counts.pop(key, 0) + 1
        if count >= self.every:
            closing = True
        else:
            closing = False
            self._counts[key] = count
            while len(self._counts) > self.remembered:
                self._counts.popitem(last=False)

        async def send_closing(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"connection"]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        await self.app(scope, receive, send_closing if closing else send)

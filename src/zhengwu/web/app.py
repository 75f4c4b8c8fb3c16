"""The HTTP service: wiring only. Routes live in ``web.routes`` (and ``web.console``, channels' callbacks in
``zhengwu.channels``); each reads the app's typed state (``web.state.AppState``) through ``Depends``.

    POST /api/v1/chat            JSON answer (text, status, citations, session id, latency)   routes.chat
    POST /api/v1/chat/stream     the same answer as Server-Sent Events                       routes.chat
    POST /api/v1/feedback        the citizen's 👍/👎 on an answer of their own session          routes.feedback
    POST /api/v1/me/*            a portal-signed citizen's consent, export, deletion          routes.me
    GET  /healthz, /readyz       liveness, and "the index is loaded and dependencies answer"  routes.ops
    GET  /metrics                Prometheus                                                  routes.ops
    *    /api/v1/admin/*         staff only: Authorization: Bearer $ZHENGWU_ADMIN_TOKEN        routes.admin
    *    /wechat, /wecom, /telegram/webhook   chat channels, when configured               zhengwu.channels
    *    /console                the staff review console                                    web.console
    GET  /                       a demo page with the embeddable widget (/static/widget.js)

Citizens are anonymous; a session id (cookie ``zhengwu_session`` or header ``X-Session-Id``) keeps the
conversation. No handler returns a 500 for anything a citizen sends.
"""

from __future__ import annotations

import json
import logging
import os
import time
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from zhengwu.answering import wording
from zhengwu.bootstrap import Services, open_services
from zhengwu.channels.routes import channel_routers
from zhengwu.config import Settings, get_settings
from zhengwu.ops.observability import LATENCY, REQUESTS, configure_logging, new_request_id, request_id
from zhengwu.web.console import mount_console
from zhengwu.web.limits import BodyLimit, ConnectionRotation
from zhengwu.web.models import ErrorOut
from zhengwu.web.routes import admin, chat, documents, feedback, me, ops
from zhengwu.web.state import AppState

STATIC = Path(__file__).parent / "static"
MAX_REPORTED_ERRORS = 10

log = logging.getLogger("zhengwu.web")


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """The service. Without ``services`` they are opened at start-up (``bootstrap.open_services``): the people
    store, database sessions, review store, the index and the assistant."""
    settings = settings or get_settings()
    state = AppState(settings, services)
    drop_access_log_query_strings()

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        if state.services is None:
            configure_logging(settings.log_format)
            state.services = await run_in_threadpool(open_services, settings)
        await run_in_threadpool(state.assistant.warm_up)
        yield

    app = FastAPI(
        title="zhengwu-assistant 政务助手",
        version="1",
        description="Grounded answers about government services, with citations. Citizen chat is anonymous.",
        lifespan=lifespan,
        responses={422: {"model": ErrorOut}, 429: {"model": ErrorOut}},
    )
    app.state.zhengwu = state
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "X-Session-Id"],
            allow_credentials=True,
        )
    app.middleware("http")(_guard)
    app.add_middleware(BodyLimit, body_timeout=settings.body_timeout_seconds,
                       document_bytes=settings.max_upload_mb * 1024 * 1024)
    app.add_middleware(ConnectionRotation)  # added last: runs first
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for module in (chat, feedback, me, ops, admin, documents):
        app.include_router(module.router)
    for router in channel_routers(settings, state.channel_core):
        app.include_router(router)
    mount_console(app, state)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_api_route("/", _demo, methods=["GET"], include_in_schema=False)
    return app


async def _demo() -> FileResponse:
    return FileResponse(STATIC / "demo.html", media_type="text/html; charset=utf-8")


async def _guard(request: Request, call_next):
    """Request ids and metrics (the body's size and pace: ``web.limits.BodyLimit``, outermost)."""
    rid = new_request_id(request.headers.get("x-request-id"))
    token = request_id.set(rid)
    started = time.perf_counter()
    try:
        request.app.state.zhengwu.requests += 1
        response = await call_next(request)
    finally:
        request_id.reset(token)
    route = request.scope.get("route")
    label = getattr(route, "path", None) or "unmatched"  # unmatched requests have no route
    REQUESTS.labels(request.method, label, str(response.status_code)).inc()
    LATENCY.labels(label).observe(time.perf_counter() - started)
    response.headers["X-Request-Id"] = rid
    response.headers["X-Served-By"] = str(os.getpid())
    return response


async def _invalid_request(_request: Request, exc: Exception) -> JSONResponse:
    """Readable, in Chinese for citizens, and never a 500 for their input. Nothing the client sent is echoed:
    an echo can be huge, can hold what JSON cannot encode (NaN, Infinity, a lone surrogate) and can carry
    somebody's ID number back into a proxy's log."""
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": [str(part)[:64] for part in e.get("loc", ())], "type": str(e.get("type", ""))[:64],
         "msg": str(e.get("msg", ""))[:200]}
        for e in exc.errors()[:MAX_REPORTED_ERRORS]
    ]
    fields = ", ".join(".".join(e["loc"][1:]) or "body" for e in errors)
    content = {"message": wording.BAD_REQUEST, "detail": f"invalid request: {fields}", "errors": errors}
    # Field names come from the client too (extra keys, dict keys): only text that can be encoded goes back.
    return JSONResponse(status_code=422, content=json.loads(
        json.dumps(content, ensure_ascii=False).encode("utf-8", "replace").decode()))


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc.detail, dict):
        body = exc.detail
    elif exc.status_code == 400:  # a body that is not even JSON text
        body = {"message": wording.BAD_REQUEST, "detail": str(exc.detail)}
    else:
        body = {"message": str(exc.detail), "detail": str(exc.detail)}
    return JSONResponse(status_code=exc.status_code, content=body, headers=exc.headers)


def drop_access_log_query_strings() -> None:
    """WeChat and WeCom put the user's openid, signatures, nonces and timestamps in the callback URL's query
    string, and a client may put a token there: the access log keeps the path only.

    Done where records are made, on the arguments, before anything formats them: the PII masking installed by
    ``zhengwu.pii`` formats each record as it is created and empties its ``args``, so a filter that looks
    for the path in ``args`` later finds nothing to cut (the bug of issue 15). Idempotent."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_zhengwu_no_query", False):
        return

    def factory(name, level, pathname, lineno, msg, args, *rest, **kwargs) -> logging.LogRecord:
        # uvicorn.access: '%s - "%s %s HTTP/%s" %d' with (client, method, path and query, version, status)
        if name == "uvicorn.access" and isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return previous(name, level, pathname, lineno, msg, args, *rest, **kwargs)

    factory._zhengwu_no_query = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)

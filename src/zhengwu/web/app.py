"""The HTTP service: a thin FastAPI adapter over one ``Assistant``.

    POST /api/v1/chat            JSON answer (text, status, citations, session id, latency)
    POST /api/v1/chat/stream     the same answer as Server-Sent Events: ``delta`` pieces (``reset``), ``done``
    POST /api/v1/feedback        the citizen's 👍/👎 on an answer of their own session
    GET  /healthz, /readyz       liveness, and "the index is loaded"
    GET  /api/v1/admin/stats     } staff only: Authorization: Bearer $ZHENGWU_ADMIN_TOKEN
    POST /api/v1/admin/reindex   }
    GET  /                       a demo page with the embeddable widget (/static/widget.js)
    GET  /console                the staff review console (zhengwu.review.console): login, conversations,
                                 ratings, curated answers, knowledge gaps, review sets

Citizens are anonymous; a session id (cookie ``zhengwu_session`` or header ``X-Session-Id``) keeps the
conversation. No handler returns a 500 for anything a citizen sends.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, Header, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from zhengwu.answering.answer import Answer
from zhengwu.answering.assistant import Assistant, UserContext
from zhengwu.channels.common import ChannelCore
from zhengwu.channels.routes import channel_routers
from zhengwu.personal.citizens import personal_context, verify_user_token
from zhengwu.config import Settings, get_settings, secret
from zhengwu.ops.observability import (
    DEPENDENCY_UP,
    LATENCY,
    REQUESTS,
    configure_logging,
    metrics_payload,
    new_request_id,
    record_answer,
    request_id,
)
from zhengwu.answering.sessions import new_session_id, valid_session_id
from zhengwu.web.health import check_dependencies
from zhengwu.web.models import AnswerOut, ChatIn, ConsentIn, ErrorOut, FeedbackIn, MeIn, StatsOut
from zhengwu.web.ratelimit import make_rate_limiter

STATIC = Path(__file__).parent / "static"
SESSION_COOKIE = "zhengwu_session"
MAX_BODY_BYTES = 64 * 1024
UPLOAD_BYTES = 50 * 1024 * 1024  # staff history imports (history.MAX_FILE_BYTES)
UNAVAILABLE = "服务暂时不可用，请稍后再试，或拨打 {hotline} 政务服务便民热线。"
_PIECE = re.compile(r"[^。！？；\n]*[。！？；\n]|[^。！？；\n]+$")

log = logging.getLogger("zhengwu.web")


def create_app(settings: Settings | None = None, assistant: Assistant | None = None, people=None) -> FastAPI:
    settings = settings or get_settings()
    state: dict = {"assistant": assistant, "started": time.time(), "requests": 0,
                   "people": people if people is not None else getattr(assistant, "people", None)}

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        if state["assistant"] is None:
            from zhengwu.personal.citizens import open_people_store
            from zhengwu.db.sessions import DbSessionStore

            configure_logging(settings.log_format)
            _drop_query_strings(logging.getLogger("uvicorn.access"))
            state["people"] = people_store = await run_in_threadpool(open_people_store, settings)
            sessions = DbSessionStore(people_store.engine, ttl=settings.session_ttl_seconds)
            state["assistant"] = await run_in_threadpool(Assistant, settings, sessions=sessions, people=people_store)
        await run_in_threadpool(state["assistant"].warm_up)
        yield

    app = FastAPI(
        title="zhengwu-assistant 政务助手",
        version="1",
        description="Grounded answers about government services, with citations. Citizen chat is anonymous.",
        lifespan=lifespan,
        responses={422: {"model": ErrorOut}, 429: {"model": ErrorOut}},
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "X-Session-Id"],
            allow_credentials=True,
        )
    limiter = make_rate_limiter(settings.rate_limit_per_minute, settings.redis_url)
    # Answering is CPU work under the GIL: two at a time per worker, the rest wait in order. Forty threads
    # contending for one interpreter lock make the slowest answers much slower (load_benchmark.py, 20
    # clients, 2 workers: p95 456 ms unbounded, 277-328 ms with 2, 376 ms with 1). With an LLM most of an
    # answer's time is spent waiting for the model, so more may wait at once.
    answering = asyncio.Semaphore(16 if settings.llm_base_url else 2)
    reindex_lock = threading.Lock()

    def the_assistant() -> Assistant:
        if state["assistant"] is None:
            raise HTTPException(503, detail="the assistant is still starting")
        return state["assistant"]

    # -- errors: readable, in Chinese for citizens, never a 500 for their input ------------------------------
    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = ", ".join(".".join(str(p) for p in e.get("loc", ())[1:]) or "body" for e in exc.errors())
        return JSONResponse(
            status_code=422,
            content={
                "message": "请求格式不正确，请检查后重试。",
                "detail": f"invalid request: {fields}",
                # Inputs are echoed back only as text that can be encoded (a lone surrogate cannot).
                "errors": json.loads(
                    json.dumps(exc.errors(), default=str, ensure_ascii=False).encode("utf-8", "replace").decode()
                ),
            },
        )

    @app.middleware("http")
    async def guard(request: Request, call_next):
        rid = new_request_id(request.headers.get("x-request-id"))
        token = request_id.set(rid)
        started = time.perf_counter()
        try:
            length = request.headers.get("content-length")
            limit = UPLOAD_BYTES if request.url.path == "/api/v1/admin/history" else MAX_BODY_BYTES
            if length and length.isdigit() and int(length) > limit:
                response = JSONResponse(status_code=413, content={"message": "请求内容过大。", "detail": "body too large"})
            else:
                state["requests"] += 1
                response = await call_next(request)
        finally:
            request_id.reset(token)
        route = request.scope.get("route")
        label = getattr(route, "path", None) or "unmatched"
        REQUESTS.labels(request.method, label, str(response.status_code)).inc()
        LATENCY.labels(label).observe(time.perf_counter() - started)
        response.headers["X-Request-Id"] = rid
        response.headers["X-Served-By"] = str(os.getpid())
        return response

    def rate_limited(request: Request) -> None:
        client = request.client.host if request.client else "unknown"
        wait = limiter.check(client)
        if wait:
            raise HTTPException(
                status_code=429,
                detail={"message": "请求过于频繁，请稍后再试。", "detail": "rate limit exceeded"},
                headers={"Retry-After": str(wait)},
            )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc.detail, dict):
            body = exc.detail
        elif exc.status_code == 400:  # a body that is not even JSON text
            body = {"message": "请求格式不正确，请检查后重试。", "detail": str(exc.detail)}
        else:
            body = {"message": str(exc.detail), "detail": str(exc.detail)}
        return JSONResponse(status_code=exc.status_code, content=body, headers=exc.headers)

    # -- chat ---------------------------------------------------------------------------------------------
    def session_of(body: ChatIn, request: Request, header_session: str | None) -> str | None:
        session = body.session_id or header_session or request.cookies.get(SESSION_COOKIE)
        return session if valid_session_id(session) else None

    def ask(body: ChatIn, session: str | None, on_delta=None) -> Answer:
        owner = portal_user(body.user_token, create=False) if body.user_token else None
        user = UserContext(region=body.region, personal=personal_of(body, owner), user_id=owner)
        try:
            answer = the_assistant().ask(body.question, session=session, user=user, on_delta=on_delta)
            record_answer(answer.status, answer.path, answer.reason)
            DEPENDENCY_UP.labels("database").set(1)
            return answer
        except HTTPException:
            raise
        except SQLAlchemyError as exc:  # the database is down: say so, clearly, and recover by itself
            log.error("database unavailable: %s", type(exc).__name__)
            DEPENDENCY_UP.labels("database").set(0)
            raise HTTPException(503, detail={"message": UNAVAILABLE.format(hotline=settings.hotline),
                                             "detail": "database unavailable"}) from None
        except Exception:  # noqa: BLE001 - a bug must not become a 500 for the citizen
            log.exception("answering failed")
            return Answer(
                question="",
                text=f"抱歉，系统暂时无法回答，请稍后再试，或拨打 {settings.hotline} 政务服务便民热线。",
                status="refused",
                reason="internal_error",
            )

    def personal_of(body: ChatIn, owner: int | None):
        """The consenting portal user's context; None for anonymous citizens and for 不使用个性化."""
        if not body.personalise or owner is None or state["people"] is None:
            return None
        return personal_context(state["people"], owner)

    def portal_user(token: str, create: bool = True) -> int | None:
        if settings.portal_secret is None or state["people"] is None:
            return None
        external_id = verify_user_token(secret(settings.portal_secret), token)
        if external_id is None:
            return None
        return state["people"].user_for("web", f"portal:{external_id}", create=create)

    def me(body: MeIn) -> int:
        if state["people"] is None or settings.portal_secret is None:
            raise HTTPException(404, detail={"message": "本服务未开通个人信息功能。",
                                             "detail": "personal data API disabled: set ZHENGWU_PORTAL_SECRET"})
        user_id = portal_user(body.user_token)
        if user_id is None:
            raise HTTPException(401, detail={"message": "登录已失效，请重新登录后再试。",
                                             "detail": "invalid or expired user token"})
        return user_id

    @app.post("/api/v1/me/consent", tags=["personal data"], dependencies=[Depends(rate_limited)])
    async def my_consent(body: ConsentIn) -> dict:
        """Grant or withdraw consent to personalisation and to reminders; returns the current state."""
        user_id = await run_in_threadpool(me, body)
        people = state["people"]
        for kind, value in (("personalisation", body.personalisation), ("reminders", body.reminders)):
            if value is not None:
                await run_in_threadpool(people.set_consent, user_id, kind, value)
        profile = await run_in_threadpool(people.profile, user_id)
        return {k: {"granted": c.granted, "at": c.at.isoformat() if c.at else None} for k, c in profile.consents.items()}

    @app.post("/api/v1/me/export", tags=["personal data"], dependencies=[Depends(rate_limited)])
    async def my_export(body: MeIn) -> JSONResponse:
        """Everything stored about the logged-in citizen (PIPL Art. 45)."""
        user_id = await run_in_threadpool(me, body)
        await run_in_threadpool(state["people"].audit, "self", "export", user_id)
        data = await run_in_threadpool(state["people"].export, user_id)
        return JSONResponse(json.loads(json.dumps(data, ensure_ascii=False, default=str)))

    @app.post("/api/v1/me/delete", tags=["personal data"], dependencies=[Depends(rate_limited)])
    async def my_delete(body: MeIn) -> dict:
        """Erase the logged-in citizen's profile, history, sessions and conversation logs (PIPL Art. 47)."""
        user_id = await run_in_threadpool(me, body)
        counts = await run_in_threadpool(state["people"].delete, user_id, "self")
        return {"deleted": counts, "message": "您的个人信息已删除。"}

    def with_cookie(response: Response, session_id: str | None) -> None:
        if session_id:
            response.set_cookie(
                SESSION_COOKIE, session_id, max_age=int(settings.session_ttl_seconds), httponly=True, samesite="lax"
            )

    @app.post("/api/v1/chat", response_model=AnswerOut, dependencies=[Depends(rate_limited)], tags=["chat"])
    async def chat(
        body: ChatIn, request: Request, response: Response, x_session_id: str | None = Header(default=None)
    ) -> AnswerOut:
        """Ask one question; the answer cites its sources. Send back `session_id` for follow-ups."""
        async with answering:
            answer = await run_in_threadpool(ask, body, session_of(body, request, x_session_id))
        with_cookie(response, answer.session_id)
        return AnswerOut.from_answer(answer)

    @app.post(
        "/api/v1/chat/stream",
        dependencies=[Depends(rate_limited)],
        tags=["chat"],
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}}},
    )
    async def chat_stream(
        body: ChatIn, request: Request, x_session_id: str | None = Header(default=None)
    ) -> StreamingResponse:
        """The same answer as Server-Sent Events: `delta` events with pieces of text as they are ready, then
        one `done` event carrying the whole answer (citations, status, session id). With an LLM configured,
        each verified sentence goes out as the model writes it; should the reply fail verification later, a
        `reset` event tells the client to discard the pieces shown so far, and the composer's answer follows."""
        # The cookie goes out with the headers, before the answer exists: fix the session id now.
        session = session_of(body, request, x_session_id) or new_session_id()
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()

        def on_delta(text: str) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, ("delta", text))

        async def answer_it() -> None:
            async with answering:
                answer = await run_in_threadpool(ask, body, session, on_delta)
            queue.put_nowait(("answer", answer))

        # Runs to the end even if the client goes away: the turn is still recorded in the session.
        task = asyncio.create_task(answer_it())

        async def events() -> AsyncIterator[str]:
            streamed = 0
            while True:
                kind, value = await queue.get()
                if kind == "delta":
                    streamed += 1
                    yield _sse("delta", {"text": value})
                    continue
                answer: Answer = value
                if not answer.path.startswith("llm"):
                    if streamed:
                        yield _sse("reset", {})
                    for piece in _PIECE.findall(answer.text):
                        if piece:
                            yield _sse("delta", {"text": piece})
                yield _sse("done", AnswerOut.from_answer(answer).model_dump())
                return

        response = StreamingResponse(events(), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        state.setdefault("tasks", set()).add(task)
        task.add_done_callback(state["tasks"].discard)
        with_cookie(response, session)
        return response

    # -- feedback -----------------------------------------------------------------------------------------
    def reviews():
        """The review tables beside the people store (None without one)."""
        people_store = state["people"]
        if people_store is None or getattr(people_store, "engine", None) is None:
            return None
        if state.get("reviews") is None:
            from zhengwu.review.store import ReviewStore

            state["reviews"] = ReviewStore.of(people_store)
        return state["reviews"]

    @app.post("/api/v1/feedback", dependencies=[Depends(rate_limited)], tags=["chat"],
              responses={403: {"model": ErrorOut}, 404: {"model": ErrorOut}})
    async def feedback(body: FeedbackIn, request: Request, x_session_id: str | None = Header(default=None)) -> dict:
        """Rate an answer: 1 有帮助 (👍) or -1 没帮助 (👎), replacing an earlier rating. Only the session that got
        the answer may rate it (`session_id`, the `X-Session-Id` header or the session cookie)."""
        store = reviews()
        if store is None:
            raise HTTPException(404, detail={"message": "本服务暂未开通评价功能。",
                                             "detail": "feedback needs the personal-data store"})
        session = body.session_id or x_session_id or request.cookies.get(SESSION_COOKIE)
        if not valid_session_id(session):
            raise HTTPException(403, detail={"message": "只能评价您本次对话中的回答。",
                                             "detail": "missing or invalid session id"})
        try:
            await run_in_threadpool(
                lambda: store.record_feedback(body.turn_id, body.value, "web", session_id=session))
        except LookupError:
            raise HTTPException(404, detail={"message": "没有找到这条回答，无法评价。",
                                             "detail": "no such turn in this session"}) from None
        return {"message": "感谢您的反馈！", "turn_id": body.turn_id, "value": body.value}

    # -- health -------------------------------------------------------------------------------------------
    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"])
    async def readyz() -> JSONResponse:
        """200 when the index is loaded and every configured dependency answers; 503 naming what does not."""
        assistant = state["assistant"]
        if assistant is None or assistant.index.is_empty():
            return JSONResponse(status_code=503, content={"status": "not ready", "detail": "index not loaded"})
        checks = await run_in_threadpool(check_dependencies, settings, state["people"])
        for name, ok in checks.items():
            DEPENDENCY_UP.labels(name).set(1 if ok == "ok" else 0)
        failing = {name: why for name, why in checks.items() if why != "ok"}
        if failing:
            return JSONResponse(status_code=503, content={"status": "not ready", "dependencies": checks,
                                                          "detail": "unavailable: " + ", ".join(failing)})
        return JSONResponse(content={"status": "ready", "dependencies": checks})

    @app.get("/metrics", tags=["ops"], response_class=Response)
    async def metrics() -> Response:
        """Prometheus metrics of all workers (restrict this route to the monitoring network at the proxy)."""
        payload, content_type = metrics_payload()
        return Response(payload, media_type=content_type)

    # -- staff --------------------------------------------------------------------------------------------
    def staff(authorization: str | None = Header(default=None)) -> None:
        if settings.admin_token is None:
            raise HTTPException(403, detail="admin API disabled: set ZHENGWU_ADMIN_TOKEN")
        expected = f"Bearer {secret(settings.admin_token)}"
        if not authorization or not secrets.compare_digest(authorization.encode(), expected.encode()):
            raise HTTPException(401, detail="missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"})

    @app.get("/api/v1/admin/stats", response_model=StatsOut, dependencies=[Depends(staff)], tags=["admin"])
    async def stats() -> StatsOut:
        assistant = the_assistant()
        docs, chunks = assistant.index.store.count()
        sessions = getattr(assistant.sessions, "count", lambda: None)()
        return StatsOut(documents=docs, chunks=chunks, active_sessions=sessions,
                        uptime_s=round(time.time() - state["started"], 1), requests=state["requests"])

    @app.post("/api/v1/admin/history", dependencies=[Depends(staff)], tags=["admin"])
    async def import_history_api(request: Request, format: str = "csv") -> dict:
        """Import service history: the body is a CSV or JSONL file (`?format=jsonl`), as for
        `zhengwu history import`. Rejected rows are listed with line, field and reason."""
        if state["people"] is None:
            raise HTTPException(503, detail="personal-data store not configured")
        if format not in ("csv", "jsonl"):
            raise HTTPException(422, detail={"message": "文件格式不支持。", "detail": "format must be csv or jsonl"})
        body = await request.body()
        report = await run_in_threadpool(_import_history, state["people"], the_assistant(), body, format)
        return report

    @app.post("/api/v1/admin/reindex", dependencies=[Depends(staff)], tags=["admin"])
    async def reindex() -> dict:
        """Re-ingest the configured corpus folder (incremental: only changed documents are re-indexed)."""
        if not reindex_lock.acquire(blocking=False):
            raise HTTPException(409, detail="a reindex is already running")
        try:
            report = await run_in_threadpool(_reindex, the_assistant(), settings)
        finally:
            reindex_lock.release()
        return report

    # -- chat channels (WeChat, WeCom, Telegram webhook), when configured -----------------------------------
    def channel_core() -> ChannelCore:
        if state.get("core") is None:
            assistant = the_assistant()
            state["core"] = ChannelCore(assistant, state["people"])
        return state["core"]

    for router in channel_routers(settings, channel_core):
        app.include_router(router)

    # -- staff review console (server-rendered pages) ------------------------------------------------------
    from zhengwu.web.console.pages import install_console

    install_console(app, settings, people=lambda: state["people"], assistant=the_assistant)

    # -- widget and demo ----------------------------------------------------------------------------------
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def demo() -> FileResponse:
        return FileResponse(STATIC / "demo.html", media_type="text/html; charset=utf-8")

    return app


def _reindex(assistant: Assistant, settings: Settings) -> dict:
    from zhengwu.documents.loaders import load_paths

    loaded = load_paths([settings.corpus_dir], root=settings.corpus_dir)
    report = assistant.index.ingest(loaded.documents, str(settings.corpus_dir.resolve()), errors=loaded.errors)
    return {
        "added": report.added, "updated": report.updated, "unchanged": report.unchanged, "removed": report.removed,
        "vectors_embedded": report.vectors_embedded, "seconds": round(report.seconds, 1),
        "errors": [{"path": e.path, "reason": e.reason} for e in report.errors],
        "warnings": [{"path": e.path, "reason": e.reason} for e in report.warnings],
    }


class _NoQueryString(logging.Filter):
    """WeChat and WeCom put the user's openid and signatures in the callback URL's query string: the access
    log keeps the path only."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


def _drop_query_strings(logger: logging.Logger) -> None:
    if not any(isinstance(f, _NoQueryString) for f in logger.filters):
        logger.addFilter(_NoQueryString())


def _import_history(people, assistant: Assistant, body: bytes, suffix: str) -> dict:
    import tempfile

    from zhengwu.personal.citizens import doc_ids_by_item_code, import_history
    from zhengwu.personal.history import read_history

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload.{suffix}"
        path.write_bytes(body)
        read = read_history(path)
    report = import_history(people, read, "api:admin", doc_ids_by_item_code(assistant.index.documents()))
    return {"inserted": report.inserted, "updated": report.updated, "users": report.users,
            "errors": [{"line": e.line, "field": e.field, "reason": e.reason} for e in report.errors],
            "warnings": [{"line": e.line, "field": e.field, "reason": e.reason} for e in report.warnings]}


def _sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"



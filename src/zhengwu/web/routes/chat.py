"""``POST /api/v1/chat`` and ``POST /api/v1/chat/stream``: a citizen's question, answered with citations."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable

from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from zhengwu.answering import wording
from zhengwu.answering.answer import Answer
from zhengwu.answering.sessions import Session, new_session_id
from zhengwu.answering.user import UserContext
from zhengwu.chinese import sentence_pieces
from zhengwu.ops.observability import DEPENDENCY_UP, record_answer
from zhengwu.personal import personal_context
from zhengwu.web.dependencies import (
    SESSION_COOKIE,
    app_state,
    portal_asker,
    portal_identity,
    portal_user_of,
    rate_limited,
    session_of,
    web_session,
)
from zhengwu.web.models import AnswerOut, ChatIn
from zhengwu.web.state import AppState

log = logging.getLogger("zhengwu.web")
router = APIRouter(tags=["chat"], dependencies=[Depends(rate_limited)])


def answer_question(state: AppState, body: ChatIn, session: str | Session | None,
                    on_delta: Callable[[str], None] | None = None) -> Answer:
    """The answer to one chat request; never raises for anything a citizen sends (a database outage is a 503).
    ``session``: the id the request named (continued only if the web API issued it: ``web_session``), or the
    session already looked up."""
    hotline = state.settings.hotline
    if not isinstance(session, Session):
        session = web_session(state, session)
    external_id = portal_identity(state, body.user_token) if body.user_token else None  # verified once
    owner = portal_user_of(state, external_id, create=False) if external_id is not None else None
    personal = None
    if body.personalise and owner is not None and state.people is not None:  # 不使用个性化: the plain answer
        personal = personal_context(state.people, owner)
    asker = portal_asker(state, external_id) if external_id is not None else None
    user = UserContext(region=body.region, personal=personal, user_id=owner, asker=asker)
    try:
        answer = state.assistant.ask(body.question, session=session, user=user, on_delta=on_delta)
        record_answer(answer.status, answer.provenance.kind, answer.reason)
        DEPENDENCY_UP.labels("database").set(1)
        return answer
    except HTTPException:
        raise
    except SQLAlchemyError as exc:  # the database is down: say so, clearly, and recover by itself
        log.error("database unavailable: %s", type(exc).__name__)
        DEPENDENCY_UP.labels("database").set(0)
        raise HTTPException(503, detail={"message": wording.say(wording.UNAVAILABLE, hotline),
                                         "detail": "database unavailable"}) from None
    except Exception:  # noqa: BLE001 - a bug must not become a 500 for the citizen
        log.exception("answering failed")
        return Answer(question="", text=wording.say(wording.APOLOGY, hotline), status="refused",
                      reason="internal_error")


def set_session_cookie(state: AppState, response: Response, session_id: str | None) -> None:
    if session_id:
        response.set_cookie(SESSION_COOKIE, session_id, max_age=int(state.settings.session_ttl_seconds),
                            httponly=True, samesite="lax")


@router.post("/api/v1/chat", response_model=AnswerOut)
async def chat(body: ChatIn, request: Request, response: Response,
               x_session_id: str | None = Header(default=None)) -> AnswerOut:
    """Ask one question; the answer cites its sources. Send back `session_id` for follow-ups."""
    state = app_state(request)
    async with state.answering:
        answer = await run_in_threadpool(answer_question, state, body, session_of(request, body.session_id,
                                                                                   x_session_id))
    set_session_cookie(state, response, answer.session_id)
    return AnswerOut.from_answer(answer)


@router.post("/api/v1/chat/stream", response_class=StreamingResponse,
             responses={200: {"content": {"text/event-stream": {}}}})
async def chat_stream(body: ChatIn, request: Request, x_session_id: str | None = Header(default=None)
                      ) -> StreamingResponse:
    """The same answer as Server-Sent Events: `delta` events with pieces of text as they are ready, then
    one `done` event carrying the whole answer (citations, status, session id). With an LLM configured,
    each verified sentence goes out as the model writes it; should the reply fail verification later, a
    `reset` event tells the client to discard the pieces shown so far, and the composer's answer follows."""
    state = app_state(request)
    # The cookie goes out with the headers, before the answer exists: fix the session id now.
    requested = session_of(request, body.session_id, x_session_id)
    session = await run_in_threadpool(web_session, state, requested) or Session(new_session_id())
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()

    def on_delta(text: str) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, ("delta", text))

    async def answer_it() -> None:
        async with state.answering:
            answer = await run_in_threadpool(answer_question, state, body, session, on_delta)
        queue.put_nowait(("answer", answer))

    # Runs to the end even if the client goes away: the turn is still recorded in the session.
    task = asyncio.create_task(answer_it())
    state.tasks.add(task)
    task.add_done_callback(state.tasks.discard)

    async def events() -> AsyncIterator[str]:
        streamed = 0
        while True:
            kind, value = await queue.get()
            if kind == "delta":
                streamed += 1
                yield _sse("delta", {"text": value})
                continue
            answer: Answer = value
            if answer.provenance.kind != "llm":
                if streamed:
                    yield _sse("reset", {})
                for piece in sentence_pieces(answer.text):
                    yield _sse("delta", {"text": piece})
            yield _sse("done", AnswerOut.from_answer(answer).model_dump())
            return

    response = StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    set_session_cookie(state, response, session.session_id)
    return response


def _sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"

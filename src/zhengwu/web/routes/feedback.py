"""``POST /api/v1/feedback``: the citizen's 👍/👎 on an answer of their own session."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from zhengwu.answering import wording
from zhengwu.web.dependencies import app_state, rate_limited, rateable_session, session_of
from zhengwu.web.models import ErrorOut, FeedbackIn

router = APIRouter(tags=["chat"], dependencies=[Depends(rate_limited)])


@router.post("/api/v1/feedback", responses={403: {"model": ErrorOut}, 404: {"model": ErrorOut}})
async def feedback(body: FeedbackIn, request: Request, x_session_id: str | None = Header(default=None)) -> dict:
    """Rate an answer: 1 有帮助 (👍) or -1 没帮助 (👎), replacing an earlier rating. Only the session that got
    the answer may rate it (`session_id`, the `X-Session-Id` header or the session cookie)."""
    store = app_state(request).reviews
    if store is None:
        raise HTTPException(404, detail={"message": wording.FEEDBACK_OFF,
                                         "detail": "feedback needs the personal-data store"})
    session = session_of(request, body.session_id, x_session_id)
    session = await run_in_threadpool(rateable_session, app_state(request), session)
    if session is None:
        raise HTTPException(403, detail={"message": wording.FEEDBACK_NOT_YOURS,
                                         "detail": "missing or invalid session id"})
    try:
        await run_in_threadpool(lambda: store.record_feedback(body.turn_id, body.value, "web", session_id=session))
    except LookupError:
        raise HTTPException(404, detail={"message": wording.FEEDBACK_NO_SUCH_ANSWER,
                                         "detail": "no such turn in this session"}) from None
    return {"message": wording.FEEDBACK_THANKS, "turn_id": body.turn_id, "value": body.value}

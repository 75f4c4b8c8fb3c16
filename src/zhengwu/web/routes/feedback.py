"""``POST /api/v1/feedback``: the citizen's 好差评 (five levels, or the older 👍/👎) on an answer of their own
session. A 差评 (不满意, 非常不满意) opens the answer's rectification in the review console."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from zhengwu.answering import wording
from zhengwu.review import WorkCalendar, thumbs_of
from zhengwu.web.dependencies import app_state, rate_limited, rateable_session, session_of
from zhengwu.web.models import ErrorOut, FeedbackIn

router = APIRouter(tags=["chat"], dependencies=[Depends(rate_limited)])


@router.post("/api/v1/feedback", responses={403: {"model": ErrorOut}, 404: {"model": ErrorOut}})
async def feedback(body: FeedbackIn, request: Request, x_session_id: str | None = Header(default=None)) -> dict:
    """Rate an answer with a 好差评 `level` (5 非常满意 … 1 非常不满意), or the thumbs `value` (1 有帮助 = 满意,
    -1 没帮助 = 不满意), replacing an earlier rating. Only the session that got the answer may rate it
    (`session_id`, the `X-Session-Id` header or the session cookie)."""
    state = app_state(request)
    store = state.reviews
    if store is None:
        raise HTTPException(404, detail={"message": wording.FEEDBACK_OFF,
                                         "detail": "feedback needs the personal-data store"})
    session = session_of(request, body.session_id, x_session_id)
    session = await run_in_threadpool(rateable_session, app_state(request), session)
    if session is None:
        raise HTTPException(403, detail={"message": wording.FEEDBACK_NOT_YOURS,
                                         "detail": "missing or invalid session id"})
    calendar = WorkCalendar.from_settings(state.settings)
    try:
        level = await run_in_threadpool(lambda: store.record_feedback(
            body.turn_id, body.value, "web", level=body.level, session_id=session, calendar=calendar))
    except LookupError:
        raise HTTPException(404, detail={"message": wording.FEEDBACK_NO_SUCH_ANSWER,
                                         "detail": "no such turn in this session"}) from None
    return {"message": wording.FEEDBACK_THANKS, "turn_id": body.turn_id, "value": thumbs_of(level), "level": level}

"""Reading and reviewing the assistant's answers.

    GET  /console/conversations                 turns, searchable by question, status, rating, feedback, date
    GET  /console/conversations/{session_id}    one conversation: answers, citations, retrieved documents
    POST /console/turns/{turn_id}/review        rate an answer (and its 好差评 level), give reasons, correct it,
                                                choose its sources

A reviewer's 差评 (不满意, 非常不满意) opens the turn's rectification (``routes.ratings``); a rated turn can be
added to the review set from its page (「加入测试集」, ``POST /console/turns/{turn_id}/test-case``).

Every opening of a conversation that belongs to a citizen is written to the audit log. Conversation texts were
masked (ID and mobile numbers) before they were stored.
"""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from zhengwu.answering.vocabulary import STATUS_LABELS
from zhengwu.review import RATING_LABELS, RATINGS, REASONS, REVIEW_REASON_LABELS, SATISFACTION_LEVELS, TurnFilter
from zhengwu.web.console.access import audit, documents, posted, resolve_sources, reviewer, reviews, turn_or_404
from zhengwu.web.console.auth import StaffSession
from zhengwu.web.console.pages import ConsoleError, page, page_number, redirect, turn_view
from zhengwu.web.console.routes.ratings import calendar_of, labels, notices
from zhengwu.web.dependencies import app_state

router = APIRouter(prefix="/console", include_in_schema=False)
PAGE_SIZE = 50
_SPLIT = re.compile(r"[、，,；;\n]+")  # between the phrases a corrected answer must contain


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@router.get("/conversations")
def conversations(request: Request, who: StaffSession = Depends(reviewer)) -> Response:
    q = request.query_params
    feedback = {"up": 1, "down": -1}.get(q.get("feedback", ""))
    where = TurnFilter(text=q.get("q", "")[:100], status=q.get("status", "") if q.get("status") in STATUS_LABELS else "",
                       rating=q.get("rating", "") if q.get("rating") in (*RATINGS, "unrated") else "",
                       feedback=feedback, since=_date(q.get("since")), until=_date(q.get("until")))
    number = page_number(q.get("page"))
    rows, total = reviews(request).search_turns(where, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE)
    pages = max(1, -(-total // PAGE_SIZE))
    params = {k: v for k, v in q.items() if k != "page" and v}
    return page(request, "conversations.html", who=who, rows=rows, total=total, where=where, page_number=number,
                pages=pages, params=params, query=q, statuses=STATUS_LABELS, ratings=RATING_LABELS,
                page_url=lambda n: "/console/conversations?" + urlencode({**params, "page": n}))


@router.get("/conversations/{session_id}")
def conversation(session_id: str, request: Request, who: StaffSession = Depends(reviewer)) -> Response:
    turns = reviews(request).conversation(session_id)
    if not turns:
        raise ConsoleError(404, "没有找到这段对话（可能已按保存期限删除）。")
    for user_id in dict.fromkeys(t.turn.user_id for t in turns if t.turn.user_id is not None):
        audit(request, who, "view_conversation", user_id, f"session {session_id[:8]}")
    docs = documents(request)
    index_store = app_state(request).assistant.index.store
    views = [turn_view(summary, docs, index_store) for summary in turns]
    regions = {doc_id: doc.region for doc_id, doc in docs.items()}
    return page(request, "conversation.html", who=who, session_id=session_id, turns=views,
                ratings=RATING_LABELS, reasons=REVIEW_REASON_LABELS, regions=regions, **labels(), **notices(request))


@router.post("/turns/{turn_id}/review")
async def review(turn_id: str, request: Request, who: StaffSession = Depends(reviewer)) -> Response:
    form = await posted(request, who)
    store = reviews(request)
    turn = await turn_or_404(request, turn_id)
    back = f"/console/conversations/{turn.session_id}#turn-{turn.id}"
    rating = str(form.get("rating", ""))
    if rating not in RATINGS:
        return redirect(back, error="rating")
    corrected = str(form.get("corrected_answer", "")).strip()
    if len(corrected) > 4000:
        return redirect(back, error="answer_too_long")
    sources, problem = await run_in_threadpool(resolve_sources, request, form)
    if problem:
        return redirect(back, error=problem)
    reasons = [r for r in form.getlist("reasons") if r in REASONS]
    must = [m.strip() for m in _SPLIT.split(str(form.get("must_contain", ""))) if m.strip()]
    level = next((lv for lv in SATISFACTION_LEVELS if str(form.get("level", "")) == str(lv)), None)  # optional
    calendar = calendar_of(request)
    opened = await run_in_threadpool(store.rectification_of, turn.id) if level is not None and level <= 2 else None
    await run_in_threadpool(lambda: store.add_review(
        turn.id, who.actor, rating, reasons, corrected_answer=corrected, sources=sources, must_contain=must,
        level=level, calendar=calendar))
    if level is not None and level <= 2 and opened is None:
        return redirect(back, msg="reviewed_poor")
    return redirect(back, msg="reviewed")

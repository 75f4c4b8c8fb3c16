"""Curated answers: what the assistant gives, with its sources, whenever their question (or a paraphrase) is
asked again.

    GET  /console/curated                       curated answers with their versions (reviewers)
    POST /console/curated                       admin: publish (a new version of) a curated answer
    POST /console/curated/{id}/withdraw         admin: withdraw one
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from zhengwu.web.console.access import admin, audit, documents, posted, resolve_sources, reviewer, reviews
from zhengwu.web.console.auth import StaffSession
from zhengwu.web.console.pages import ConsoleError, page, redirect, row_id

router = APIRouter(prefix="/console", include_in_schema=False)
log = logging.getLogger("zhengwu.review.console")


@router.get("/curated")
def curated(request: Request, who: StaffSession = Depends(reviewer)) -> Response:
    entries = reviews(request).curated_list()
    groups: dict[str, list[Any]] = {}
    for entry in entries:  # newest first: each question's latest version leads its group
        groups.setdefault(entry.question_key, []).append(entry)
    links = {doc_id: doc.source_url for doc_id, doc in documents(request).items()}  # present documents, links as now
    return page(request, "curated.html", who=who, groups=list(groups.values()), links=links)


@router.post("/curated")
async def publish(request: Request, who: StaffSession = Depends(admin)) -> Response:
    form = await posted(request, who)
    turn_id = row_id(form.get("turn_id", ""))
    turn = await run_in_threadpool(reviews(request).turn, turn_id) if turn_id is not None else None
    back = f"/console/conversations/{turn.session_id}#turn-{turn.id}" if turn else "/console/curated"
    question, answer = str(form.get("question", "")).strip(), str(form.get("answer", "")).strip()
    if not question or not answer:
        return redirect(back, error="need_question")
    if len(answer) > 4000:
        return redirect(back, error="answer_too_long")
    sources, problem = await run_in_threadpool(resolve_sources, request, form)
    if problem:
        return redirect(back, error=problem)
    if not sources:
        return redirect(back, error="need_sources")
    replaces = str(form.get("replaces_id", ""))
    entry = await run_in_threadpool(lambda: reviews(request).publish(
        question, answer, sources, who.actor, replaces_id=row_id(replaces)))
    await run_in_threadpool(audit, request, who, "publish_curated", None, f"#{entry.id} v{entry.version}")
    log.info("console: %s published curated answer %d v%d", who.actor, entry.id, entry.version)
    return redirect(back, msg="published")


@router.post("/curated/{curated_id}/withdraw")
async def withdraw(curated_id: str, request: Request, who: StaffSession = Depends(admin)) -> Response:
    await posted(request, who)
    row = row_id(curated_id)
    try:
        if row is None:
            raise LookupError(curated_id)
        entry = await run_in_threadpool(reviews(request).withdraw, row, who.actor)
    except LookupError:
        raise ConsoleError(404, "没有找到这条标准答案。") from None
    except ValueError:
        return redirect("/console/curated", error="not_published")
    await run_in_threadpool(audit, request, who, "withdraw_curated", None, f"#{entry.id} v{entry.version}")
    log.info("console: %s withdrew curated answer %d v%d", who.actor, entry.id, entry.version)
    return redirect("/console/curated", msg="withdrawn")

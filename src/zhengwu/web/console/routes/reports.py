"""What the reviews add up to: knowledge gaps and review sets.

    GET  /console/gaps, /console/gaps.csv                  questions the knowledge base failed, grouped
    GET  /console/handoffs                                 complaints, reports, suggestions handed off
    GET  /console/export, /console/export/reviewed.jsonl   review sets (shared/eval/FORMAT.md)
    GET  /console/health                                   corpus health of the running index
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from zhengwu.answering.vocabulary import HANDOFF_CATEGORY_LABELS
from zhengwu.quality.reports import health
from zhengwu.review import RATING_LABELS, RATINGS, gaps_csv, knowledge_gaps, review_items, review_jsonl
from zhengwu.web.console.access import reviewer, reviews
from zhengwu.web.console.auth import StaffSession
from zhengwu.web.console.pages import ConsoleError, download, page, page_number
from zhengwu.web.dependencies import app_state

router = APIRouter(prefix="/console", include_in_schema=False)
HANDOFF_PAGE_SIZE = 50


def _gaps(request: Request) -> list[Any]:
    return knowledge_gaps(reviews(request).gap_turns(), app_state(request).assistant.index)


_HEALTH: dict[tuple, str] = {}  # the last report, per index version, age limit and day: one build per change


@router.get("/health")
def health_page(request: Request, who: StaffSession = Depends(reviewer)) -> Response:
    """The corpus-health report (``zhengwu corpus health``) of the index the service answers from: guides
    missing 申请材料/咨询电话/办理时限, stale or undated documents, repealed, withdrawn or expired ones."""
    state = app_state(request)
    index = state.assistant.index
    days = state.settings.stale_after_days
    key = (id(index), index.version, days, date.today())
    if key not in _HEALTH:
        report = health.check_store(index.store, stale_days=days)
        _HEALTH.clear()
        _HEALTH[key] = health.render_html(report, source="审核台 · 当前索引")
    return HTMLResponse(_HEALTH[key])


@router.get("/gaps")
def gaps_page(request: Request, who: StaffSession = Depends(reviewer)) -> Response:
    return page(request, "gaps.html", who=who, gaps=_gaps(request))


@router.get("/gaps.csv")
def gaps_download(request: Request, who: StaffSession = Depends(reviewer)) -> Response:
    return download(gaps_csv(_gaps(request)), "text/csv; charset=utf-8", "knowledge-gaps.csv")


@router.get("/export")
def export_page(request: Request, who: StaffSession = Depends(reviewer)) -> Response:
    return page(request, "export.html", who=who, ratings=RATING_LABELS)


@router.get("/export/reviewed.jsonl")
def export_reviewed(request: Request, who: StaffSession = Depends(reviewer)) -> Response:
    floor = request.query_params.get("min_rating") or None
    only = request.query_params.get("rating") or None
    if any(value is not None and value not in RATINGS for value in (floor, only)):
        raise ConsoleError(422, "审核结果无效。")
    text = review_jsonl(review_items(reviews(request), floor, only))
    return download(text, "application/jsonl; charset=utf-8", "reviewed.jsonl")


@router.get("/handoffs")
def handoffs_page(request: Request, who: StaffSession = Depends(reviewer)) -> Response:
    q = request.query_params
    category = q.get("category", "") if q.get("category") in HANDOFF_CATEGORY_LABELS else ""
    number = page_number(q.get("page"))
    rows, total = reviews(request).handoffs(category or None, limit=HANDOFF_PAGE_SIZE,
                                            offset=(number - 1) * HANDOFF_PAGE_SIZE)
    pages = max(1, -(-total // HANDOFF_PAGE_SIZE))
    return page(request, "handoffs.html", who=who, rows=rows, total=total, category=category, kinds=HANDOFF_CATEGORY_LABELS,
                hotline=app_state(request).settings.hotline,
                page_number=number, pages=pages,
                page_url=lambda n: "/console/handoffs?" + urlencode({**({"category": category} if category else {}),
                                                                    "page": n}))

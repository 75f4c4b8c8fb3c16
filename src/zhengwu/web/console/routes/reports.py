"""What the reviews add up to: knowledge gaps and review sets.

    GET  /console/gaps, /console/gaps.csv                  questions the knowledge base failed, grouped
    GET  /console/export, /console/export/reviewed.jsonl   review sets (shared/eval/FORMAT.md)
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from zhengwu.review import RATING_LABELS, RATINGS, gaps_csv, knowledge_gaps, review_items, review_jsonl
from zhengwu.web.console.access import reviewer, reviews
from zhengwu.web.console.auth import StaffSession
from zhengwu.web.console.pages import ConsoleError, download, page
from zhengwu.web.dependencies import app_state

router = APIRouter(prefix="/console", include_in_schema=False)


def _gaps(request: Request) -> list[Any]:
    return knowledge_gaps(reviews(request).gap_turns(), app_state(request).assistant.index)


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

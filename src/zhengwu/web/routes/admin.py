"""``/api/v1/admin/*``: staff operations behind ``Authorization: Bearer $ZHENGWU_ADMIN_TOKEN``."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from zhengwu.answering import wording
from zhengwu.bootstrap import reindex as reindex_corpus
from zhengwu.personal import PeopleStore, doc_ids_by_item_code, import_history, read_history
from zhengwu.web.dependencies import app_state, staff_token
from zhengwu.web.models import StatsOut
from zhengwu.web.state import AppState

router = APIRouter(tags=["admin"], dependencies=[Depends(staff_token)])
HISTORY_FORMATS = ("csv", "jsonl")


@router.get("/api/v1/admin/stats", response_model=StatsOut)
async def stats(request: Request) -> StatsOut:
    state = app_state(request)
    assistant = state.assistant
    docs, chunks = assistant.index.store.count()
    return StatsOut(documents=docs, chunks=chunks, active_sessions=assistant.sessions.count(),
                    uptime_s=round(time.time() - state.started, 1), requests=state.requests)


@router.post("/api/v1/admin/history")
async def import_history_api(request: Request, format: str = "csv") -> dict:
    """Import service history: the body is a CSV or JSONL file (`?format=jsonl`), as for
    `zhengwu history import`. Rejected rows are listed with line, field and reason."""
    state = app_state(request)
    if state.people is None:
        raise HTTPException(503, detail="personal-data store not configured")
    if format not in HISTORY_FORMATS:
        raise HTTPException(422, detail={"message": wording.UNSUPPORTED_FILE, "detail": "format must be csv or jsonl"})
    body = await request.body()
    return await run_in_threadpool(_import_history, state.people, state, body, format)


@router.post("/api/v1/admin/reindex")
async def reindex(request: Request) -> dict:
    """Re-ingest the configured corpus folder (incremental: only changed documents are re-indexed)."""
    state = app_state(request)
    if not state.reindex_lock.acquire(blocking=False):
        raise HTTPException(409, detail="a reindex is already running")
    try:
        report = await run_in_threadpool(reindex_corpus, state.assistant.index, state.settings)
    finally:
        state.reindex_lock.release()
    return {
        "added": report.added, "updated": report.updated, "unchanged": report.unchanged, "removed": report.removed,
        "vectors_embedded": report.vectors_embedded, "seconds": round(report.seconds, 1),
        "errors": [{"path": e.path, "reason": e.reason} for e in report.errors],
        "warnings": [{"path": e.path, "reason": e.reason} for e in report.warnings],
    }


def _import_history(people: PeopleStore, state: AppState, body: bytes, suffix: str) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload.{suffix}"
        path.write_bytes(body)
        read = read_history(path)
    report = import_history(people, read, "api:admin", doc_ids_by_item_code(state.assistant.index.documents()))
    return {"inserted": report.inserted, "updated": report.updated, "users": report.users,
            "errors": [{"line": e.line, "field": e.field, "reason": e.reason} for e in report.errors],
            "warnings": [{"line": e.line, "field": e.field, "reason": e.reason} for e in report.warnings]}

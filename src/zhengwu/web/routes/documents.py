"""``/api/v1/admin/documents``: the console's document operations for scripts and other systems, behind the
admin token (``Authorization: Bearer``) or a staff member's console session (writes then need the session's
``X-CSRF-Token``). Reviewers read; administrators change. Errors carry a Chinese ``message``.

Publishing, withdrawing, rolling back and handing back return the background re-index job; poll
``GET /api/v1/admin/jobs/{id}`` until its ``state`` is ``done``.
"""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, UploadFile
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from zhengwu.config import secret
from zhengwu.documents import DOC_TYPES, Document
from zhengwu.library import Filters, JobData, Library, Refused, VersionData
from zhengwu.web.console.access import cookie_staff
from zhengwu.web.console.auth import StaffSession
from zhengwu.web.dependencies import app_state
from zhengwu.web.models import MAX_ROW_ID, ErrorOut

router = APIRouter(tags=["documents"], responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut},
                                                   404: {"model": ErrorOut}, 422: {"model": ErrorOut}})
MAX_TEXT_CHARS = 500_000


# -- who may ------------------------------------------------------------------------------------------------------

def staff(request: Request, authorization: str | None = Header(default=None)) -> StaffSession:
    """The admin token, or a signed-in staff member's console session; 401 otherwise."""
    state = app_state(request)
    token = state.settings.admin_token
    if authorization:
        if token is not None and secrets.compare_digest(authorization.encode(), f"Bearer {secret(token)}".encode()):
            return StaffSession(username="管理令牌", role="admin", csrf="", expires=0, via="bearer")
        raise HTTPException(401, detail={"message": "管理令牌不正确。", "detail": "wrong bearer token"},
                            headers={"WWW-Authenticate": "Bearer"})
    session = cookie_staff(request)
    if session is None:
        raise HTTPException(401, detail={"message": "请先登录审核台或提供管理令牌。", "detail": "not signed in"},
                            headers={"WWW-Authenticate": "Bearer"})
    return session


def admin(request: Request, who: StaffSession = Depends(staff),
          x_csrf_token: str | None = Header(default=None)) -> StaffSession:
    if not who.is_admin:
        raise HTTPException(403, detail={"message": "此操作需要管理员权限。", "detail": "admin role required"})
    if who.via != "bearer" and not (x_csrf_token and who.csrf
                                    and secrets.compare_digest(x_csrf_token.encode(), who.csrf.encode())):
        raise HTTPException(403, detail={"message": "请求来源无法确认（缺少 X-CSRF-Token）。", "detail": "csrf"})
    return who


def library(request: Request) -> Library:
    services = app_state(request).services
    lib = services.library if services is not None else None
    if lib is None:
        raise HTTPException(503, detail={"message": "资料管理需要连接数据库。", "detail": "no database configured"})
    return lib


def _refused(exc: Refused) -> HTTPException:
    return HTTPException(422, detail={"message": exc.zh, "detail": str(exc)})


def _not_found(what: str = "没有这份文档。") -> HTTPException:
    return HTTPException(404, detail={"message": what, "detail": "not found"})


# -- shapes -------------------------------------------------------------------------------------------------------

class ProblemOut(BaseModel):
    code: str
    message: str
    blocking: bool


class DocumentFields(BaseModel):
    """A document as the corpus format has it (docs/corpus-format.md)."""

    doc_id: str = Field(min_length=1, max_length=128)
    title: str = Field(min_length=1, max_length=300)
    body: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    doc_type: Literal["service_guide", "law", "policy", "faq"] = "policy"
    region: str = Field(default="全国", max_length=64)
    department: str = Field(default="", max_length=200)
    updated: str = Field(default="", max_length=32)
    source_url: str = Field(default="", max_length=2000)
    status: Literal["active", "repealed", "withdrawn", "draft"] = "active"
    extra: dict[str, str | int | float | bool | None] = Field(default_factory=dict)

    @classmethod
    def of(cls, doc: Document) -> DocumentFields:
        return cls(doc_id=doc.doc_id, title=doc.title, body=doc.body, doc_type=doc.doc_type, region=doc.region,  # type: ignore[arg-type]
                   department=doc.department, updated=doc.updated, source_url=doc.source_url,
                   status=doc.status, extra={k: v for k, v in doc.extra.items()  # type: ignore[arg-type]
                                             if isinstance(v, str | int | float | bool) or v is None})

    def document(self) -> Document:
        return Document(**self.model_dump())


class ChunkOut(BaseModel):
    section: str
    kind: str
    field: str
    text: str


class VersionOut(BaseModel):
    doc_id: str
    version: int
    origin: str
    filename: str
    created_by: str
    created_at: str
    content_hash: str
    problems: list[ProblemOut]
    publishable: bool
    document: DocumentFields | None = None
    chunks: list[ChunkOut] | None = None

    @classmethod
    def of(cls, v: VersionData, *, full: bool = False, chunks: list | None = None) -> VersionOut:
        return cls(doc_id=v.doc_id, version=v.version, origin=v.origin, filename=v.filename,
                   created_by=v.created_by, created_at=v.created_at.isoformat(), content_hash=v.content_hash,
                   problems=[ProblemOut(code=p.code, message=p.zh, blocking=p.blocking) for p in v.problems],
                   publishable=not v.blocking, document=DocumentFields.of(v.document) if full else None,
                   chunks=[ChunkOut(section=c.section, kind=c.kind, field=c.field, text=c.text) for c in chunks]
                   if chunks is not None else None)


class DocumentRowOut(BaseModel):
    doc_id: str
    title: str
    doc_type: str
    region: str
    department: str
    updated: str
    status: str
    origin: Literal["console", "file"]
    expires: str
    published_version: int | None
    latest_version: int | None
    flags: list[str]


class DocumentListOut(BaseModel):
    total: int
    documents: list[DocumentRowOut]


class DocumentOut(BaseModel):
    doc_id: str
    published_version: int | None
    indexed: bool
    source: str | None
    conflict: bool
    versions: list[VersionOut]


class UploadOut(BaseModel):
    drafts: list[VersionOut]
    errors: list[str]


class JobOut(BaseModel):
    id: int
    kind: str
    state: Literal["queued", "running", "done", "failed"]
    total: int
    done: int
    percent: int
    message: str
    report: dict[str, Any] | None

    @classmethod
    def of(cls, job: JobData) -> JobOut:
        return cls(id=job.id, kind=job.kind, state=job.state, total=job.total, done=job.done,  # type: ignore[arg-type]
                   percent=job.percent, message=job.message, report=job.report)


class EventOut(BaseModel):
    at: str
    actor: str
    action: str
    version: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    detail: str


class VersionIn(BaseModel):
    version: int = Field(ge=1, le=MAX_ROW_ID)


class WithdrawIn(BaseModel):
    status: Literal["withdrawn", "repealed"]
    effective: date = Field(default_factory=date.today, description="From this day on it is not answered from.")
    note: str = Field(default="", max_length=500)


# -- routes -------------------------------------------------------------------------------------------------------

@router.get("/api/v1/admin/documents", response_model=DocumentListOut)
async def list_documents(
    request: Request, who: StaffSession = Depends(staff),
    doc_type: str = "", region: str = "", department: str = "", status: str = "", origin: str = "",
    updated_since: str = "", search: str = "", limit: int = Query(default=100, ge=1, le=1000),
    offset: int = Query(default=0, ge=0, le=MAX_ROW_ID),
) -> DocumentListOut:
    """Documents from files and the console, filtered like the console's list (`status` may also be
    `expired`, `draft` or `conflict`)."""
    filters = Filters.of({"doc_type": doc_type, "region": region, "department": department, "status": status,
                          "origin": origin, "updated_since": updated_since, "search": search})
    rows = await run_in_threadpool(library(request).rows, filters)
    return DocumentListOut(total=len(rows), documents=[DocumentRowOut(
        doc_id=r.doc_id, title=r.title, doc_type=r.doc_type, region=r.region, department=r.department,
        updated=r.updated, status=r.status, origin=r.origin, expires=r.expires,  # type: ignore[arg-type]
        published_version=r.entry.published_version if r.entry else None,
        latest_version=r.entry.latest.version if r.entry else None, flags=r.flags)
        for r in rows[offset : offset + limit]])


@router.post("/api/v1/admin/documents", response_model=UploadOut, status_code=201)
async def upload_document(
    request: Request, file: UploadFile, who: StaffSession = Depends(admin),
    doc_type: str = Query(default="", description="for PDF, DOCX, HTML and TXT files"),
    region: str = Query(default="", max_length=64), department: str = Query(default="", max_length=200),
    source_url: str = Query(default="", max_length=2000), item_name: str = Query(default="", max_length=200),
) -> UploadOut:
    """Upload a PDF, DOCX, HTML, Markdown, TXT or JSONL file as drafts (nothing is published): each draft comes
    back with its problems; publish it with `POST …/{doc_id}/publish`."""
    lib = library(request)
    data = await file.read(lib.settings.max_upload_mb * 1024 * 1024 + 1)
    defaults = {"doc_type": doc_type if doc_type in DOC_TYPES else "", "region": region, "department": department,
                "source_url": source_url, "item_name": item_name}
    try:
        outcome = await run_in_threadpool(lib.upload, file.filename or "upload", data, who.actor, defaults)
    except Refused as exc:
        raise _refused(exc) from None
    if not outcome.versions:
        raise HTTPException(422, detail={"message": "；".join(outcome.errors), "detail": "no document in file"})
    return UploadOut(drafts=[VersionOut.of(v) for v in outcome.versions], errors=outcome.errors)


@router.get("/api/v1/admin/documents/{doc_id}", response_model=DocumentOut)
async def get_document(doc_id: str, request: Request, who: StaffSession = Depends(staff)) -> DocumentOut:
    lib = library(request)

    def read() -> DocumentOut:
        versions = lib.store.versions(doc_id)
        entry = lib.store.entry(doc_id)
        origin = lib.index.store.origin_of(doc_id)
        if not versions and origin is None:
            raise _not_found()
        return DocumentOut(doc_id=doc_id, published_version=entry.published_version if entry else None,
                           indexed=origin is not None, source=origin[0] if origin else None,
                           conflict=lib.conflict(doc_id) is not None, versions=[VersionOut.of(v) for v in versions])
    return await run_in_threadpool(read)


@router.get("/api/v1/admin/documents/{doc_id}/versions/{version}", response_model=VersionOut)
async def get_version(doc_id: str, version: int, request: Request, who: StaffSession = Depends(staff)) -> VersionOut:
    """One version with its text and its chunks as the index would cut them (the preview)."""
    lib = library(request)
    found = await run_in_threadpool(lib.store.version, doc_id, version) if 1 <= version <= MAX_ROW_ID else None
    if found is None:
        raise _not_found("没有这个版本。")
    preview = await run_in_threadpool(lib.preview, found)
    return VersionOut.of(found, full=True, chunks=preview.chunks)


@router.post("/api/v1/admin/documents/{doc_id}/versions", response_model=VersionOut, status_code=201)
async def new_version(doc_id: str, body: DocumentFields, request: Request,
                      who: StaffSession = Depends(admin)) -> VersionOut:
    """A new draft of a console document (its `doc_id` may change only while it was never published)."""
    lib = library(request)
    try:
        version = await run_in_threadpool(lib.edit, doc_id, body.document(), who.actor)
    except Refused as exc:
        raise _refused(exc) from None
    return VersionOut.of(version)


async def _job(call: Any, *args: Any) -> JobOut:
    try:
        return JobOut.of(await run_in_threadpool(call, *args))
    except Refused as exc:
        raise _refused(exc) from None


@router.post("/api/v1/admin/documents/{doc_id}/publish", response_model=JobOut, status_code=202)
async def publish(doc_id: str, body: VersionIn, request: Request, who: StaffSession = Depends(admin)) -> JobOut:
    return await _job(library(request).publish, doc_id, body.version, who.actor)


@router.post("/api/v1/admin/documents/{doc_id}/withdraw", response_model=JobOut, status_code=202)
async def withdraw(doc_id: str, body: WithdrawIn, request: Request, who: StaffSession = Depends(admin)) -> JobOut:
    """Withdraw (a service item) or repeal (a law or policy) from `effective` on."""
    return await _job(library(request).withdraw, doc_id, body.status, body.effective, who.actor, body.note)


@router.post("/api/v1/admin/documents/{doc_id}/rollback", response_model=JobOut, status_code=202)
async def rollback(doc_id: str, body: VersionIn, request: Request, who: StaffSession = Depends(admin)) -> JobOut:
    """Publish again what an earlier version said (as a new version)."""
    return await _job(library(request).rollback, doc_id, body.version, who.actor)


@router.post("/api/v1/admin/documents/{doc_id}/release", response_model=JobOut, status_code=202)
async def release(doc_id: str, request: Request, who: StaffSession = Depends(admin)) -> JobOut:
    """Stop publishing the console's version: the file's version answers again."""
    return await _job(library(request).release, doc_id, who.actor)


@router.get("/api/v1/admin/documents/{doc_id}/events", response_model=list[EventOut])
async def events(doc_id: str, request: Request, who: StaffSession = Depends(staff)) -> list[EventOut]:
    """The audit trail of one document: who did what when, with the state before and after."""
    rows = await run_in_threadpool(library(request).store.events, doc_id, 500)
    return [EventOut(at=e.at.isoformat(), actor=e.actor, action=e.action, version=e.version, before=e.before,
                     after=e.after, detail=e.detail) for e in rows]


@router.get("/api/v1/admin/jobs/{job_id}", response_model=JobOut)
async def job(job_id: int, request: Request, who: StaffSession = Depends(staff)) -> JobOut:
    found = await run_in_threadpool(library(request).store.job, job_id) if 1 <= job_id <= MAX_ROW_ID else None
    if found is None:
        raise _not_found("没有这个任务。")
    return JobOut.of(found)


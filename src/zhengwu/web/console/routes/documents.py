"""The knowledge base in the console: documents staff upload, preview, edit, publish, withdraw and roll back.
Reviewers read everything; administrators change it. Every change is a new version and a line in the trail.

    GET  /console/documents                          documents from files and the console, with filters
    GET  /console/documents/new                      admin: the upload form
    POST /console/documents/upload                   admin: parse a file into drafts (nothing is published)
    GET  /console/documents/jobs/{id}                a background re-index's progress (JSON, polled by the page)
    POST /console/documents/reindex                  admin: re-read the corpus folder in the background
    GET  /console/documents/{doc_id}                 one document: versions, trail, conflict, actions
    GET  /console/documents/{doc_id}/v/{n}           a version: its front matter, problems, chunks, the diff
    GET  /console/documents/{doc_id}/v/{n}.md        a version as a corpus Markdown file
    GET  /console/documents/{doc_id}/edit            admin: the form (front matter, guide fields, text)
    POST /console/documents/{doc_id}/edit            admin: a new draft from the form
    POST /console/documents/{doc_id}/{action}        admin: publish, withdraw, rollback, release, take-disk,
                                                     keep, discard
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from zhengwu.documents import DOC_TYPE_LABELS, DOC_TYPES, EXPIRES, NATIONAL, STATUSES, Document
from zhengwu.documents.guide_fields import LABELS as FIELD_LABELS
from zhengwu.library import (
    ACTION_LABELS,
    BASIC_FACTS,
    EXTRA_LABELS,
    JOB_STATE_LABELS,
    ORIGIN_LABELS,
    SECTION_HEADINGS,
    STATUS_LABELS,
    Filters,
    Library,
    Refused,
    diff,
    document_markdown,
    guide_form,
    with_guide_form,
)
from zhengwu.web.console.access import admin, posted, reviewer
from zhengwu.web.console.auth import StaffSession
from zhengwu.web.console.pages import ConsoleError, download, page, page_number, redirect, row_id
from zhengwu.web.dependencies import app_state

router = APIRouter(prefix="/console", include_in_schema=False)
log = logging.getLogger("zhengwu.library.console")
PAGE_SIZE = 50
MAX_DOC_ID = 128
MAX_TEXT_CHARS = 500_000  # a document's text typed into the form (the largest bundled law is ~120,000)

NOTICES = {
    "uploaded": "已解析为草稿，尚未发布。请核对切分结果和提示后发布。",
    "saved": "已保存为新草稿，尚未发布。",
    "published": "已提交发布，正在后台更新索引；完成后群众提问即按新版本作答。",
    "withdrawn": "已提交撤销/废止，正在后台更新索引。",
    "rolled_back": "已回滚并提交发布，正在后台更新索引。",
    "released": "已交还磁盘文件，正在后台更新索引。",
    "taken": "已将磁盘文件版本存为新草稿，请核对后发布。",
    "kept": "已保留审核台版本。",
    "discarded": "草稿已放弃。",
    "reindexing": "已开始重新读取语料文件夹。",
    "drafts_published": "已发布 {published} 份草稿，正在后台更新索引；{held} 份有必须修改的问题，未发布。",
}


def library(request: Request) -> Library:
    services = app_state(request).services
    lib = services.library if services is not None else None
    if lib is None:
        raise ConsoleError(503, "资料管理需要连接数据库（ZHENGWU_DATABASE_URL），当前服务未配置。")
    return lib


def _doc_url(doc_id: str, tail: str = "") -> str:
    return f"/console/documents/{quote(doc_id, safe='')}{tail}"


def _check_id(doc_id: str) -> str:
    if not doc_id or len(doc_id) > MAX_DOC_ID or any(ord(c) < 32 for c in doc_id):
        raise ConsoleError(404, "没有这份文档。")
    return doc_id


def _labels() -> dict[str, Any]:
    return {"doc_types": DOC_TYPE_LABELS, "statuses": STATUS_LABELS, "actions": ACTION_LABELS,
            "origins": ORIGIN_LABELS, "job_states": JOB_STATE_LABELS, "field_labels": FIELD_LABELS,
            "doc_url": _doc_url, "notices": NOTICES,
            "extra_labels": EXTRA_LABELS}


def _notice(request: Request) -> str:
    notice = NOTICES.get(request.query_params.get("done", ""), "")
    if "{" in notice:  # counts only, never text from the URL
        counts = {k: request.query_params.get(k, "") for k in ("published", "held")}
        if not all(v.isascii() and v.isdigit() and len(v) < 7 for v in counts.values()):
            return ""
        notice = notice.format(**counts)
    return notice


# -- reads -------------------------------------------------------------------------------------------------------

@router.get("/documents")
def documents_page(request: Request, who: StaffSession = Depends(reviewer)) -> Response:
    lib = library(request)
    filters = Filters.of(request.query_params)
    all_rows = lib.rows()  # once: the filters, the region choices and the counts all read it
    rows = [r for r in all_rows if filters.matches(r)]
    number = page_number(request.query_params.get("page"))
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    shown = rows[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]
    query = {k: v for k, v in vars(filters).items() if v}
    drafts = sum(1 for r in all_rows if r.status == "draft" or "draft" in r.flags)
    return page(request, "documents.html", who=who, active="documents", rows=shown, total=len(rows), drafts=drafts,
                filters=filters, jobs=lib.store.jobs(5), done_notice=_notice(request),
                regions=sorted({r.region for r in all_rows}), page_number=number, pages=pages,
                page_url=lambda n: "/console/documents?" + urlencode({**query, "page": n}),
                conflicts=sum(1 for r in all_rows if r.conflict), **_labels())


@router.get("/documents/new")
def upload_form(request: Request, who: StaffSession = Depends(admin)) -> Response:
    return _upload_page(request, who)


def _upload_page(request: Request, who: StaffSession, error: str = "", status: int = 200, created: int = 0,
                 record_errors: list[str] | None = None) -> Response:
    # Errors are rendered here, never taken from the URL: a link cannot put words in the console's mouth.
    return page(request, "document_upload.html", status, who=who, active="documents",
                max_mb=library(request).settings.max_upload_mb, error=error, created=created,
                record_errors=record_errors or [], **_labels())


@router.get("/documents/jobs/{job_id}")
def job_status(job_id: str, request: Request, who: StaffSession = Depends(reviewer)) -> Response:
    number = row_id(job_id)
    job = library(request).store.job(number) if number is not None else None
    if job is None:
        return JSONResponse({"message": "没有这个任务。"}, status_code=404)
    return JSONResponse(job.to_dict(), headers={"Cache-Control": "no-store"})


@router.get("/documents/{doc_id}")
def document_page(doc_id: str, request: Request, who: StaffSession = Depends(reviewer)) -> Response:
    return _document_view(request, who, _check_id(doc_id))


def _document_view(request: Request, who: StaffSession, doc_id: str, error: str = "", status: int = 200) -> Response:
    lib = library(request)
    versions = lib.store.versions(doc_id)
    entry = lib.store.entry(doc_id)
    indexed = lib.index.documents().get(doc_id)
    if not versions and indexed is None:
        raise ConsoleError(404, "没有这份文档。")
    origin = lib.index.store.origin_of(doc_id)
    return page(request, "document.html", status, who=who, active="documents", error=error, doc_id=doc_id, versions=versions,
                entry=entry, indexed=indexed, origin=origin, shadow=lib.shadow(doc_id),
                conflict=lib.conflict(doc_id), events=lib.store.events(doc_id, 100), today=date.today().isoformat(),
                jobs=lib.store.jobs(3), done_notice=_notice(request), **_labels())


def _version_or_404(lib: Library, doc_id: str, raw: str) -> Any:
    number = row_id(raw)
    version = lib.store.version(_check_id(doc_id), number) if number is not None else None
    if version is None:
        raise ConsoleError(404, "没有这个版本。")
    return version


@router.get("/documents/{doc_id}/v/{number}.md")
def version_markdown(doc_id: str, number: str, request: Request, who: StaffSession = Depends(reviewer)) -> Response:
    version = _version_or_404(library(request), doc_id, number)
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in version.doc_id)[:80]
    return download(document_markdown(version.document), "text/markdown; charset=utf-8", f"{name}-v{version.version}.md")


@router.get("/documents/{doc_id}/v/{number}")
def version_page(doc_id: str, number: str, request: Request, who: StaffSession = Depends(reviewer)) -> Response:
    lib = library(request)
    version = _version_or_404(lib, doc_id, number)
    preview = lib.preview(version)
    entry = lib.store.entry(version.doc_id)
    published = (lib.store.version(version.doc_id, entry.published_version)
                 if entry is not None and entry.published_version is not None else None)
    compare_to = published if published is not None and published.version != version.version else None
    if compare_to is None and version.version > 1:
        compare_to = lib.store.version(version.doc_id, version.version - 1)
    return page(request, "document_version.html", who=who, active="documents", version=version, preview=preview,
                entry=entry, compare_to=compare_to,
                changes=diff(compare_to.document if compare_to else None, version.document),
                markdown=document_markdown(version.document), done_notice=_notice(request), **_labels())


@router.get("/documents/{doc_id}/edit")
def edit_form(doc_id: str, request: Request, who: StaffSession = Depends(admin)) -> Response:
    return _edit_view(request, who, _check_id(doc_id))


def _edit_view(request: Request, who: StaffSession, doc_id: str, error: str = "", status: int = 200,
               draft: Document | None = None) -> Response:
    lib = library(request)
    entry = lib.store.entry(doc_id)
    if entry is None:
        # A document from a file: the form starts from the file's text; saving makes the console's first draft.
        try:
            base = lib.current(doc_id)
        except Refused as exc:
            raise ConsoleError(404, exc.zh) from exc
        based_on = None
    else:
        base, based_on = entry.latest.document, entry.latest.version
    base = draft or base  # a refused form comes back as it was typed
    return page(request, "document_edit.html", status, who=who, active="documents", doc=base, based_on=based_on,
                entry=entry, guide=guide_form(base), facts=BASIC_FACTS, sections=SECTION_HEADINGS,
                doc_type_choices=DOC_TYPES, status_choices=STATUSES, expires=str(base.extra.get(EXPIRES) or ""),
                error=error, **_labels())


# -- writes ------------------------------------------------------------------------------------------------------

@router.post("/documents/upload")
async def upload(request: Request, who: StaffSession = Depends(admin)) -> Response:
    lib = library(request)
    form = await posted(request, who)
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        return _upload_page(request, who, "请选择要上传的文件。", 422)
    limit = lib.settings.max_upload_mb * 1024 * 1024
    data = await file.read(limit + 1)
    defaults = {k: str(form.get(k) or "") for k in ("doc_type", "region", "department", "source_url", "updated",
                                                    "item_name")}
    if defaults["doc_type"] and defaults["doc_type"] not in DOC_TYPES:
        defaults["doc_type"] = ""
    try:
        outcome = await run_in_threadpool(lib.upload, file.filename, data, who.actor, defaults)
    except Refused as exc:
        log.info("console: %s uploaded a file that was refused: %s", who.actor, exc)
        return _upload_page(request, who, exc.zh, 422)
    if not outcome.versions:
        return _upload_page(request, who, "；".join(outcome.errors)[:1000], 422)
    first = outcome.versions[0]
    log.info("console: %s uploaded %d draft(s) from a %s file", who.actor, len(outcome.versions),
             file.filename.rsplit(".", 1)[-1][:8])
    if len(outcome.versions) > 1 or outcome.errors:  # a knowledge base: say what became drafts and what did not
        return _upload_page(request, who, created=len(outcome.versions), record_errors=outcome.errors)
    return redirect(_doc_url(first.doc_id, f"/v/{first.version}"), done="uploaded")


@router.post("/documents/publish-drafts")
async def publish_drafts(request: Request, who: StaffSession = Depends(admin)) -> Response:
    await posted(request, who)
    published, held, _ = await run_in_threadpool(library(request).publish_drafts, who.actor)
    log.info("console: %s published %d draft(s), %d held back", who.actor, published, held)
    return redirect("/console/documents", done="drafts_published", published=published, held=held)


@router.post("/documents/reindex")
async def reindex(request: Request, who: StaffSession = Depends(admin)) -> Response:
    await posted(request, who)
    await run_in_threadpool(library(request).reindex_folder, who.actor)
    return redirect("/console/documents", done="reindexing")


@router.post("/documents/{doc_id}/edit")
async def save_edit(doc_id: str, request: Request, who: StaffSession = Depends(admin)) -> Response:
    lib = library(request)
    doc_id = _check_id(doc_id)
    form = await posted(request, who)
    entry = await run_in_threadpool(lib.store.entry, doc_id)
    document = None
    try:
        base = entry.latest.document if entry is not None else await run_in_threadpool(lib.current, doc_id)
        document = _document_from_form(base, form)
        version = await run_in_threadpool(lib.edit, doc_id, document, who.actor)
    except Refused as exc:
        return await run_in_threadpool(_edit_view, request, who, doc_id, exc.zh, 422, document)
    return redirect(_doc_url(version.doc_id, f"/v/{version.version}"), done="saved")


def _document_from_form(base: Document, form: Any) -> Document:
    def text(name: str, limit: int = 1000) -> str:
        value = str(form.get(name) or "").replace("\r\n", "\n").replace("\r", "\n")
        if len(value) > limit:
            raise Refused(f"“{name}”过长（最多 {limit} 字）。")
        return value.strip()

    doc_type = text("doc_type", 32) or base.doc_type
    status = text("status", 32) or base.status
    if doc_type not in DOC_TYPES or status not in STATUSES:
        raise Refused("请选择有效的类型和状态。")
    expires = text("expires", 10)
    if expires:
        try:
            date.fromisoformat(expires)
        except ValueError:
            raise Refused("失效日期应为“年-月-日”，例如 2027-01-01。") from None
    extra = {k: v for k, v in base.extra.items() if k != EXPIRES}
    if expires:
        extra[EXPIRES] = expires
    doc = replace(base, doc_id=text("doc_id", MAX_DOC_ID) or base.doc_id, title=text("title", 300),
                  doc_type=doc_type, region=text("region", 64) or NATIONAL, department=text("department", 200),
                  updated=text("updated", 32), source_url=text("source_url", 2000), status=status,
                  body=text("body", MAX_TEXT_CHARS) or base.body, extra=extra)
    if doc.doc_type == "service_guide" and form.get("guide_form") == "1":
        doc = with_guide_form(doc, {name: text(f"guide_{name}", 20_000) for name in (*BASIC_FACTS, *SECTION_HEADINGS)})
    return doc


def _version_number(form: Any) -> int:
    number = row_id(form.get("version", ""))
    if number is None:
        raise Refused("没有这个版本。")
    return number


def _withdraw(lib: Library, doc_id: str, form: Any, actor: str) -> None:
    try:
        effective = date.fromisoformat(str(form.get("effective") or date.today().isoformat()))
    except ValueError:
        raise Refused("生效日期应为“年-月-日”，例如 2027-01-01。") from None
    lib.withdraw(doc_id, str(form.get("status") or ""), effective, actor, str(form.get("note") or "")[:500])


# action in the URL -> (what it does, the notice key it ends with)
_ACTIONS: dict[str, tuple[Any, str]] = {
    "publish": (lambda lib, doc_id, form, actor: lib.publish(doc_id, _version_number(form), actor), "published"),
    "withdraw": (_withdraw, "withdrawn"),
    "rollback": (lambda lib, doc_id, form, actor: lib.rollback(doc_id, _version_number(form), actor), "rolled_back"),
    "release": (lambda lib, doc_id, form, actor: lib.release(doc_id, actor), "released"),
    "take-disk": (lambda lib, doc_id, form, actor: lib.take_disk(doc_id, actor), "taken"),
    "keep": (lambda lib, doc_id, form, actor: lib.keep(doc_id, actor), "kept"),
    "discard": (lambda lib, doc_id, form, actor: lib.discard(doc_id, actor), "discarded"),
}


def _action(name: str, lib: Library, doc_id: str, form: Any, actor: str) -> str:
    """Run one document action; returns the notice key."""
    if name not in _ACTIONS:
        raise ConsoleError(404, "没有这个操作。")
    run, notice = _ACTIONS[name]
    run(lib, doc_id, form, actor)
    return notice


@router.post("/documents/{doc_id}/{action}")
async def document_action(doc_id: str, action: str, request: Request, who: StaffSession = Depends(admin)) -> Response:
    lib = library(request)
    doc_id = _check_id(doc_id)
    form = await posted(request, who)
    try:
        notice = await run_in_threadpool(_action, action, lib, doc_id, form, who.actor)
    except Refused as exc:
        return await run_in_threadpool(_document_view, request, who, doc_id, exc.zh, 422)
    log.info("console: %s did %s on a document", who.actor, action)
    if notice == "discarded":
        return redirect("/console/documents", done=notice)
    if notice == "taken":
        latest = await run_in_threadpool(lib.store.entry, doc_id)
        if latest is not None:
            return redirect(_doc_url(doc_id, f"/v/{latest.latest.version}"), done=notice)
    return redirect(_doc_url(doc_id), done=notice)

"""The review console: server-rendered pages under ``/console`` where staff judge the assistant's answers.

    GET  /console/login, POST /console/login, POST /console/login/token, POST /console/logout
    GET  /console/conversations                 turns, searchable by question, status, rating, feedback, date
    GET  /console/conversations/{session_id}    one conversation: answers, citations, retrieved documents
    POST /console/turns/{turn_id}/review        rate an answer, give reasons, correct it, choose its sources
    GET  /console/curated                       curated answers with their versions
    POST /console/curated                       } admin: publish (a new version of) a curated answer
    POST /console/curated/{id}/withdraw         } admin: withdraw one
    GET  /console/gaps, /console/gaps.csv       knowledge gaps
    GET  /console/export, /console/export/reviewed.jsonl   review sets (shared/eval/FORMAT.md)
    GET  /console/staff, POST /console/staff[/{username}/role|active|password]   admin: staff accounts

Reviewers may read, rate and correct; administrators may also publish and withdraw curated answers and manage
staff. Staff sign in with a user name and password (``zhengwu staff add``) or the admin token, or send the token
as ``Authorization: Bearer`` (scripts; no CSRF token needed then, as no browser sends that header by itself).
Every opening of a conversation that belongs to a citizen is written to the audit log. The UI is in Chinese;
conversation texts were masked (ID and mobile numbers) before they were stored.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from zhengwu.config import Settings, secret
from zhengwu.web.console.auth import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    SESSION_SECONDS,
    LoginThrottle,
    SessionSigner,
    StaffSession,
    console_key,
)
from zhengwu.review.export import review_items, review_jsonl
from zhengwu.review.gaps import gaps_csv, knowledge_gaps
from zhengwu.review.passwords import password_problem
from zhengwu.review.records import CHINA_TIME, RATINGS, REASONS, ROLES, Source, TurnFilter
from zhengwu.review.store import USERNAME, ReviewStore

WEB = Path(__file__).resolve().parent
TEMPLATES = WEB / "templates"
STATIC = WEB / "static"
PAGE_SIZE = 50
CHUNKS_SHOWN = 8
CHUNK_CHARS = 400

log = logging.getLogger("zhengwu.review.console")

STATUS_LABELS = {"answered": "已回答", "refused": "已拒答", "clarify": "请求澄清"}
REASON_LABELS = {
    "weak_evidence": "资料不足", "out_of_region": "地区未收录", "out_of_scope": "超出服务范围",
    "personal_data": "涉及个人信息", "internal_error": "系统错误", "empty": "空问题", "too_long": "问题过长",
    "language": "非中文", "unreadable": "无法识别", "needs_consent": "需授权",
}
RATING_LABELS = {"correct": "正确", "partly": "部分正确", "wrong": "错误", "should_refuse": "应拒答"}
REVIEW_REASON_LABELS = {
    "retrieval_miss": "检索遗漏", "wrong_region": "地区不符", "outdated_source": "资料过时",
    "wording": "表述不当", "other": "其他",
}
ROLE_LABELS = {"reviewer": "审核员", "admin": "管理员"}
CHANNEL_LABELS = {"web": "网页", "telegram": "Telegram", "wechat": "微信公众号", "wecom": "企业微信"}
DOC_TYPE_LABELS = {"service_guide": "办事指南", "law": "法律法规", "policy": "政策文件", "faq": "问答"}
MESSAGES = {
    "reviewed": "评价已保存。",
    "published": "已发布为标准答案。同一问题及其近似问法将直接使用该答案。",
    "withdrawn": "标准答案已撤回，相关问题恢复按资料检索作答。",
    "staff_added": "账号已创建。",
    "staff_updated": "账号已更新。",
}
ERRORS = {
    "rating": "请选择评价结果。",
    "answer_too_long": "答案过长（最多 4000 字）。",
    "need_question": "请填写问题和答案。",
    "need_sources": "发布标准答案至少需要一个仍在资料库中的来源文件。",
    "unknown_doc": "找不到填写的文件，请填写文件编号或完整标题。",
    "ambiguous_doc": "有多个文件使用该标题，请改填文件编号。",
    "not_published": "该标准答案已撤回。",
    "username": "用户名为 2–64 位字母、数字、“.”“_”“-”，以字母或数字开头。",
    "password": "密码至少 10 位，且至少包含 4 种不同字符。",
    "password_mismatch": "两次输入的密码不一致。",
    "exists": "该用户名已存在。",
    "last_admin": "至少需要保留一名启用的管理员。",
    "role": "请选择有效的角色。",
}
_SPLIT = re.compile(r"[、，,；;\n]+")


class ConsoleError(Exception):
    """Ends a console request with an HTML page: an error, or (``login``) the sign-in form."""

    def __init__(self, status: int, message: str, *, login: bool = False, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.login, self.headers = status, message, login, headers or {}


def _china_time(moment: datetime | None, with_seconds: bool = False) -> str:
    if moment is None:
        return ""
    return moment.astimezone(CHINA_TIME).strftime("%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M")


def _path_label(path: str) -> str:
    if not path:
        return ""
    if path.startswith("curated:v"):
        return f"标准答案 第{path.removeprefix('curated:v')}版"
    if path.startswith("llm:"):
        return "大模型生成"
    return {"composer": "资料摘录"}.get(path, path)


def _actor_label(actor: str | None) -> str:
    """Audit names as staff know them: "console:wang" -> wang, the admin token and the command line by name."""
    if not actor:
        return ""
    if actor == "admin-token":
        return "管理令牌"
    if actor.startswith("console:"):
        return actor.removeprefix("console:")
    if actor.startswith("cli:"):
        return f"{actor.removeprefix('cli:')}（命令行）"
    return actor


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(
        china_time=_china_time, path_label=_path_label, actor_label=_actor_label,
        status_label=lambda s: STATUS_LABELS.get(s, s), reason_label=lambda s: REASON_LABELS.get(s, s),
        rating_label=lambda s: RATING_LABELS.get(s, s), review_reason_label=lambda s: REVIEW_REASON_LABELS.get(s, s),
        role_label=lambda s: ROLE_LABELS.get(s, s), channel_label=lambda s: CHANNEL_LABELS.get(s, s),
        doc_type_label=lambda s: DOC_TYPE_LABELS.get(s, s), source_value=lambda s: json.dumps(
            {"doc_id": s.doc_id, "section": s.section}, ensure_ascii=False),
    )
    return env


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _safe_next(value: str | None) -> str:
    """Only a path inside the console: never an open redirect to another site."""
    if value and value.startswith("/console") and not value.startswith("//") and "\\" not in value:
        return value
    return "/console/conversations"


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _redirect(url: str, **params: Any) -> RedirectResponse:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    anchor = ""
    if "#" in url:
        url, anchor = url.split("#", 1)
        anchor = "#" + anchor
    return RedirectResponse(f"{url}{'?' + query if query else ''}{anchor}", status_code=303)


def install_console(
    app: FastAPI, settings: Settings, *, people: Callable[[], Any], assistant: Callable[[], Any]
) -> None:
    """Add the console's routes, its static files and its error page to ``app``."""
    key = console_key(settings)
    signer = SessionSigner(key) if key else None
    admin_token = secret(settings.admin_token)
    token_tag = signer.token_tag(admin_token) if signer else ""
    throttle = LoginThrottle()
    env = _environment()
    cache: dict[str, ReviewStore] = {}
    router = APIRouter(prefix="/console", include_in_schema=False)

    # -- plumbing -------------------------------------------------------------------------------------------
    def store() -> ReviewStore:
        people_store = people()
        if people_store is None or getattr(people_store, "engine", None) is None:
            raise ConsoleError(503, "审核台需要连接个人数据库（ZHENGWU_DATABASE_URL），当前服务未配置。")
        if cache.get("engine") is not people_store.engine:
            cache["store"], cache["engine"] = ReviewStore.of(people_store), people_store.engine
        return cache["store"]

    def audit(who: StaffSession, action: str, user_id: int | None = None, detail: str = "") -> None:
        people_store = people()
        if people_store is not None:
            people_store.audit(who.actor, action, user_id, detail)

    def page(request: Request, name: str, status: int = 200, who: StaffSession | None = None,
             **context: Any) -> HTMLResponse:
        html = env.get_template(name).render(
            request=request, who=who, csrf=who.csrf if who else "", messages=MESSAGES, errors=ERRORS,
            notice=MESSAGES.get(request.query_params.get("msg", "")),
            problem=ERRORS.get(request.query_params.get("error", "")), **context,
        )
        response = HTMLResponse(html, status_code=status)
        _protect(response)
        return response

    def login_page(request: Request, status: int = 200, message: str = "", next_url: str = "") -> HTMLResponse:
        assert signer is not None
        nonce = secrets.token_urlsafe(24)
        response = page(request, "login.html", status, login_csrf=signer.login_csrf(nonce), message=message,
                        next_url=_safe_next(next_url or request.query_params.get("next")),
                        token_login=admin_token is not None)
        response.set_cookie(LOGIN_COOKIE, nonce, max_age=3600, path="/console", httponly=True, samesite="strict",
                            secure=request.url.scheme == "https")
        return response

    @app.exception_handler(ConsoleError)
    async def console_error(request: Request, exc: ConsoleError) -> Response:
        if exc.login and signer is not None:
            here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            response = login_page(request, exc.status, exc.message, here if request.method == "GET" else "")
        else:
            response = page(request, "error.html", exc.status, message=exc.message)
        for name, value in exc.headers.items():
            response.headers[name] = value
        return response

    def signed_in(request: Request) -> StaffSession | None:
        if signer is None:
            raise ConsoleError(404, "审核台未启用：请设置 ZHENGWU_CONSOLE_SECRET 或 ZHENGWU_ADMIN_TOKEN。")
        header = request.headers.get("authorization", "")
        if admin_token and header.startswith("Bearer "):
            if secrets.compare_digest(header.encode(), f"Bearer {admin_token}".encode()):
                return StaffSession(username="管理令牌", role="admin", csrf="", expires=0, via="bearer")
            raise ConsoleError(401, "管理令牌不正确。", headers={"WWW-Authenticate": "Bearer"})
        session = signer.read(request.cookies.get(SESSION_COOKIE), token_tag)
        if session is None or session.via != "password":
            return session
        account = store().staff(session.username)  # role and status as they are now, not as at sign-in
        if account is None or not account.active:
            return None
        return StaffSession(account.username, account.role, session.csrf, session.expires, session.via)

    def reviewer(request: Request) -> StaffSession:
        who = signed_in(request)
        if who is None:
            raise ConsoleError(401, "请先登录审核台。", login=True)
        return who

    def admin(request: Request) -> StaffSession:
        who = reviewer(request)
        if not who.is_admin:
            raise ConsoleError(403, "此操作需要管理员权限。")
        return who

    async def posted(request: Request, who: StaffSession) -> Any:
        """The submitted form, once its CSRF token is checked."""
        form = await request.form()
        if who.via != "bearer":
            token = str(form.get("csrf_token", ""))
            if not who.csrf or not secrets.compare_digest(token.encode(), who.csrf.encode()):
                raise ConsoleError(403, "页面已过期或请求来源无法确认（CSRF 校验失败），请刷新页面后重试。")
        return form

    def documents() -> dict[str, Any]:
        return assistant().index.documents()

    def resolve_sources(form: Any) -> tuple[list[Source], str | None]:
        """Sources picked (checkboxes) plus one typed document id or exact title; titles and links are taken from
        the index, never from the form."""
        docs = documents()
        picked: list[Source] = []
        for raw in form.getlist("source"):
            try:
                value = json.loads(raw)
                doc_id, section = str(value["doc_id"]), str(value.get("section", ""))
            except (ValueError, KeyError, TypeError):
                continue
            doc = docs.get(doc_id)
            if doc is not None:
                picked.append(Source(doc_id, doc.title, section, doc.source_url))
        typed = str(form.get("extra_doc", "")).strip()
        if typed:
            if typed in docs:
                doc = docs[typed]
            else:
                named = [d for d in docs.values() if d.title == typed]
                if len(named) != 1:
                    return picked, "ambiguous_doc" if named else "unknown_doc"
                doc = named[0]
            picked.append(Source(doc.doc_id, doc.title, str(form.get("extra_section", "")).strip(), doc.source_url))
        unique = {(s.doc_id, s.section): s for s in picked}
        return list(unique.values()), None

    # -- sign in and out ------------------------------------------------------------------------------------
    def login_checks(request: Request, form: Any) -> None:
        nonce = request.cookies.get(LOGIN_COOKIE, "")
        token = str(form.get("csrf_token", ""))
        if not nonce or not secrets.compare_digest(token.encode(), signer.login_csrf(nonce).encode()):
            raise ConsoleError(403, "登录页面已过期，请刷新后重新登录。", login=True)
        wait = throttle.wait(_client(request))
        if wait:
            raise ConsoleError(429, f"登录失败次数过多，请 {wait} 秒后再试。", login=True,
                               headers={"Retry-After": str(wait)})

    def signed_in_response(request: Request, who_name: str, role: str, via: str, next_url: str) -> Response:
        assert signer is not None
        cookie, _ = signer.issue(who_name, role, via, token_tag if via == "token" else "")
        response = RedirectResponse(_safe_next(next_url), status_code=303)
        response.set_cookie(SESSION_COOKIE, cookie, max_age=SESSION_SECONDS, path="/console", httponly=True,
                            samesite="strict", secure=request.url.scheme == "https")
        response.delete_cookie(LOGIN_COOKIE, path="/console")
        return response

    @router.get("")
    @router.get("/")
    async def home(request: Request) -> Response:
        await run_in_threadpool(reviewer, request)
        return RedirectResponse("/console/conversations", status_code=303)

    @router.get("/login")
    async def login_form(request: Request) -> Response:
        if await run_in_threadpool(signed_in, request) is not None:
            return RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
        return login_page(request)

    @router.post("/login")
    async def login(request: Request) -> Response:
        if signer is None:
            raise ConsoleError(404, "审核台未启用。")
        form = await request.form()
        login_checks(request, form)
        username, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
        account = await run_in_threadpool(store().authenticate, username, password) if username else None
        if account is None:
            throttle.failed(_client(request))
            log.warning("console: failed sign-in from %s", _client(request))
            return login_page(request, 401, "用户名或密码错误，或账号已停用。", str(form.get("next", "")))
        throttle.succeeded(_client(request))
        return signed_in_response(request, account.username, account.role, "password", str(form.get("next", "")))

    @router.post("/login/token")
    async def login_with_token(request: Request) -> Response:
        if signer is None:
            raise ConsoleError(404, "审核台未启用。")
        form = await request.form()
        login_checks(request, form)
        token = str(form.get("token", ""))
        if not admin_token or not secrets.compare_digest(token.encode(), admin_token.encode()):
            throttle.failed(_client(request))
            log.warning("console: failed token sign-in from %s", _client(request))
            return login_page(request, 401, "管理令牌不正确。", str(form.get("next", "")))
        throttle.succeeded(_client(request))
        return signed_in_response(request, "管理令牌", "admin", "token", str(form.get("next", "")))

    @router.post("/logout")
    async def logout(request: Request, who: StaffSession = Depends(reviewer)) -> Response:
        await posted(request, who)
        response = RedirectResponse("/console/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/console")
        return response

    # -- conversations --------------------------------------------------------------------------------------
    @router.get("/conversations")
    def conversations(request: Request, who: StaffSession = Depends(reviewer)) -> Response:
        q = request.query_params
        feedback = {"up": 1, "down": -1}.get(q.get("feedback", ""))
        where = TurnFilter(text=q.get("q", "")[:100], status=q.get("status", "") if q.get("status") in STATUS_LABELS else "",
                           rating=q.get("rating", "") if q.get("rating") in (*RATINGS, "unrated") else "",
                           feedback=feedback, since=_date(q.get("since")), until=_date(q.get("until")))
        number = max(1, int(q.get("page", "1")) if q.get("page", "1").isdigit() else 1)
        rows, total = store().search_turns(where, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE)
        pages = max(1, -(-total // PAGE_SIZE))
        params = {k: v for k, v in q.items() if k != "page" and v}
        return page(request, "conversations.html", who=who, rows=rows, total=total, where=where, page_number=number,
                    pages=pages, params=params, query=q, statuses=STATUS_LABELS, ratings=RATING_LABELS,
                    page_url=lambda n: "/console/conversations?" + urlencode({**params, "page": n}))

    @router.get("/conversations/{session_id}")
    def conversation(session_id: str, request: Request, who: StaffSession = Depends(reviewer)) -> Response:
        turns = store().conversation(session_id)
        if not turns:
            raise ConsoleError(404, "没有找到这段对话（可能已按保存期限删除）。")
        for user_id in dict.fromkeys(t.turn.user_id for t in turns if t.turn.user_id is not None):
            audit(who, "view_conversation", user_id, f"session {session_id[:8]}")
        docs = documents()
        index_store = assistant().index.store
        views = [_turn_view(summary, docs, index_store) for summary in turns]
        regions = {doc_id: doc.region for doc_id, doc in docs.items()}
        return page(request, "conversation.html", who=who, session_id=session_id, turns=views,
                    ratings=RATING_LABELS, reasons=REVIEW_REASON_LABELS, regions=regions)

    @router.post("/turns/{turn_id}/review")
    async def review(turn_id: int, request: Request, who: StaffSession = Depends(reviewer)) -> Response:
        form = await posted(request, who)
        turn = await run_in_threadpool(store().turn, turn_id)
        if turn is None:
            raise ConsoleError(404, "没有找到这条回答。")
        back = f"/console/conversations/{turn.session_id}#turn-{turn_id}"
        rating = str(form.get("rating", ""))
        if rating not in RATINGS:
            return _redirect(back, error="rating")
        corrected = str(form.get("corrected_answer", "")).strip()
        if len(corrected) > 4000:
            return _redirect(back, error="answer_too_long")
        sources, problem = await run_in_threadpool(resolve_sources, form)
        if problem:
            return _redirect(back, error=problem)
        reasons = [r for r in form.getlist("reasons") if r in REASONS]
        must = [m.strip() for m in _SPLIT.split(str(form.get("must_contain", ""))) if m.strip()]
        await run_in_threadpool(lambda: store().add_review(
            turn_id, who.actor, rating, reasons, corrected_answer=corrected, sources=sources, must_contain=must))
        return _redirect(back, msg="reviewed")

    # -- curated answers ------------------------------------------------------------------------------------
    @router.get("/curated")
    def curated(request: Request, who: StaffSession = Depends(reviewer)) -> Response:
        entries = store().curated_list()
        groups: dict[str, list[Any]] = {}
        for entry in entries:  # newest first: each question's latest version leads its group
            groups.setdefault(entry.question_key, []).append(entry)
        links = {doc_id: doc.source_url for doc_id, doc in documents().items()}  # present documents, links as now
        return page(request, "curated.html", who=who, groups=list(groups.values()), links=links)

    @router.post("/curated")
    async def publish(request: Request, who: StaffSession = Depends(admin)) -> Response:
        form = await posted(request, who)
        turn_id = str(form.get("turn_id", ""))
        turn = await run_in_threadpool(store().turn, int(turn_id)) if turn_id.isdigit() else None
        back = f"/console/conversations/{turn.session_id}#turn-{turn.id}" if turn else "/console/curated"
        question, answer = str(form.get("question", "")).strip(), str(form.get("answer", "")).strip()
        if not question or not answer:
            return _redirect(back, error="need_question")
        if len(answer) > 4000:
            return _redirect(back, error="answer_too_long")
        sources, problem = await run_in_threadpool(resolve_sources, form)
        if problem:
            return _redirect(back, error=problem)
        if not sources:
            return _redirect(back, error="need_sources")
        replaces = str(form.get("replaces_id", ""))
        entry = await run_in_threadpool(lambda: store().publish(
            question, answer, sources, who.actor, replaces_id=int(replaces) if replaces.isdigit() else None))
        await run_in_threadpool(audit, who, "publish_curated", None, f"#{entry.id} v{entry.version}")
        log.info("console: %s published curated answer %d v%d", who.actor, entry.id, entry.version)
        return _redirect(back, msg="published")

    @router.post("/curated/{curated_id}/withdraw")
    async def withdraw(curated_id: int, request: Request, who: StaffSession = Depends(admin)) -> Response:
        await posted(request, who)
        try:
            entry = await run_in_threadpool(store().withdraw, curated_id, who.actor)
        except LookupError:
            raise ConsoleError(404, "没有找到这条标准答案。") from None
        except ValueError:
            return _redirect("/console/curated", error="not_published")
        await run_in_threadpool(audit, who, "withdraw_curated", None, f"#{entry.id} v{entry.version}")
        log.info("console: %s withdrew curated answer %d v%d", who.actor, entry.id, entry.version)
        return _redirect("/console/curated", msg="withdrawn")

    # -- knowledge gaps and exports -------------------------------------------------------------------------
    def gaps() -> list[Any]:
        return knowledge_gaps(store().gap_turns(), assistant().index)

    @router.get("/gaps")
    def gaps_page(request: Request, who: StaffSession = Depends(reviewer)) -> Response:
        return page(request, "gaps.html", who=who, gaps=gaps())

    @router.get("/gaps.csv")
    def gaps_download(request: Request, who: StaffSession = Depends(reviewer)) -> Response:
        return _download(gaps_csv(gaps()), "text/csv; charset=utf-8", "knowledge-gaps.csv")

    @router.get("/export")
    def export_page(request: Request, who: StaffSession = Depends(reviewer)) -> Response:
        return page(request, "export.html", who=who, ratings=RATING_LABELS)

    @router.get("/export/reviewed.jsonl")
    def export_reviewed(request: Request, who: StaffSession = Depends(reviewer)) -> Response:
        floor = request.query_params.get("min_rating") or None
        only = request.query_params.get("rating") or None
        if any(value is not None and value not in RATINGS for value in (floor, only)):
            raise ConsoleError(422, "审核结果无效。")
        text = review_jsonl(review_items(store(), floor, only))
        return _download(text, "application/jsonl; charset=utf-8", "reviewed.jsonl")

    # -- staff accounts (admin) -----------------------------------------------------------------------------
    @router.get("/staff")
    def staff_page(request: Request, who: StaffSession = Depends(admin)) -> Response:
        return page(request, "staff.html", who=who, staff=store().list_staff(), roles=ROLE_LABELS)

    def change_staff(who: StaffSession, action: str, detail: str, change: Callable[[], Any]) -> str | None:
        """Run a staff change; an error code for the page, or None. Audited under the acting admin."""
        try:
            change()
        except LookupError:
            raise ConsoleError(404, "没有这个账号。") from None
        except ValueError as exc:
            text = str(exc)
            return "exists" if "already exists" in text else "last_admin" if "last active" in text else "password"
        audit(who, action, None, detail)
        return None

    @router.post("/staff")
    async def add_staff(request: Request, who: StaffSession = Depends(admin)) -> Response:
        form = await posted(request, who)
        username, role = str(form.get("username", "")).strip(), str(form.get("role", ""))
        password = str(form.get("password", ""))
        if not USERNAME.fullmatch(username):
            return _redirect("/console/staff", error="username")
        if role not in ROLES:
            return _redirect("/console/staff", error="role")
        if password_problem(password):
            return _redirect("/console/staff", error="password")
        if password != str(form.get("password2", "")):
            return _redirect("/console/staff", error="password_mismatch")
        problem = await run_in_threadpool(change_staff, who, "staff_add", f"{username} as {role}",
                                          lambda: store().add_staff(username, password, role))
        return _redirect("/console/staff", error=problem, msg=None if problem else "staff_added")

    @router.post("/staff/{username}/role")
    async def staff_role(username: str, request: Request, who: StaffSession = Depends(admin)) -> Response:
        form = await posted(request, who)
        role = str(form.get("role", ""))
        if role not in ROLES:
            return _redirect("/console/staff", error="role")
        problem = await run_in_threadpool(change_staff, who, "staff_role", f"{username} -> {role}",
                                          lambda: store().set_role(username, role))
        return _redirect("/console/staff", error=problem, msg=None if problem else "staff_updated")

    @router.post("/staff/{username}/active")
    async def staff_active(username: str, request: Request, who: StaffSession = Depends(admin)) -> Response:
        form = await posted(request, who)
        active = str(form.get("active", "")) == "1"
        problem = await run_in_threadpool(change_staff, who, "staff_enable" if active else "staff_disable", username,
                                          lambda: store().set_active(username, active))
        return _redirect("/console/staff", error=problem, msg=None if problem else "staff_updated")

    @router.post("/staff/{username}/password")
    async def staff_password(username: str, request: Request, who: StaffSession = Depends(admin)) -> Response:
        form = await posted(request, who)
        password = str(form.get("password", ""))
        if password_problem(password):
            return _redirect("/console/staff", error="password")
        problem = await run_in_threadpool(change_staff, who, "staff_password", username,
                                          lambda: store().set_password(username, password))
        return _redirect("/console/staff", error=problem, msg=None if problem else "staff_updated")

    app.include_router(router)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")


def _protect(response: Response) -> None:
    """Console pages hold citizens' questions: not cached, not framed, no inline script, no referrer sent to
    the government sites that citations link to."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )


def _download(text: str, media_type: str, filename: str) -> Response:
    response = Response(text.encode("utf-8"), media_type=media_type,
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})
    response.headers["Cache-Control"] = "no-store"
    return response


def _turn_view(summary: Any, docs: dict[str, Any], index_store: Any) -> dict[str, Any]:
    """What the conversation page shows of one turn: its citations, the documents retrieved with their text, and
    the sources a reviewer can pick (cited sections first, then the other retrieved documents)."""
    turn = summary.turn
    cited_sections: dict[str, list[str]] = {}
    for c in turn.citations:
        cited_sections.setdefault(str(c.get("doc_id", "")), []).append(str(c.get("section", "")))
    retrieved = []
    for rank, doc_id in enumerate(dict.fromkeys([*cited_sections, *turn.retrieved]), start=1):
        doc = docs.get(doc_id)
        if doc is None:
            retrieved.append({"rank": rank, "doc_id": doc_id, "present": False, "cited": doc_id in cited_sections})
            continue
        chunks = index_store.chunks_of(doc_id)
        sections = cited_sections.get(doc_id, [])
        chunks.sort(key=lambda c: (c.section not in sections, c.ordinal))
        retrieved.append({
            "rank": rank, "doc_id": doc_id, "present": True, "cited": doc_id in cited_sections, "title": doc.title,
            "region": doc.region, "doc_type": doc.doc_type, "source_url": doc.source_url, "total": len(chunks),
            "chunks": [{"section": c.section, "text": c.text[:CHUNK_CHARS], "cut": len(c.text) > CHUNK_CHARS,
                        "cited": c.section in sections} for c in chunks[:CHUNKS_SHOWN]],
        })
    options: dict[tuple[str, str], Source] = {}
    for c in turn.citations:
        doc = docs.get(str(c.get("doc_id", "")))
        if doc is not None:
            options.setdefault((doc.doc_id, str(c.get("section", ""))),
                               Source(doc.doc_id, doc.title, str(c.get("section", "")), doc.source_url))
    for doc_id in turn.retrieved:
        doc = docs.get(doc_id)
        if doc is not None and not any(k[0] == doc_id for k in options):
            options[(doc_id, "")] = Source(doc_id, doc.title, "", doc.source_url)
    latest = summary.reviews[-1] if summary.reviews else None
    chosen = {(s.doc_id, s.section) for s in latest.sources} if latest else set()
    for s in latest.sources if latest else []:  # a source typed in by hand is offered again
        if (s.doc_id, s.section) not in options and s.doc_id in docs:
            options[(s.doc_id, s.section)] = s
    return {"summary": summary, "turn": turn, "latest": latest, "retrieved": retrieved,
            "options": [(s, (s.doc_id, s.section) in chosen) for s in options.values()]}

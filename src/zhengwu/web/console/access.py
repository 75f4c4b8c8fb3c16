"""What a console request carries and may do, for the console's routes (as ``Depends`` or called directly): the
console's state and the stores, the signed-in staff member (``signed_in``, ``reviewer``, ``admin``), the posted
form once its CSRF token is checked, the audit log, and the sources a review or curated answer names.

Staff sign in with a password or the admin token (a signed session cookie), or send the token as
``Authorization: Bearer`` (scripts; no CSRF token needed then, as no browser sends that header by itself).
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from zhengwu.personal import PeopleStore, TurnData
from zhengwu.review import ReviewStore, Source
from zhengwu.web.clients import client_address
from zhengwu.web.console.auth import SESSION_COOKIE, StaffSession
from zhengwu.web.console.pages import ConsoleError, row_id
from zhengwu.web.console.state import ConsoleState
from zhengwu.web.console.throttle import LoginThrottle
from zhengwu.web.dependencies import app_state


def console(request: Request) -> ConsoleState:
    return app_state(request).console


def reviews(request: Request) -> ReviewStore:
    """The review store; a 503 page when the service has no personal-data database."""
    store = app_state(request).reviews
    if store is None:
        raise ConsoleError(503, "审核台需要连接个人数据库（ZHENGWU_DATABASE_URL），当前服务未配置。")
    return store


def client(request: Request) -> str:
    return client_address(request, app_state(request).settings.trusted_proxies)


def signed_in(request: Request) -> StaffSession | None:
    """The staff member of the request (bearer token or session cookie), or None; 404 when the console is off."""
    state = console(request)
    if state.signer is None:
        raise ConsoleError(404, "审核台未启用：请设置 ZHENGWU_CONSOLE_SECRET 或 ZHENGWU_ADMIN_TOKEN。")
    header = request.headers.get("authorization", "")
    if state.admin_token and header.startswith("Bearer "):
        if secrets.compare_digest(header.encode(), f"Bearer {state.admin_token}".encode()):
            return StaffSession(username="管理令牌", role="admin", csrf="", expires=0, via="bearer")
        raise ConsoleError(401, "管理令牌不正确。", headers={"WWW-Authenticate": "Bearer"})
    return cookie_staff(request, pages=True)


def cookie_staff(request: Request, *, pages: bool = False) -> StaffSession | None:
    """The staff member of the request's console session cookie, with the role and status the account has now
    (not as at sign-in), or None. Also read by ``/api/v1/admin/documents``; for the console's ``pages`` a
    password session without the review store is the 503 page that says so."""
    state = console(request)
    if state is None or state.signer is None:
        return None
    session = state.signer.read(request.cookies.get(SESSION_COOKIE), state.token_tag)
    if session is None or session.via != "password":
        return session
    store = reviews(request) if pages else app_state(request).reviews
    account = store.staff(session.username) if store is not None else None
    if account is None or not account.active:
        return None
    return StaffSession(account.username, account.role, session.csrf, session.expires, session.via)


def reviewer(request: Request) -> StaffSession:
    """Any signed-in staff member; otherwise the sign-in form (401)."""
    who = signed_in(request)
    if who is None:
        raise ConsoleError(401, "请先登录审核台。", login=True)
    return who


def admin(request: Request) -> StaffSession:
    """A signed-in administrator; 403 for a reviewer."""
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


def audit(request: Request, who: StaffSession, action: str, user_id: int | None = None, detail: str = "") -> None:
    """Write what staff did or opened to the personal-data store's audit log (when there is one)."""
    people: PeopleStore | None = app_state(request).people
    if people is not None:
        people.audit(who.actor, action, user_id, detail)


async def turn_or_404(request: Request, turn_id: str) -> TurnData:
    """The conversation turn a console URL names; the 404 page when there is none."""
    row = row_id(turn_id)
    turn = await run_in_threadpool(reviews(request).turn, row) if row is not None else None
    if turn is None:
        raise ConsoleError(404, "没有找到这条回答。")
    return turn


def documents(request: Request) -> dict[str, Any]:
    """The documents in the index, by id (503 while the assistant is starting)."""
    return app_state(request).assistant.index.documents()


def resolve_sources(request: Request, form: Any) -> tuple[list[Source], str | None]:
    """Sources picked (checkboxes) plus one typed document id or exact title; titles and links are taken from
    the index, never from the form. The second value names the problem with a typed document (``ERRORS``)."""
    docs = documents(request)
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


def throttle(request: Request) -> LoginThrottle:
    """The console's login throttle: Redis, else the personal-data database, else this worker."""
    state = app_state(request)
    people = state.people
    return console(request).throttle(state.settings, people.engine if people is not None else None)

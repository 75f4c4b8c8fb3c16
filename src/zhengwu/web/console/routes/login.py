"""Signing in and out of the console.

    GET  /console, /console/        to the conversation list (or the sign-in form)
    GET  /console/login             the sign-in form (or on to ``next`` when already signed in)
    POST /console/login             user name and password (``zhengwu staff add``)
    POST /console/login/token       the admin token
    POST /console/logout

Both sign-in forms carry a CSRF token bound to the login cookie, and failures are throttled per client address.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from zhengwu.web.console.access import client, console, posted, reviewer, reviews, signed_in, throttle
from zhengwu.web.console.auth import LOGIN_COOKIE, SESSION_COOKIE, SESSION_SECONDS, StaffSession
from zhengwu.web.console.pages import ConsoleError, login_page, safe_next
from zhengwu.web.console.throttle import account_key, client_key

router = APIRouter(prefix="/console", include_in_schema=False)
log = logging.getLogger("zhengwu.review.console")


def _login_checks(request: Request, form: Any) -> None:
    """The login form's CSRF token, then the throttle (429 with Retry-After)."""
    state = console(request)
    assert state.signer is not None
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    token = str(form.get("csrf_token", ""))
    if not nonce or not secrets.compare_digest(token.encode(), state.signer.login_csrf(nonce).encode()):
        raise ConsoleError(403, "登录页面已过期，请刷新后重新登录。", login=True)
    keys = [client_key(client(request))]
    if form.get("username"):
        keys.append(account_key(str(form.get("username"))))
    wait = throttle(request).wait(*keys)
    if wait:
        raise ConsoleError(429, f"登录失败次数过多，请 {wait} 秒后再试。", login=True,
                           headers={"Retry-After": str(wait)})


def _signed_in_response(request: Request, who_name: str, role: str, via: str, next_url: str) -> Response:
    """On to ``next_url`` with a new session cookie; the login cookie is spent."""
    state = console(request)
    assert state.signer is not None
    cookie, _ = state.signer.issue(who_name, role, via, state.token_tag if via == "token" else "")
    response = RedirectResponse(safe_next(next_url), status_code=303)
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
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    return login_page(request)


@router.post("/login")
async def login(request: Request) -> Response:
    state = console(request)
    if state.signer is None:
        raise ConsoleError(404, "审核台未启用。")
    form = await request.form()
    await run_in_threadpool(_login_checks, request, form)
    username, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
    account = await run_in_threadpool(reviews(request).authenticate, username, password) if username else None
    keys = (client_key(client(request)), account_key(username))
    if account is None:
        await run_in_threadpool(throttle(request).failed, *keys)
        log.warning("console: failed sign-in from %s", client(request))
        return login_page(request, 401, "用户名或密码错误，或账号已停用。", str(form.get("next", "")))
    await run_in_threadpool(throttle(request).succeeded, *keys)
    return _signed_in_response(request, account.username, account.role, "password", str(form.get("next", "")))


@router.post("/login/token")
async def login_with_token(request: Request) -> Response:
    state = console(request)
    if state.signer is None:
        raise ConsoleError(404, "审核台未启用。")
    form = await request.form()
    await run_in_threadpool(_login_checks, request, form)
    token = str(form.get("token", ""))
    if not state.admin_token or not secrets.compare_digest(token.encode(), state.admin_token.encode()):
        await run_in_threadpool(throttle(request).failed, client_key(client(request)))  # a token has no account
        log.warning("console: failed token sign-in from %s", client(request))
        return login_page(request, 401, "管理令牌不正确。", str(form.get("next", "")))
    await run_in_threadpool(throttle(request).succeeded, client_key(client(request)))
    return _signed_in_response(request, "管理令牌", "admin", "token", str(form.get("next", "")))


@router.post("/logout")
async def logout(request: Request, who: StaffSession = Depends(reviewer)) -> Response:
    await posted(request, who)
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response

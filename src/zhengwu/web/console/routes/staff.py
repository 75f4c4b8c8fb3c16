"""Staff accounts (administrators only).

    GET  /console/staff                          the accounts
    POST /console/staff                          add one
    POST /console/staff/{username}/role          change its role
    POST /console/staff/{username}/active        disable or enable it
    POST /console/staff/{username}/password      set a new password

Every change is audited under the acting administrator; the last active administrator cannot be removed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from zhengwu.review import ROLE_LABELS, ROLES, USERNAME, password_problem
from zhengwu.web.console.access import admin, audit, posted, reviews
from zhengwu.web.console.auth import StaffSession
from zhengwu.web.console.pages import ConsoleError, page, redirect

router = APIRouter(prefix="/console", include_in_schema=False)
STAFF = "/console/staff"


def _change(request: Request, who: StaffSession, action: str, detail: str, change: Callable[[], Any]) -> str | None:
    """Run a staff change; an error code for the page, or None. Audited under the acting admin."""
    try:
        change()
    except LookupError:
        raise ConsoleError(404, "没有这个账号。") from None
    except ValueError as exc:
        text = str(exc)
        return "exists" if "already exists" in text else "last_admin" if "last active" in text else "password"
    audit(request, who, action, None, detail)
    return None


def _done(problem: str | None) -> Response:
    return redirect(STAFF, error=problem, msg=None if problem else "staff_updated")


@router.get("/staff")
def staff_page(request: Request, who: StaffSession = Depends(admin)) -> Response:
    return page(request, "staff.html", who=who, staff=reviews(request).list_staff(), roles=ROLE_LABELS)


@router.post("/staff")
async def add_staff(request: Request, who: StaffSession = Depends(admin)) -> Response:
    form = await posted(request, who)
    username, role = str(form.get("username", "")).strip(), str(form.get("role", ""))
    password = str(form.get("password", ""))
    if not USERNAME.fullmatch(username):
        return redirect(STAFF, error="username")
    if role not in ROLES:
        return redirect(STAFF, error="role")
    if password_problem(password):
        return redirect(STAFF, error="password")
    if password != str(form.get("password2", "")):
        return redirect(STAFF, error="password_mismatch")
    problem = await run_in_threadpool(_change, request, who, "staff_add", f"{username} as {role}",
                                      lambda: reviews(request).add_staff(username, password, role))
    return redirect(STAFF, error=problem, msg=None if problem else "staff_added")


@router.post("/staff/{username}/role")
async def staff_role(username: str, request: Request, who: StaffSession = Depends(admin)) -> Response:
    form = await posted(request, who)
    role = str(form.get("role", ""))
    if role not in ROLES:
        return redirect(STAFF, error="role")
    return _done(await run_in_threadpool(_change, request, who, "staff_role", f"{username} -> {role}",
                                         lambda: reviews(request).set_role(username, role)))


@router.post("/staff/{username}/active")
async def staff_active(username: str, request: Request, who: StaffSession = Depends(admin)) -> Response:
    form = await posted(request, who)
    active = str(form.get("active", "")) == "1"
    return _done(await run_in_threadpool(_change, request, who, "staff_enable" if active else "staff_disable",
                                         username, lambda: reviews(request).set_active(username, active)))


@router.post("/staff/{username}/password")
async def staff_password(username: str, request: Request, who: StaffSession = Depends(admin)) -> Response:
    form = await posted(request, who)
    password = str(form.get("password", ""))
    if password_problem(password):
        return redirect(STAFF, error="password")
    return _done(await run_in_threadpool(_change, request, who, "staff_password", username,
                                         lambda: reviews(request).set_password(username, password)))

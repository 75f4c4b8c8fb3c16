"""The staff review console under ``/console``: server-rendered pages where staff judge the assistant's answers.

Reviewers may read, rate and correct; administrators may also publish and withdraw curated answers and manage
staff. Staff sign in with a user name and password (``zhengwu staff add``) or the admin token, or send the token
as ``Authorization: Bearer``. The UI is in Chinese.

Modules: ``state`` (``ConsoleState``, kept at ``AppState.console``), ``auth`` (signed session cookies, CSRF
tokens, the login throttle), ``access`` (who is signed in and may do what, the CSRF-checked form, the stores),
``pages`` (rendering), ``routes`` (the routers: login, conversations, curated, reports, staff).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from zhengwu.web.console.pages import STATIC, ConsoleError, console_error
from zhengwu.web.console.routes import conversations, curated, documents, login, ratings, reports, staff
from zhengwu.web.console.state import ConsoleState
from zhengwu.web.state import AppState

__all__ = ["ConsoleError", "ConsoleState", "mount_console"]


def mount_console(app: FastAPI, state: AppState) -> None:
    """Add the console to ``app``: its state (off without a signing key), routes, error page and static files."""
    state.console = ConsoleState.from_settings(state.settings)
    app.add_exception_handler(ConsoleError, console_error)
    for module in (login, conversations, curated, documents, ratings, reports, staff):
        app.include_router(module.router)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")

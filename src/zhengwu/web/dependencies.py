"""What routes ask for with ``Depends``: the app's state, a rate-limit check, the staff bearer token, the
session a request continues, and the logged-in portal user."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Header, HTTPException, Request
from sqlalchemy.exc import SQLAlchemyError

from zhengwu.answering import wording
from zhengwu.answering.sessions import Session, valid_session_id
from zhengwu.config import secret
from zhengwu.personal import verify_user_token
from zhengwu.web.clients import client_address
from zhengwu.web.state import AppState

SESSION_COOKIE = "zhengwu_session"


def app_state(request: Request) -> AppState:
    return request.app.state.zhengwu


def rate_limited(request: Request) -> None:
    """429 when the client has asked too often this minute."""
    state = app_state(request)
    wait = state.limiter.check(client_address(request, state.settings.trusted_proxies))
    if wait:
        raise HTTPException(
            status_code=429,
            detail={"message": wording.TOO_FREQUENT, "detail": "rate limit exceeded"},
            headers={"Retry-After": str(wait)},
        )


def staff_token(request: Request, authorization: str | None = Header(default=None)) -> None:
    """The admin API's bearer token (``ZHENGWU_ADMIN_TOKEN``); the API is off without one."""
    settings = app_state(request).settings
    if settings.admin_token is None:
        raise HTTPException(403, detail="admin API disabled: set ZHENGWU_ADMIN_TOKEN")
    expected = f"Bearer {secret(settings.admin_token)}"
    if not authorization or not secrets.compare_digest(authorization.encode(), expected.encode()):
        raise HTTPException(401, detail="missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"})


def session_of(request: Request, *candidates: str | None) -> str | None:
    """The session id a request names: the first of ``candidates`` (body field, header) or the cookie, if it
    has the shape of an id we issue. Whether the service may continue it is ``web_session``'s business."""
    session = next((c for c in candidates if c), None) or request.cookies.get(SESSION_COOKIE)
    return session if valid_session_id(session) else None


def _issued_by_web(session: Session) -> bool:
    return session.owner is None or session.owner.split(":", 1)[0] == "web"


def _find(state: AppState, session_id: str) -> Session | None:
    try:
        return state.assistant.sessions.find(session_id)
    except SQLAlchemyError:  # the store is down: as if unknown; answering will report the outage
        return None


def web_session(state: AppState, session_id: str | None) -> Session | None:
    """The live session ``session_id`` names if the web API issued it, else None (start a fresh one). Handed
    to ``Assistant.ask`` as found, so the store is read once per request.

    Chat channels' sessions (WeChat, WeCom, Telegram) are never continued through the web API, whoever
    knows their id; an id the service never issued, or one that expired, is not adopted either, so a client
    cannot choose its session id. Blocking (a store read): call it from a worker thread."""
    found = _find(state, session_id) if session_id is not None else None
    return found if found is not None and _issued_by_web(found) else None


def rateable_session(state: AppState, session_id: str | None) -> str | None:
    """``session_id`` if its answers may be rated through the web API: a web session, live or gone quiet
    (an answer may be rated after its session expired), never a chat channel's. Blocking, like ``web_session``."""
    if session_id is None:
        return None
    found = _find(state, session_id)
    return session_id if found is None or _issued_by_web(found) else None


def portal_identity(state: AppState, token: str) -> str | None:
    """The portal's id of the citizen in a valid, unexpired token; None when invalid or the feature is off."""
    settings = state.settings
    if settings.portal_secret is None or state.people is None or not token:
        return None
    external_id = verify_user_token(secret(settings.portal_secret) or "", token)
    if external_id is None or state.people.token_revoked(token):  # signed out, or their data was erased
        return None
    return external_id


def portal_asker(state: AppState, external_id: str) -> str:
    """An opaque key of a portal-signed citizen (``portal_identity``) that binds their conversation to them,
    whether or not the people store has a row for them (keyed, so the stored binding does not reveal the id)."""
    key = (secret(state.settings.portal_secret) or "").encode()
    return "portal:" + hmac.new(key, external_id.encode(), hashlib.sha256).hexdigest()[:32]


def portal_user_of(state: AppState, external_id: str, create: bool = True) -> int | None:
    """The people-store user of a portal-signed citizen (``portal_identity``)."""
    return state.people.user_for("web", f"portal:{external_id}", create=create) if state.people else None


def portal_user(state: AppState, token: str, create: bool = True) -> int | None:
    """The people-store user of a portal-signed token; None when the token is invalid or the feature is off."""
    external_id = portal_identity(state, token)
    return portal_user_of(state, external_id, create) if external_id is not None else None

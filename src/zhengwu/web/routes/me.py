"""``/api/v1/me/*``: a citizen logged in through the city portal manages their own data (PIPL Art. 44–47).

The portal signs the user's id with ``ZHENGWU_PORTAL_SECRET`` (``zhengwu.personal.sign_user_token``); the
widget sends that token. Without the secret or a people store these routes answer 404."""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from zhengwu.answering import wording
from zhengwu.personal import PeopleStore, token_expiry
from zhengwu.web.dependencies import app_state, portal_user, rate_limited
from zhengwu.web.models import ConsentIn, MeIn
from zhengwu.web.state import AppState

router = APIRouter(tags=["personal data"], dependencies=[Depends(rate_limited)])


def _me(state: AppState, body: MeIn) -> tuple[PeopleStore, int]:
    """The people store and the logged-in citizen's user id; 404 when the feature is off, 401 for a bad token."""
    if state.people is None or state.settings.portal_secret is None:
        raise HTTPException(404, detail={"message": wording.PERSONAL_DATA_OFF,
                                         "detail": "personal data API disabled: set ZHENGWU_PORTAL_SECRET"})
    user_id = portal_user(state, body.user_token)
    if user_id is None:
        raise HTTPException(401, detail={"message": wording.LOGIN_EXPIRED, "detail": "invalid or expired user token"})
    return state.people, user_id


@router.post("/api/v1/me/consent")
async def my_consent(body: ConsentIn, request: Request) -> dict:
    """Grant or withdraw consent to personalisation and to reminders; returns the current state."""
    people, user_id = await run_in_threadpool(_me, app_state(request), body)
    for kind, value in (("personalisation", body.personalisation), ("reminders", body.reminders)):
        if value is not None:
            await run_in_threadpool(people.set_consent, user_id, kind, value)
    profile = await run_in_threadpool(people.profile, user_id)
    return {k: {"granted": c.granted, "at": c.at.isoformat() if c.at else None} for k, c in profile.consents.items()}


@router.post("/api/v1/me/export")
async def my_export(body: MeIn, request: Request) -> JSONResponse:
    """Everything stored about the logged-in citizen (PIPL Art. 45)."""
    people, user_id = await run_in_threadpool(_me, app_state(request), body)
    await run_in_threadpool(people.audit, "self", "export", user_id)
    data = await run_in_threadpool(people.export, user_id)
    return JSONResponse(json.loads(json.dumps(data, ensure_ascii=False, default=str)))


@router.post("/api/v1/me/delete")
async def my_delete(body: MeIn, request: Request) -> dict:
    """Erase the logged-in citizen's profile, history, sessions and conversation logs (PIPL Art. 47)."""
    people, user_id = await run_in_threadpool(_me, app_state(request), body)
    counts = await run_in_threadpool(people.delete, user_id, "self")
    # The token must not quietly bring the citizen back as a new, empty user: it is done with.
    await run_in_threadpool(people.revoke_token, body.user_token, token_expiry(body.user_token))
    return {"deleted": counts, "message": wording.DATA_DELETED}


@router.post("/api/v1/me/logout")
async def my_logout(body: MeIn, request: Request) -> dict:
    """Sign out: the token is refused from now on, on every worker (the portal issues a new one at the next
    login). Conversations and consent stay as they are."""
    people, _user_id = await run_in_threadpool(_me, app_state(request), body)
    await run_in_threadpool(people.revoke_token, body.user_token, token_expiry(body.user_token))
    return {"message": wording.SIGNED_OUT}

"""Who is using the review console: signed session cookies, CSRF tokens and slowing down password guessing.

* The session is a cookie the server signs (HMAC-SHA256) rather than a row it stores: any worker can check it.
  It names the staff user and expires after ``SESSION_SECONDS``; the user's role and whether the account is
  still active are read from the database on every request, so disabling an account takes effect at once.
* The key is ``ZHENGWU_CONSOLE_SECRET``, else derived from ``ZHENGWU_ADMIN_TOKEN`` (rotating the token then
  signs everybody out). Without either the console is off.
* Every form carries a CSRF token tied to the session (the cookie is also SameSite=Strict and HttpOnly); the
  login form, before there is a session, carries one tied to a short-lived random cookie.
* Failed logins are counted per client address and per account, by every worker alike
  (``web.console.throttle``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from zhengwu.config import Settings, secret

SESSION_COOKIE = "zhengwu_console"
LOGIN_COOKIE = "zhengwu_console_login"
SESSION_SECONDS = 8 * 3600  # a working day
TOKEN_ACTOR = "admin-token"


def console_key(settings: Settings) -> bytes | None:
    """The cookie-signing key, or None when the console is not configured."""
    configured = secret(settings.console_secret)
    if configured:
        return hashlib.sha256(b"zhengwu-console\x00" + configured.encode("utf-8")).digest()
    token = secret(settings.admin_token)
    if token:
        return hmac.new(token.encode("utf-8"), b"zhengwu-console-session-key", hashlib.sha256).digest()
    return None


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class StaffSession:
    username: str
    role: str
    csrf: str
    expires: int
    via: str = "password"  # "token": signed in with the admin token; "bearer": the token sent with the request

    @property
    def actor(self) -> str:
        """The name written to the audit log."""
        return TOKEN_ACTOR if self.via in ("token", "bearer") else f"console:{self.username}"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class SessionSigner:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, purpose: str, data: bytes) -> bytes:
        return hmac.new(self._key, purpose.encode("ascii") + b"\x00" + data, hashlib.sha256).digest()

    def issue(self, username: str, role: str, via: str = "password", token_tag: str = "") -> tuple[str, StaffSession]:
        session = StaffSession(username=username, role=role, csrf=secrets.token_urlsafe(24),
                               expires=int(time.time()) + SESSION_SECONDS, via=via)
        payload = json.dumps({"u": username, "r": role, "c": session.csrf, "x": session.expires, "v": via,
                              "t": token_tag}, separators=(",", ":")).encode("utf-8")
        return f"{_b64(payload)}.{_b64(self._mac('session', payload))}", session

    def read(self, value: str | None, token_tag: str = "") -> StaffSession | None:
        """The session in a cookie, if the signature holds and it has not expired. A token session also needs
        the admin token it was opened with to be the current one."""
        if not value or value.count(".") != 1:
            return None
        body, mac = value.split(".")
        try:
            payload = _unb64(body)
            if not hmac.compare_digest(_unb64(mac), self._mac("session", payload)):
                return None
            data = json.loads(payload)
            session = StaffSession(username=str(data["u"]), role=str(data["r"]), csrf=str(data["c"]),
                                   expires=int(data["x"]), via=str(data.get("v", "password")))
        except (ValueError, KeyError, TypeError):
            return None
        if session.expires < time.time():
            return None
        if session.via == "token" and not hmac.compare_digest(str(data.get("t", "")), token_tag):
            return None
        return session

    def login_csrf(self, nonce: str) -> str:
        """The login form's CSRF token, bound to the random ``LOGIN_COOKIE`` the login page set."""
        return _b64(self._mac("login", nonce.encode("utf-8")))

    def token_tag(self, token: str | None) -> str:
        """Identifies the admin token without revealing it (kept in token sessions)."""
        return _b64(self._mac("token", (token or "").encode("utf-8")))[:22] if token else ""



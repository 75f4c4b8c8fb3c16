"""The city portal's signed user token. A citizen logged in to the city's portal chats through the widget as
that user: the portal signs the user's id with the secret it shares with us (ZHENGWU_PORTAL_SECRET) and hands
the widget

    base64url(user id) "." expiry (unix seconds) "." hex HMAC-SHA256(secret, first two parts)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time


def sign_user_token(secret: str, external_id: str, ttl_seconds: int = 3600, now: float | None = None) -> str:
    body = f"{base64.urlsafe_b64encode(external_id.encode()).decode().rstrip('=')}.{int((now or time.time()) + ttl_seconds)}"
    return f"{body}.{hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()}"


def verify_user_token(secret: str, token: str, now: float | None = None) -> str | None:
    """The portal user id in a valid, unexpired token; None otherwise."""
    try:
        encoded, expiry, signature = token.split(".")
        expected = hmac.new(secret.encode(), f"{encoded}.{expiry}".encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature, expected) or int(expiry) < (now or time.time()):
            return None
        external_id = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return external_id or None


def token_expiry(token: str) -> float:
    """The expiry (unix seconds) a token carries; 0 when it has none (such a token verifies as nothing)."""
    parts = token.split(".")
    return float(parts[1]) if len(parts) == 3 and parts[1].isascii() and parts[1].isdigit() else 0.0

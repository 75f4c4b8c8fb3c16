"""Portal user tokens that must no longer be accepted. The city portal signs a token with an expiry
(``zhengwu.personal.portal``); until then it would work however often it is presented. A citizen who signs
out of the widget, or erases their data, revokes the token they used: it is remembered (as a SHA-256, never
the token) until it would have expired anyway, shared by every worker through the database."""

from __future__ import annotations

import hashlib
import time

import sqlalchemy as sa

from zhengwu.db.models import RevokedToken
from zhengwu.personal.store._common import StoreBase


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


class Tokens(StoreBase):
    def revoke_token(self, token: str, expires_at: float) -> None:
        """Refuse ``token`` from now until ``expires_at`` (unix seconds). Revoking twice is harmless."""
        now = time.time()
        with self._write() as session:
            session.execute(sa.delete(RevokedToken).where(RevokedToken.expires_at < now))  # past tokens: gone
            session.execute(sa.delete(RevokedToken).where(RevokedToken.digest == _digest(token)))
            session.add(RevokedToken(digest=_digest(token), expires_at=max(expires_at, now)))

    def token_revoked(self, token: str) -> bool:
        with self._read() as session:
            return session.scalar(
                sa.select(sa.func.count()).select_from(RevokedToken).where(RevokedToken.digest == _digest(token))
            ) > 0

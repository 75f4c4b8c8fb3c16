"""Consent (PIPL Art. 14, 15): a history of grant and withdrawal rows per kind, of which the latest counts.
Never asked counts as not granted."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from zhengwu.db.models import Consent, utcnow
from zhengwu.personal.records import CONSENT_KINDS, ConsentState
from zhengwu.personal.store._common import StoreBase, check


def current_consents(session: Session, user_id: int) -> dict[str, ConsentState]:
    """The current state of every kind in CONSENT_KINDS for the user."""
    current = {kind: ConsentState(kind, False, None) for kind in CONSENT_KINDS}
    rows = session.execute(
        sa.select(Consent.kind, Consent.granted, Consent.at).where(Consent.user_id == user_id).order_by(Consent.id)
    )
    for kind, granted, at in rows:  # the latest row of each kind wins
        current[kind] = ConsentState(kind, bool(granted), at)
    return current


class Consents(StoreBase):
    _consents = staticmethod(current_consents)

    def set_consent(self, user_id: int, kind: str, granted: bool) -> ConsentState:
        """Record a grant or a withdrawal; earlier rows stay as the history."""
        check(kind, CONSENT_KINDS, "consent kind")
        with self._write() as session:
            self._user(session, user_id)
            row = Consent(user_id=user_id, kind=kind, granted=bool(granted), at=utcnow())
            session.add(row)
        return ConsentState(kind, bool(granted), row.at)

    def has_consent(self, user_id: int, kind: str) -> bool:
        check(kind, CONSENT_KINDS, "consent kind")
        with self._read() as session:
            granted = session.scalar(
                sa.select(Consent.granted)
                .where(Consent.user_id == user_id, Consent.kind == kind)
                .order_by(Consent.id.desc())
                .limit(1)
            )
            return bool(granted)

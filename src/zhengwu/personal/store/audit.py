"""The staff audit trail (PIPL Art. 51): who viewed, exported or changed a person's data, and when. It survives
the erasure of the person it is about, and its details are masked so it never becomes a copy of the data."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from zhengwu.db.models import AuditLog, utcnow
from zhengwu.personal.records import AuditEntry
from zhengwu.personal.store._common import StoreBase


class Audit(StoreBase):
    def audit(self, actor: str, action: str, user_id: int | None = None, detail: str = "") -> None:
        """Record staff access. ``detail`` is masked too: the trail must not become a copy of the data."""
        if not actor or not action:
            raise ValueError("audit needs an actor and an action")
        with self._write() as session:
            session.add(AuditLog(actor=actor, action=action, user_id=user_id, detail=self._mask(detail), at=utcnow()))

    def audit_log(self, user_id: int | None = None, limit: int | None = None) -> list[AuditEntry]:
        query = sa.select(AuditLog)
        if user_id is not None:
            query = query.where(AuditLog.user_id == user_id)
        query = query.order_by(AuditLog.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self._read() as session:
            return [
                AuditEntry(id=r.id, at=r.at, actor=r.actor, action=r.action, user_id=r.user_id, detail=r.detail)
                for r in reversed(session.scalars(query).all())
            ]

    def purge_audit(self, older_than: datetime) -> int:
        """Retention of the security record: forget audit entries made before ``older_than``."""
        with self._write() as session:
            result = session.execute(sa.delete(AuditLog).where(AuditLog.at < older_than),
                                     execution_options={"synchronize_session": False})
            return result.rowcount or 0

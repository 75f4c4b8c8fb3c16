"""Expiry reminders in the store: which records are due (for users whose latest reminders consent is a grant)
and which were already reminded of, so a reminder is never sent twice for the same end date."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from zhengwu.db.models import Consent, Reminder, ServiceRecord, utcnow
from zhengwu.personal.records import ServiceRecordData
from zhengwu.personal.store._common import StoreBase, aware, record_data


class Reminders(StoreBase):
    def due_reminders(self, today: date, within_days: int, kind: str = "expiry") -> list[tuple[int, ServiceRecordData]]:
        """Records whose ``valid_until`` falls in [today, today + within_days], of users whose latest reminders
        consent is a grant, without a ``kind`` reminder already sent for that same expiry date (a renewed
        record with a new date is reminded again)."""
        latest = sa.select(sa.func.max(Consent.id)).where(Consent.kind == "reminders").group_by(Consent.user_id)
        consenting = sa.select(Consent.user_id).where(Consent.id.in_(latest), Consent.granted.is_(True))
        sent = sa.exists().where(
            Reminder.record_id == ServiceRecord.id,
            Reminder.kind == kind,
            Reminder.sent_at.is_not(None),
            Reminder.due == ServiceRecord.valid_until,
        )
        query = (
            sa.select(ServiceRecord)
            .where(
                ServiceRecord.user_id.in_(consenting),
                ServiceRecord.valid_until >= today,
                ServiceRecord.valid_until <= today + timedelta(days=within_days),
                ~sent,
            )
            .order_by(ServiceRecord.valid_until, ServiceRecord.id)
        )
        with self._read() as session:
            return [(row.user_id, record_data(row)) for row in session.scalars(query)]

    def mark_reminder_sent(self, record_id: int, kind: str = "expiry", at: datetime | None = None) -> None:
        at = aware(at) if at is not None else utcnow()
        with self._write() as session:
            record = session.get(ServiceRecord, record_id)
            if record is None:
                raise LookupError(f"no service record with id {record_id}")
            due = record.valid_until or at.astimezone(UTC).date()
            row = session.scalar(sa.select(Reminder).where(Reminder.record_id == record_id, Reminder.kind == kind))
            if row is None:
                session.add(Reminder(user_id=record.user_id, record_id=record_id, kind=kind, due=due, sent_at=at))
            else:
                row.due, row.sent_at = due, at

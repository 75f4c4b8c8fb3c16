"""Service history (办件记录): what the citizen applied for, how far it got and until when it is valid. A
re-import of the same export changes nothing."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from zhengwu.db.models import ServiceRecord
from zhengwu.personal.records import RECORD_STATUSES, ServiceRecordData
from zhengwu.personal.store._common import StoreBase, check, record_data

# Fields of a service record whose change makes a re-import an update (``source`` alone does not).
_RECORD_FIELDS = ("item_name", "doc_id", "region", "status", "decided_at", "materials", "valid_until")


class ServiceRecords(StoreBase):
    def add_records(self, user_id: int, records: Sequence[ServiceRecordData]) -> tuple[int, int]:
        """Insert or update on (item_code, submitted_at): a re-import of the same file changes nothing.

        Returns (inserted, updated); a record is counted as updated only when one of its fields changed.
        The match is done here rather than by the unique constraint, because two NULL ``submitted_at`` never
        collide in SQL.
        """
        inserted = updated = 0
        with self._write() as session:
            self._user(session, user_id)
            for record in records:
                check(record.status, RECORD_STATUSES, "record status")
                if not record.item_code or not record.item_name:
                    raise ValueError("a service record needs item_code and item_name")
                when = (
                    ServiceRecord.submitted_at.is_(None)
                    if record.submitted_at is None
                    else ServiceRecord.submitted_at == record.submitted_at
                )
                row = session.scalar(
                    sa.select(ServiceRecord).where(
                        ServiceRecord.user_id == user_id, ServiceRecord.item_code == record.item_code, when
                    )
                )
                values = {name: getattr(record, name) for name in _RECORD_FIELDS}
                values["materials"] = list(record.materials)
                if row is None:
                    session.add(
                        ServiceRecord(
                            user_id=user_id,
                            item_code=record.item_code,
                            submitted_at=record.submitted_at,
                            source=record.source,
                            **values,
                        )
                    )
                    session.flush()
                    inserted += 1
                elif any(getattr(row, name) != value for name, value in values.items()):
                    for name, value in values.items():
                        setattr(row, name, value)
                    row.source = record.source
                    updated += 1
        return inserted, updated

    def records(self, user_id: int) -> list[ServiceRecordData]:
        """Oldest first; records without a submission date last."""
        with self._read() as session:
            rows = session.scalars(
                sa.select(ServiceRecord)
                .where(ServiceRecord.user_id == user_id)
                .order_by(ServiceRecord.submitted_at.is_(None), ServiceRecord.submitted_at, ServiceRecord.id)
            )
            return [record_data(row) for row in rows]

"""Storing a read service-history file (``history.read_history``) in the people store: each row's person found
or created by ID number or channel identity, profile fields filled in, records added or updated, and the import
audited. ID numbers are stored only with an encryption key (``ZHENGWU_DATA_KEY``); messages are masked."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from zhengwu.personal.cipher import DATA_KEY_ENV
from zhengwu.personal.history import HistoryImport, HistoryRow, RowError
from zhengwu.personal.records import ServiceRecordData
from zhengwu.personal.store import PeopleStore
from zhengwu.pii import mask_pii


@dataclass
class ImportReport:
    path: str
    users: int = 0
    inserted: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.path}: {self.inserted} records added, {self.updated} updated, for {self.users} users; "
                f"{len(self.errors)} rows rejected, {len(self.warnings)} warnings")


def doc_ids_by_item_code(docs: dict) -> dict[str, str]:
    """事项编码 -> corpus document id, so an imported record points at its guide."""
    return {str(d.extra["item_code"]): d.doc_id for d in docs.values() if d.extra.get("item_code")}


def import_history(people: PeopleStore, read: HistoryImport, actor: str, doc_ids: dict[str, str]) -> ImportReport:
    """Store the valid rows of a read file. ``doc_ids`` maps 事项编码 to corpus document ids, so a record
    points at its guide. Rows that cannot be stored (an ID number without an encryption key) are reported."""
    report = ImportReport(read.path, errors=list(read.errors), warnings=list(read.warnings))
    by_user: dict[int, list[tuple[int, HistoryRow]]] = {}
    for line, row in _numbered(read):
        try:
            user_id = _user_of(people, row)
        except ValueError as exc:
            report.errors.append(RowError(line, "identity", mask_pii(str(exc))))
            continue
        by_user.setdefault(user_id, []).append((line, row))
    for user_id, rows in by_user.items():
        first = rows[0][1]
        tags = sorted({t for _, r in rows for t in r.tags})
        people.update_profile(user_id, province=first.province, city=first.city or _city(first.region),
                              district=first.district, tags=tags or None,
                              id_number=first.id_number if first.id_number and people.has_cipher else None)
        records = [ServiceRecordData(
            item_code=r.item_code, item_name=r.item_name, status=r.status, submitted_at=r.submitted_at,
            decided_at=r.decided_at, valid_until=r.valid_until, materials=list(r.materials), region=r.region,
            doc_id=doc_ids.get(r.item_code), source=f"import:{os.path.basename(read.path)}",
        ) for _, r in rows]
        inserted, updated = people.add_records(user_id, records)
        report.inserted += inserted
        report.updated += updated
    report.users = len(by_user)
    people.audit(actor, "import_history", detail=f"{os.path.basename(read.path)}: {report.inserted} added, "
                                                  f"{report.updated} updated, {report.users} users")
    return report


def _numbered(read: HistoryImport):
    lines = getattr(read, "lines", None)
    for i, row in enumerate(read.rows):
        yield (lines[i] if lines else i + 1), row


def _user_of(people: PeopleStore, row: HistoryRow) -> int:
    user_id = None
    if row.id_number:
        if not people.has_cipher:
            raise ValueError(f"an ID number cannot be stored without an encryption key: set {DATA_KEY_ENV}")
        user_id = people.user_by_id_number(row.id_number)
    if row.channel and row.external_id:
        linked = people.user_for(row.channel, row.external_id, create=user_id is None)
        if user_id is not None and linked != user_id:
            people.link(user_id, row.channel, row.external_id)
        user_id = user_id or linked
    if user_id is None:  # an ID number seen for the first time, without a channel identity
        user_id = people.create_user()
        people.update_profile(user_id, id_number=row.id_number)
    return user_id


def _city(region: str | None) -> str | None:
    return region if region and region.endswith("市") else None

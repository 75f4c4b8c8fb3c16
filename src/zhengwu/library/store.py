"""The library tables (``document_versions``, ``library_documents``, ``document_events``, ``index_jobs``) on
the personal-data store's database, with the conventions of ``zhengwu.review.ReviewStore``: thread-safe, one
database session per call, plain dataclasses out."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, fields
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from zhengwu.db.models import DocumentEvent, DocumentVersion, IndexJob, LibraryDocument, utcnow
from zhengwu.db.transactions import Transactional
from zhengwu.documents import Document
from zhengwu.documents.checks import Problem
from zhengwu.library.records import (
    ACTIONS,
    ORIGINS,
    EntryData,
    EventData,
    JobData,
    VersionData,
    problem_dict,
    problem_of,
)

_DOCUMENT_FIELDS = frozenset(f.name for f in fields(Document))


def document_of(blob: dict[str, Any]) -> Document:
    return Document(**{k: v for k, v in blob.items() if k in _DOCUMENT_FIELDS})


def _version(row: DocumentVersion) -> VersionData:
    return VersionData(
        doc_id=row.doc_id, version=row.version, document=document_of(row.document), content_hash=row.content_hash,
        origin=row.origin, filename=row.filename, problems=[problem_of(p) for p in row.problems or []],
        based_on=row.based_on, disk_hash=row.disk_hash, note=row.note, created_by=row.created_by,
        created_at=row.created_at,
    )


def _event(row: DocumentEvent) -> EventData:
    return EventData(id=row.id, doc_id=row.doc_id, action=row.action, version=row.version, actor=row.actor,
                     at=row.at, before=row.before, after=row.after, detail=row.detail)


def _job(row: IndexJob) -> JobData:
    return JobData(id=row.id, kind=row.kind, state=row.state, total=row.total, done=row.done, message=row.message,
                   report=row.report, actor=row.actor, created_at=row.created_at, started_at=row.started_at,
                   finished_at=row.finished_at)


def state_of(version: VersionData | None) -> dict[str, Any] | None:
    """What the audit trail keeps of a version: enough to say what changed without the whole text."""
    if version is None:
        return None
    doc = version.document
    return {"version": version.version, "title": doc.title, "status": doc.status, "region": doc.region,
            "expires": str(doc.extra.get("expires") or ""), "hash": version.content_hash[:12]}


class LibraryStore(Transactional):
    # -- versions -----------------------------------------------------------------------------------------------

    def add_version(
        self, doc: Document, *, origin: str, actor: str, filename: str = "", problems: Iterable[Problem] = (),
        based_on: int | None = None, disk_hash: str | None = None, note: str = "", action: str = "edit",
    ) -> VersionData:
        """A new (unpublished) version of ``doc.doc_id``: version 1 for a new document, else the last + 1."""
        if origin not in ORIGINS or action not in ACTIONS:
            raise ValueError(f"unknown origin {origin!r} or action {action!r}")
        now = utcnow()
        with self._write() as session:
            last = session.scalar(sa.select(sa.func.max(DocumentVersion.version))
                                  .where(DocumentVersion.doc_id == doc.doc_id)) or 0
            row = DocumentVersion(
                doc_id=doc.doc_id, version=last + 1, document=asdict(doc), content_hash=doc.content_hash(),
                origin=origin, filename=filename[:255], problems=[problem_dict(problem_of(p)) for p in problems],
                based_on=based_on, disk_hash=disk_hash, note=note, created_by=actor, created_at=now,
            )
            session.add(row)
            entry = session.get(LibraryDocument, doc.doc_id)
            if entry is None:
                session.add(LibraryDocument(doc_id=doc.doc_id, updated_at=now))
            else:
                entry.updated_at = now
            session.flush()
            made = _version(row)
            self._log(session, doc.doc_id, action, made.version, actor, None, state_of(made), note or filename)
            return made

    def versions(self, doc_id: str) -> list[VersionData]:
        with self._read() as session:
            rows = session.scalars(sa.select(DocumentVersion).where(DocumentVersion.doc_id == doc_id)
                                   .order_by(DocumentVersion.version.desc()))
            return [_version(r) for r in rows]

    def version(self, doc_id: str, number: int) -> VersionData | None:
        with self._read() as session:
            row = session.scalar(sa.select(DocumentVersion).where(DocumentVersion.doc_id == doc_id,
                                                                  DocumentVersion.version == number))
            return _version(row) if row is not None else None

    # -- entries ------------------------------------------------------------------------------------------------

    def entry(self, doc_id: str) -> EntryData | None:
        entries = self._entries([doc_id])
        return entries.get(doc_id)

    def entries(self) -> dict[str, EntryData]:
        return self._entries(None)

    def _entries(self, doc_ids: Sequence[str] | None) -> dict[str, EntryData]:
        with self._read() as session:
            newest = (sa.select(DocumentVersion.doc_id, sa.func.max(DocumentVersion.version).label("v"))
                      .group_by(DocumentVersion.doc_id))
            if doc_ids is not None:
                newest = newest.where(DocumentVersion.doc_id.in_(list(doc_ids)))
            sub = newest.subquery()
            rows = session.execute(
                sa.select(LibraryDocument, DocumentVersion)
                .join(sub, sub.c.doc_id == LibraryDocument.doc_id)
                .join(DocumentVersion, sa.and_(DocumentVersion.doc_id == sub.c.doc_id,
                                               DocumentVersion.version == sub.c.v))
            ).all()
            return {
                entry.doc_id: EntryData(doc_id=entry.doc_id, latest=_version(version),
                                        published_version=entry.published_version, published_by=entry.published_by,
                                        published_at=entry.published_at, updated_at=entry.updated_at)
                for entry, version in rows
            }

    def published(self) -> list[VersionData]:
        """The published version of every console-managed document: what citizens are answered from."""
        with self._read() as session:
            rows = session.scalars(
                sa.select(DocumentVersion).join(LibraryDocument, sa.and_(
                    LibraryDocument.doc_id == DocumentVersion.doc_id,
                    LibraryDocument.published_version == DocumentVersion.version))
                .order_by(DocumentVersion.doc_id))
            return [_version(r) for r in rows]

    def set_published(self, doc_id: str, number: int | None, actor: str, *, action: str, detail: str = "") -> None:
        """Publish version ``number`` (None: stop publishing), recording before and after in the trail."""
        now = utcnow()
        with self._write() as session:
            entry = session.get(LibraryDocument, doc_id)
            if entry is None:
                raise LookupError(f"no document {doc_id!r} in the library")
            before = self._state(session, doc_id, entry.published_version)
            after = self._state(session, doc_id, number)
            if number is not None and after is None:
                raise LookupError(f"document {doc_id!r} has no version {number}")
            entry.published_version = number
            entry.published_by, entry.published_at = (actor, now) if number is not None else (None, None)
            entry.updated_at = now
            self._log(session, doc_id, action, number, actor, before, after, detail)

    def discard(self, doc_id: str, actor: str) -> None:
        """Forget a document that was never published (its drafts go; the trail stays)."""
        with self._write() as session:
            entry = session.get(LibraryDocument, doc_id)
            if entry is None:
                raise LookupError(f"no document {doc_id!r} in the library")
            if entry.published_version is not None:
                raise ValueError("a published document cannot be discarded; withdraw it or hand it back first")
            session.execute(sa.delete(DocumentVersion).where(DocumentVersion.doc_id == doc_id))
            session.delete(entry)
            self._log(session, doc_id, "discard", None, actor, None, None, "")

    @staticmethod
    def _state(session: Session, doc_id: str, number: int | None) -> dict[str, Any] | None:
        if number is None:
            return None
        row = session.scalar(sa.select(DocumentVersion).where(DocumentVersion.doc_id == doc_id,
                                                              DocumentVersion.version == number))
        return state_of(_version(row)) if row is not None else None

    # -- audit trail --------------------------------------------------------------------------------------------

    @staticmethod
    def _log(session: Session, doc_id: str, action: str, version: int | None, actor: str,
             before: dict[str, Any] | None, after: dict[str, Any] | None, detail: str) -> None:
        session.add(DocumentEvent(doc_id=doc_id, action=action, version=version, actor=actor, at=utcnow(),
                                  before=before, after=after, detail=detail[:2000]))

    def log(self, doc_id: str, action: str, actor: str, detail: str = "", version: int | None = None) -> None:
        with self._write() as session:
            self._log(session, doc_id, action, version, actor, None, None, detail)

    def events(self, doc_id: str | None = None, limit: int = 200) -> list[EventData]:
        with self._read() as session:
            query = sa.select(DocumentEvent).order_by(DocumentEvent.id.desc()).limit(limit)
            if doc_id is not None:
                query = query.where(DocumentEvent.doc_id == doc_id)
            return [_event(r) for r in session.scalars(query)]

    # -- jobs ---------------------------------------------------------------------------------------------------

    def new_job(self, kind: str, actor: str) -> JobData:
        with self._write() as session:
            row = IndexJob(kind=kind, state="queued", total=0, done=0, message="", actor=actor, created_at=utcnow())
            session.add(row)
            session.flush()
            return _job(row)

    def update_job(self, job_id: int, **values: Any) -> None:
        allowed = {"state", "total", "done", "message", "report", "started_at", "finished_at"}
        unknown = set(values) - allowed
        if unknown:
            raise ValueError(f"unknown job fields {sorted(unknown)}")
        with self._write() as session:
            session.execute(sa.update(IndexJob).where(IndexJob.id == job_id).values(**values))

    def job(self, job_id: int) -> JobData | None:
        with self._read() as session:
            row = session.get(IndexJob, job_id)
            return _job(row) if row is not None else None

    def jobs(self, limit: int = 10) -> list[JobData]:
        with self._read() as session:
            return [_job(r) for r in session.scalars(sa.select(IndexJob).order_by(IndexJob.id.desc()).limit(limit))]

    def abandon_unfinished_jobs(self, before: datetime) -> int:
        """Jobs a stopped process left queued or running: marked failed, so no page waits for them forever."""
        with self._write() as session:
            result = session.execute(
                sa.update(IndexJob).where(IndexJob.state.in_(("queued", "running")), IndexJob.created_at < before)
                .values(state="failed", message="服务重启，任务中断；已在启动时重新同步。", finished_at=utcnow()))
            return int(getattr(result, "rowcount", 0) or 0)

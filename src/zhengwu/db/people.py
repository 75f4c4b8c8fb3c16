"""The personal-data store: who the citizen is, what they consented to, what they applied for, what they asked.

Personal information protection (PIPL) shapes the API rather than being bolted on:

* consent is a history of rows (grant, withdrawal, grant again), and the current state is the latest row;
* ``export`` returns everything held about a person (Art. 45), including their 👍/👎 and staff reviews of
  their answers, ``delete`` erases all of it in one transaction (Art. 47), ``purge_turns``/``purge_sessions`` enforce retention periods (Art. 19);
* the 身份证号 is stored only as ciphertext plus a keyed hash (blind index) for look-up, and without a
  cipher the store refuses to take one rather than fall back to something weaker;
* question and answer texts pass through ``mask`` before they are written;
* ``audit`` records staff access (Art. 51) in a table that survives the erasure of the person it is about.

One ``PeopleStore`` per process; it is thread-safe (writes are serialised by a lock, each call has its own
database session) and returns plain dataclasses, never ORM objects.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from zhengwu.db.models import (
    AuditLog,
    Consent,
    ConversationTurn,
    Feedback,
    Identity,
    Reminder,
    Review,
    ServiceRecord,
    SessionRow,
    User,
    utcnow,
)
from zhengwu.db.records import (
    CHANNELS,
    CONSENT_KINDS,
    RECORD_STATUSES,
    AuditEntry,
    ConsentState,
    Profile,
    ServiceRecordData,
    TurnData,
)
from zhengwu.db.transactions import Transactional
from zhengwu.privacy import mask_id_number

EXPORT_FORMAT = "zhengwu-personal-data-export/1"
_ID_NUMBER = re.compile(r"\d{17}[\dX]|\d{15}")
# Fields of a service record whose change makes a re-import an update (``source`` alone does not).
_RECORD_FIELDS = ("item_name", "doc_id", "region", "status", "decided_at", "materials", "valid_until")


class Cipher(Protocol):
    """Encryption of the 身份证号 at rest. ``blind_index`` is a keyed hash (e.g. HMAC-SHA256): equal inputs give
    equal outputs, so a user can be found by id number without decrypting every row."""

    def encrypt(self, plaintext: str) -> str: ...

    def decrypt(self, ciphertext: str) -> str: ...

    def blind_index(self, value: str) -> str: ...


def normalise_id_number(value: str) -> str:
    """18-digit (last may be X) or legacy 15-digit 身份证号, spaces removed and x upper-cased.

    Only the shape is checked: the checksum is the issuing system's business, and a typo is caught when the
    citizen is looked up.
    """
    cleaned = re.sub(r"\s+", "", value).upper()
    if not _ID_NUMBER.fullmatch(cleaned):
        raise ValueError("not a resident id number (18 digits, the last may be X, or 15 digits)")
    return cleaned


def _identity(text: str) -> str:
    return text


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: pass a timezone-aware one (e.g. datetime.now(UTC))")
    return moment


def _check(value: str, allowed: Sequence[str], what: str) -> str:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; expected one of {', '.join(allowed)}")
    return value


def _clean_tags(tags: Sequence[str]) -> list[str]:
    seen: dict[str, None] = {}
    for tag in tags:
        tag = tag.strip()
        if tag:
            seen.setdefault(tag, None)
    return list(seen)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _record_data(row: ServiceRecord) -> ServiceRecordData:
    return ServiceRecordData(
        item_code=row.item_code,
        item_name=row.item_name,
        status=row.status,
        submitted_at=row.submitted_at,
        decided_at=row.decided_at,
        valid_until=row.valid_until,
        materials=list(row.materials or []),
        region=row.region,
        doc_id=row.doc_id,
        source=row.source,
        id=row.id,
    )


def turn_data(row: ConversationTurn) -> TurnData:
    """A turn row as the plain value callers get (also used by ``zhengwu.review.store``)."""
    return TurnData(
        id=row.id,
        session_id=row.session_id,
        user_id=row.user_id,
        channel=row.channel,
        question=row.question,
        answer=row.answer,
        status=row.status,
        created_at=row.created_at,
        citations=list(row.citations or []),
        retrieved=list(row.retrieved or []),
        path=row.path or "",
        reason=row.reason or "",
        latency_ms=row.latency_ms,
    )


def _citation_record(citation: Any) -> dict[str, Any]:
    """What a turn keeps of a citation: enough to show and check it, not the snippet (the index has the text)."""
    get = citation.get if isinstance(citation, dict) else lambda name, default="": getattr(citation, name, default)
    return {name: get(name, "") for name in ("n", "doc_id", "title", "section", "source_url")}


class PeopleStore(Transactional):
    def __init__(
        self,
        engine: Engine,
        cipher: Cipher | None = None,
        mask: Callable[[str], str] | None = None,
    ) -> None:
        super().__init__(engine)
        self._cipher = cipher
        self._mask = mask or _identity

    # -- plumbing -------------------------------------------------------------------------------------------

    def _require_cipher(self) -> Cipher:
        if self._cipher is None:
            raise RuntimeError(
                "PeopleStore has no cipher: id numbers are stored only encrypted, so configure one "
                "(zhengwu.privacy) before storing or looking up an id number"
            )
        return self._cipher

    @staticmethod
    def _user(session: Session, user_id: int) -> User:
        user = session.get(User, user_id)
        if user is None:
            raise LookupError(f"no user with id {user_id}")
        return user

    @staticmethod
    def _identity_row(session: Session, channel: str, external_id: str) -> Identity | None:
        return session.scalar(
            sa.select(Identity).where(Identity.channel == channel, Identity.external_id == external_id)
        )

    @property
    def has_cipher(self) -> bool:
        return self._cipher is not None

    # -- identities -----------------------------------------------------------------------------------------

    def create_user(self) -> int:
        """A user with no channel identity yet (known to staff by ID number, linked when they first chat)."""
        with self._write() as session:
            user = User(tags=[])
            session.add(user)
            session.flush()
            return user.id

    def user_for(self, channel: str, external_id: str, create: bool = True) -> int | None:
        """The user behind a channel identity; with ``create`` a new user is made for an unknown one."""
        _check(channel, CHANNELS, "channel")
        if not external_id:
            raise ValueError("external_id is empty")
        with self._read() as session:
            row = self._identity_row(session, channel, external_id)
            if row is not None or not create:
                return row.user_id if row is not None else None
        try:
            with self._write() as session:
                row = self._identity_row(session, channel, external_id)
                if row is not None:
                    return row.user_id
                user = User(tags=[])
                session.add(user)
                session.flush()
                session.add(Identity(user_id=user.id, channel=channel, external_id=external_id))
                return user.id
        except IntegrityError:  # another process created the same identity in the meantime
            with self._read() as session:
                row = self._identity_row(session, channel, external_id)
                if row is None:
                    raise
                return row.user_id

    def link(self, user_id: int, channel: str, external_id: str, force: bool = False) -> None:
        """Attach an identity to ``user_id``. One already attached to somebody else is moved only with ``force``
        (after the citizen proved both are theirs): silently moving it would hand one person's history to
        another. The previous owner keeps everything else."""
        _check(channel, CHANNELS, "channel")
        if not external_id:
            raise ValueError("external_id is empty")
        with self._write() as session:
            self._user(session, user_id)
            row = self._identity_row(session, channel, external_id)
            if row is None:
                session.add(Identity(user_id=user_id, channel=channel, external_id=external_id))
            elif row.user_id != user_id:
                if not force:
                    raise ValueError(f"this {channel} identity belongs to another user; pass force=True to move it")
                row.user_id = user_id

    def identities(self, user_id: int) -> list[tuple[str, str]]:
        with self._read() as session:
            return self._identities(session, user_id)

    @staticmethod
    def _identities(session: Session, user_id: int) -> list[tuple[str, str]]:
        rows = session.execute(
            sa.select(Identity.channel, Identity.external_id).where(Identity.user_id == user_id).order_by(Identity.id)
        )
        return [(channel, external_id) for channel, external_id in rows]

    def user_by_id_number(self, id_number: str) -> int | None:
        digest = self._require_cipher().blind_index(normalise_id_number(id_number))
        with self._read() as session:
            return session.scalar(sa.select(User.id).where(User.id_number_hash == digest))

    # -- profile and consent --------------------------------------------------------------------------------

    def profile(self, user_id: int) -> Profile:
        with self._read() as session:
            user = self._user(session, user_id)
            masked = None
            if user.id_number_enc and self._cipher is not None:
                masked = mask_id_number(self._cipher.decrypt(user.id_number_enc))
            return Profile(
                user_id=user.id,
                created_at=user.created_at,
                province=user.province,
                city=user.city,
                district=user.district,
                tags=list(user.tags or []),
                display_name=user.display_name,
                id_number_masked=masked,
                consents=self._consents(session, user_id),
                identities=self._identities(session, user_id),
            )

    def update_profile(
        self,
        user_id: int,
        province: str | None = None,
        city: str | None = None,
        district: str | None = None,
        tags: Sequence[str] | None = None,
        id_number: str | None = None,
        display_name: str | None = None,
    ) -> Profile:
        """Change the given fields; None leaves a field as it is, "" clears it (an empty id number removes it)."""
        with self._write() as session:
            user = self._user(session, user_id)
            for name, value in (
                ("province", province),
                ("city", city),
                ("district", district),
                ("display_name", display_name),
            ):
                if value is not None:
                    setattr(user, name, value.strip() or None)
            if tags is not None:
                user.tags = _clean_tags(tags)
            if id_number is not None:
                if not id_number.strip():
                    user.id_number_enc = user.id_number_hash = None
                else:
                    cipher = self._require_cipher()
                    value = normalise_id_number(id_number)
                    digest = cipher.blind_index(value)
                    other = session.scalar(sa.select(User.id).where(User.id_number_hash == digest, User.id != user_id))
                    if other is not None:
                        raise ValueError("this id number is already on file for another user")
                    user.id_number_enc = cipher.encrypt(value)
                    user.id_number_hash = digest
        return self.profile(user_id)

    @staticmethod
    def _consents(session: Session, user_id: int) -> dict[str, ConsentState]:
        current = {kind: ConsentState(kind, False, None) for kind in CONSENT_KINDS}
        rows = session.execute(
            sa.select(Consent.kind, Consent.granted, Consent.at).where(Consent.user_id == user_id).order_by(Consent.id)
        )
        for kind, granted, at in rows:  # the latest row of each kind wins
            current[kind] = ConsentState(kind, bool(granted), at)
        return current

    def set_consent(self, user_id: int, kind: str, granted: bool) -> ConsentState:
        """Record a grant or a withdrawal; earlier rows stay as the history."""
        _check(kind, CONSENT_KINDS, "consent kind")
        with self._write() as session:
            self._user(session, user_id)
            row = Consent(user_id=user_id, kind=kind, granted=bool(granted), at=utcnow())
            session.add(row)
        return ConsentState(kind, bool(granted), row.at)

    def has_consent(self, user_id: int, kind: str) -> bool:
        _check(kind, CONSENT_KINDS, "consent kind")
        with self._read() as session:
            granted = session.scalar(
                sa.select(Consent.granted)
                .where(Consent.user_id == user_id, Consent.kind == kind)
                .order_by(Consent.id.desc())
                .limit(1)
            )
            return bool(granted)

    # -- service history ------------------------------------------------------------------------------------

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
                _check(record.status, RECORD_STATUSES, "record status")
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
            return [_record_data(row) for row in rows]

    # -- conversation turns ---------------------------------------------------------------------------------

    def log_turn(
        self,
        session_id: str,
        user_id: int | None,
        channel: str,
        question: str,
        answer: str,
        status: str,
        *,
        citations: Sequence[Any] = (),
        retrieved: Sequence[str] = (),
        path: str | None = None,
        reason: str | None = None,
        latency_ms: float | None = None,
    ) -> int:
        """Store one turn, with question and answer passed through ``mask`` first; returns its id.

        The keyword arguments record how the answer came about, so that staff can review it: ``citations``
        (``Citation`` objects or dicts), the ranked ``retrieved`` document ids, the ``path`` that produced the
        text, the ``reason`` of a refusal and the latency."""
        _check(channel, CHANNELS, "channel")
        with self._write() as session:
            row = ConversationTurn(
                session_id=session_id,
                user_id=user_id,
                channel=channel,
                question=self._mask(question),
                answer=self._mask(answer),
                status=status,
                created_at=utcnow(),
                citations=[_citation_record(c) for c in citations],
                retrieved=list(retrieved),
                path=path,
                reason=reason,
                latency_ms=latency_ms,
            )
            session.add(row)
            session.flush()
            return row.id

    def turns(
        self, user_id: int | None = None, session_id: str | None = None, limit: int | None = None
    ) -> list[TurnData]:
        """Turns in order, filtered by user and/or session; the latest ``limit`` when given."""
        query = sa.select(ConversationTurn)
        if user_id is not None:
            query = query.where(ConversationTurn.user_id == user_id)
        if session_id is not None:
            query = query.where(ConversationTurn.session_id == session_id)
        query = query.order_by(ConversationTurn.created_at.desc(), ConversationTurn.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self._read() as session:
            return [turn_data(row) for row in reversed(session.scalars(query).all())]

    # -- reminders ------------------------------------------------------------------------------------------

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
            return [(row.user_id, _record_data(row)) for row in session.scalars(query)]

    def mark_reminder_sent(self, record_id: int, kind: str = "expiry", at: datetime | None = None) -> None:
        at = _aware(at) if at is not None else utcnow()
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

    # -- export, erasure, retention -------------------------------------------------------------------------

    @staticmethod
    def _linked_session_ids(session: Session, user_id: int) -> set[str]:
        """Sessions that are the user's: carrying their id, named by their web identities, or holding their turns."""
        ids: set[str] = set()
        ids.update(session.scalars(sa.select(SessionRow.session_id).where(SessionRow.user_id == user_id)))
        ids.update(
            session.scalars(
                sa.select(Identity.external_id).where(Identity.user_id == user_id, Identity.channel == "web")
            )
        )
        ids.update(
            session.scalars(
                sa.select(ConversationTurn.session_id).where(ConversationTurn.user_id == user_id).distinct()
            )
        )
        return ids

    @staticmethod
    def _about(column_user: Any, column_session: Any, user_id: int, session_ids: set[str]) -> Any:
        """Rows carrying the user id, or anonymous rows in one of the user's sessions (never another user's)."""
        if not session_ids:
            return column_user == user_id
        return sa.or_(column_user == user_id, sa.and_(column_user.is_(None), column_session.in_(session_ids)))

    def _turn_ids(self, user_id: int, session_ids: set[str]) -> Any:
        """The ids of the user's turns, as a subquery: their feedback and reviews are about the user too."""
        return sa.select(ConversationTurn.id).where(
            self._about(ConversationTurn.user_id, ConversationTurn.session_id, user_id, session_ids)
        )

    def export(self, user_id: int) -> dict[str, Any]:
        """Everything held about the user, JSON-serialisable, for the user themselves (PIPL Art. 45).

        The id number is included in full, decrypted: the law gives the person a copy of their own data, and a
        masked value would not be that copy. Deliver the export only to the authenticated citizen; staff
        screens use ``profile`` (masked). ``access_log`` lists when staff viewed, exported or changed the
        data (action and time, not who), from the audit trail.
        """
        with self._read() as session:
            user = self._user(session, user_id)
            id_number = None
            if user.id_number_enc:
                id_number = self._require_cipher().decrypt(user.id_number_enc)
            session_ids = self._linked_session_ids(session, user_id)

            def rows(model: Any, *where: Any, order: Any) -> list[Any]:
                return list(session.scalars(sa.select(model).where(*where).order_by(order)))

            turn_ids = self._turn_ids(user_id, session_ids)

            data = {
                "format": EXPORT_FORMAT,
                "exported_at": utcnow(),
                "user": {
                    "id": user.id,
                    "created_at": user.created_at,
                    "province": user.province,
                    "city": user.city,
                    "district": user.district,
                    "tags": list(user.tags or []),
                    "display_name": user.display_name,
                    "id_number": id_number,
                },
                "identities": [
                    {"channel": r.channel, "external_id": r.external_id, "created_at": r.created_at}
                    for r in rows(Identity, Identity.user_id == user_id, order=Identity.id)
                ],
                "consents": [
                    {"kind": r.kind, "granted": r.granted, "at": r.at}
                    for r in rows(Consent, Consent.user_id == user_id, order=Consent.id)
                ],
                "service_records": [
                    asdict(_record_data(r))
                    for r in rows(ServiceRecord, ServiceRecord.user_id == user_id, order=ServiceRecord.id)
                ],
                "reminders": [
                    {"record_id": r.record_id, "kind": r.kind, "due": r.due, "sent_at": r.sent_at}
                    for r in rows(Reminder, Reminder.user_id == user_id, order=Reminder.id)
                ],
                "sessions": [
                    {
                        "session_id": r.session_id,
                        "data": r.data,
                        "updated_at": datetime.fromtimestamp(r.updated_at, UTC),
                    }
                    for r in rows(
                        SessionRow,
                        self._about(SessionRow.user_id, SessionRow.session_id, user_id, session_ids),
                        order=SessionRow.session_id,
                    )
                ],
                "conversation_turns": [
                    {k: v for k, v in asdict(turn_data(r)).items() if k != "id"}
                    for r in rows(
                        ConversationTurn,
                        self._about(ConversationTurn.user_id, ConversationTurn.session_id, user_id, session_ids),
                        order=ConversationTurn.id,
                    )
                ],
                "feedback": [
                    {"question": question, "value": r.value, "channel": r.channel, "created_at": r.created_at}
                    for r, question in session.execute(
                        sa.select(Feedback, ConversationTurn.question)
                        .join(ConversationTurn, Feedback.turn_id == ConversationTurn.id)
                        .where(Feedback.turn_id.in_(turn_ids))
                        .order_by(Feedback.id)
                    )
                ],
                # Staff judgements of the person's answers, without the reviewer's name (as access_log).
                "reviews": [
                    {"question": question, "rating": r.rating, "reasons": list(r.reasons or []),
                     "corrected_answer": r.corrected_answer, "created_at": r.created_at}
                    for r, question in session.execute(
                        sa.select(Review, ConversationTurn.question)
                        .join(ConversationTurn, Review.turn_id == ConversationTurn.id)
                        .where(Review.turn_id.in_(turn_ids))
                        .order_by(Review.id)
                    )
                ],
                "access_log": [
                    {"at": r.at, "action": r.action}
                    for r in rows(AuditLog, AuditLog.user_id == user_id, order=AuditLog.id)
                ],
            }
        return _jsonable(data)

    def delete(self, user_id: int, actor: str | None = None) -> dict[str, int]:
        """Erase the user and every row about them in one transaction; returns rows deleted per table.

        Foreign keys cascade anyway; the explicit deletes make the counts exact and also reach the anonymous
        session and turn rows of the user's sessions. Deleting an unknown user deletes nothing (erasure is
        idempotent). With ``actor`` the erasure is audited in the same transaction.
        """
        counts: dict[str, int] = {}
        with self._write() as session:
            session_ids = self._linked_session_ids(session, user_id)

            def drop(model: Any, where: Any) -> None:
                result = session.execute(
                    sa.delete(model).where(where), execution_options={"synchronize_session": False}
                )
                counts[model.__tablename__] = counts.get(model.__tablename__, 0) + (result.rowcount or 0)

            turn_ids = self._turn_ids(user_id, session_ids)
            drop(Feedback, Feedback.turn_id.in_(turn_ids))  # cascades anyway; counted here
            drop(Review, Review.turn_id.in_(turn_ids))
            drop(
                ConversationTurn,
                self._about(ConversationTurn.user_id, ConversationTurn.session_id, user_id, session_ids),
            )
            drop(SessionRow, self._about(SessionRow.user_id, SessionRow.session_id, user_id, session_ids))
            drop(Reminder, Reminder.user_id == user_id)
            drop(ServiceRecord, ServiceRecord.user_id == user_id)
            drop(Consent, Consent.user_id == user_id)
            drop(Identity, Identity.user_id == user_id)
            drop(User, User.id == user_id)
            if actor:
                session.add(
                    AuditLog(
                        actor=actor,
                        action="delete",
                        user_id=user_id,
                        at=utcnow(),
                        detail=json.dumps(counts, sort_keys=True),
                    )
                )
        return counts

    def purge_turns(self, older_than: datetime) -> int:
        """Retention: forget turns created before ``older_than``."""
        with self._write() as session:
            result = session.execute(
                sa.delete(ConversationTurn).where(ConversationTurn.created_at < _aware(older_than)),
                execution_options={"synchronize_session": False},
            )
            return result.rowcount or 0

    def purge_sessions(self, older_than_epoch: float) -> int:
        """Retention: forget sessions last updated before ``older_than_epoch`` (seconds)."""
        with self._write() as session:
            result = session.execute(
                sa.delete(SessionRow).where(SessionRow.updated_at < older_than_epoch),
                execution_options={"synchronize_session": False},
            )
            return result.rowcount or 0

    # -- audit ----------------------------------------------------------------------------------------------

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

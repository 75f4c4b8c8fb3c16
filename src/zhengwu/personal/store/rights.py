"""The citizen's rights over their data (PIPL): a copy of everything held about them (Art. 45), erasure of all
of it in one transaction (Art. 47), and the retention purges of old turns and sessions (Art. 19). Rows about a
person are those carrying their id, and the anonymous rows of their sessions (never another user's)."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from zhengwu.db.models import (
    AuditLog,
    Consent,
    ConversationTurn,
    Feedback,
    Identity,
    PendingReply,
    Rectification,
    RectificationEvent,
    Reminder,
    Review,
    SavedTestCase,
    ServiceRecord,
    SessionRow,
    User,
    utcnow,
)
from zhengwu.personal.store._common import StoreBase, aware, record_data
from zhengwu.personal.store.transcripts import turn_data

EXPORT_FORMAT = "zhengwu-personal-data-export/1"


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


class Rights(StoreBase):
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
                    asdict(record_data(r))
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
                **self._ratings_export(session, turn_ids),
                # Answers owed on a chat platform and not delivered yet (minutes old, normally none).
                "pending_replies": [
                    {"channel": r.channel, "payload": r.payload, "created_at": datetime.fromtimestamp(r.created_at, UTC)}
                    for r in rows(PendingReply, sa.tuple_(PendingReply.channel, PendingReply.recipient).in_(
                        sa.select(Identity.channel, Identity.external_id).where(Identity.user_id == user_id)),
                        order=PendingReply.id)
                ],
                "access_log": [
                    {"at": r.at, "action": r.action}
                    for r in rows(AuditLog, AuditLog.user_id == user_id, order=AuditLog.id)
                ],
            }
        return _jsonable(data)

    @staticmethod
    def _ratings_export(session: Session, turn_ids: Any) -> dict[str, list[dict[str, Any]]]:
        """What staff did about the person's 差评 (the rectification, its steps) and which of their questions
        became test cases; without staff names, as ``reviews``."""

        def about(model: Any) -> Any:
            return session.execute(sa.select(model, ConversationTurn.question).join(
                ConversationTurn, model.turn_id == ConversationTurn.id).where(model.turn_id.in_(turn_ids))
                .order_by(model.id))

        return {
            "rectifications": [
                {"question": question, "level": r.level, "state": r.state, "opened_at": r.opened_at,
                 "deadline": r.deadline, "measures": r.measures, "rectified_at": r.rectified_at,
                 "revisit_result": r.revisit_result, "revisit_note": r.revisit_note, "revisited_at": r.revisited_at}
                for r, question in about(Rectification)
            ],
            "rectification_events": [{"question": question, "action": e.action, "at": e.at}
                                     for e, question in about(RectificationEvent)],
            "test_cases": [{"question": question, "created_at": c.created_at} for c, question in about(SavedTestCase)],
        }

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
            for model in (RectificationEvent, Rectification, SavedTestCase):  # 好差评: cascade too; counted here
                drop(model, model.turn_id.in_(turn_ids))
            drop(
                ConversationTurn,
                self._about(ConversationTurn.user_id, ConversationTurn.session_id, user_id, session_ids),
            )
            drop(SessionRow, self._about(SessionRow.user_id, SessionRow.session_id, user_id, session_ids))
            drop(Reminder, Reminder.user_id == user_id)
            drop(ServiceRecord, ServiceRecord.user_id == user_id)
            drop(Consent, Consent.user_id == user_id)
            # Answers still owed to the user on a chat platform go too (they would quote the erased conversation).
            for channel, external_id in session.execute(
                sa.select(Identity.channel, Identity.external_id).where(Identity.user_id == user_id)
            ).all():
                drop(PendingReply, sa.and_(PendingReply.channel == channel, PendingReply.recipient == external_id))
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
                sa.delete(ConversationTurn).where(ConversationTurn.created_at < aware(older_than)),
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

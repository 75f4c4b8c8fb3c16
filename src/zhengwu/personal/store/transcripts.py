"""Conversation turns: each question and answer (masked before it is written) with how the answer came about,
so staff can review it. ``turn_data`` turns a row into the plain value, for the review store too."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from zhengwu.answering.vocabulary import CHANNELS
from zhengwu.db.models import ConversationTurn, utcnow
from zhengwu.personal.records import TurnData
from zhengwu.personal.store._common import StoreBase, check


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
        handoff=dict(row.handoff) if row.handoff else None,
    )


def _citation_record(citation: Any) -> dict[str, Any]:
    """What a turn keeps of a citation: enough to show and check it, not the snippet (the index has the text)."""
    get = citation.get if isinstance(citation, dict) else lambda name, default="": getattr(citation, name, default)
    return {name: get(name, "") for name in ("n", "doc_id", "title", "section", "source_url")}


class Transcripts(StoreBase):
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
        handoff: Any = None,
        also: Callable[[Connection], None] | None = None,
    ) -> int:
        """Store one turn, with question and answer passed through ``mask`` first; returns its id.

        The keyword arguments record how the answer came about, so that staff can review it: ``citations``
        (``Citation`` objects or dicts), the ranked ``retrieved`` document ids, the ``path`` that produced the
        text, the ``reason`` of a refusal and the latency; ``handoff`` the record of a handed-off message
        (an ``answering.answer.Handoff`` or a dict; its place is masked like the text). ``also`` runs in the
        same transaction."""
        check(channel, CHANNELS, "channel")
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
                handoff=self._handoff_record(handoff),
            )
            session.add(row)
            session.flush()
            if also is not None:  # e.g. the turn's session state: one commit for the whole turn
                also(session.connection())
            return row.id

    def _handoff_record(self, handoff: Any) -> dict[str, str] | None:
        if handoff is None:
            return None
        get = handoff.get if isinstance(handoff, dict) else lambda name, default="": getattr(handoff, name, default)
        return {name: self._mask(str(get(name, "") or ""))[:120] for name in ("category", "department", "place")}

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

"""Answers owed to chat-platform users, kept in ``pending_replies`` until they are delivered.

A row is *claimed* while ``claimed_until`` is in the future: its owner (the worker that replied ``success``
and is computing or sending the answer) holds it, nobody else touches it. The owner renews its claim each
time it records progress and deletes the row once everything is sent. A worker that dies leaves its row
behind; when the claim runs out any worker takes it over with ``UPDATE … WHERE id = :id AND claimed_until <
:now`` — on PostgreSQL the second of two racing updates re-reads the row and matches nothing, on SQLite the
database lock serialises them — so one worker, never two, sends it.

The claim value doubles as the owner's token: every change by the owner is a compare-and-swap on the exact
``claimed_until`` it wrote (with a random fraction of a millisecond, so two claims never collide). An owner
that was too slow and lost its row to another worker learns it at its next step and stops, instead of
sending the answer a second time.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from zhengwu.db.models import PendingReply
from zhengwu.pii import mask_pii

CLAIM_SECONDS = 120.0  # longer than any answer takes to compute (LLM included), short enough to recover soon

_TABLE = PendingReply.__table__


@dataclass(frozen=True)
class Owed:
    """A claimed row: what is owed, to whom, and the claim (``token``) its holder proves ownership with."""

    id: int
    channel: str
    recipient: str
    payload: dict[str, Any]
    created_at: float
    attempts: int
    token: float


class PendingReplies:
    def __init__(self, engine: Engine, claim_seconds: float = CLAIM_SECONDS,
                 clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.claim_seconds = claim_seconds
        self.clock = clock

    def _token(self, hold: float | None = None) -> float:
        return self.clock() + (self.claim_seconds if hold is None else hold) + random.random() / 1000

    def add(self, channel: str, recipient: str, payload: dict[str, Any]) -> Owed:
        """A new row, claimed by the caller."""
        now, token = self.clock(), self._token()
        with self.engine.begin() as connection:
            result = connection.execute(
                sa.insert(_TABLE).values(channel=channel, recipient=recipient, payload=_dump(payload),
                                         created_at=now, attempts=1, claimed_until=token))
            row_id = int(result.inserted_primary_key[0])
        return Owed(row_id, channel, recipient, payload, now, 1, token)

    def renew(self, owed: Owed, payload: dict[str, Any] | None = None) -> Owed | None:
        """Extend the claim (and replace the payload); None when the row is no longer ours (or gone)."""
        token = self._token()
        values: dict[str, Any] = {"claimed_until": token}
        if payload is not None:
            values["payload"] = _dump(payload)
        if not self._swap(owed, values):
            return None
        return replace(owed, token=token, payload=owed.payload if payload is None else payload)

    def release(self, owed: Owed, retry_in: float) -> bool:
        """Give the row back, to be taken again (by anyone) in ``retry_in`` seconds."""
        return self._swap(owed, {"claimed_until": self.clock() + retry_in})

    def finish(self, owed: Owed) -> bool:
        """Delete the row: delivered, or given up. False when it was no longer ours."""
        with self.engine.begin() as connection:
            result = connection.execute(
                sa.delete(_TABLE).where(_TABLE.c.id == owed.id, _TABLE.c.claimed_until == owed.token))
        return bool(result.rowcount)

    def claim_due(self, channel: str, accept: Callable[[dict[str, Any]], bool] = lambda _p: True,
                  limit: int = 20) -> list[Owed]:
        """Take over up to ``limit`` rows of ``channel`` whose claim ran out (oldest first) and that
        ``accept`` (on their payload) — each for this caller alone."""
        now = self.clock()
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(_TABLE).where(_TABLE.c.channel == channel, _TABLE.c.claimed_until < now)
                .order_by(_TABLE.c.created_at).limit(limit)
            ).all()
        claimed: list[Owed] = []
        for row in rows:
            payload = _load(row.payload)
            if not accept(payload):
                continue
            token = self._token()
            with self.engine.begin() as connection:
                result = connection.execute(
                    sa.update(_TABLE).where(_TABLE.c.id == row.id, _TABLE.c.claimed_until < self.clock())
                    .values(claimed_until=token, attempts=_TABLE.c.attempts + 1)
                )
            if result.rowcount:
                claimed.append(Owed(row.id, row.channel, row.recipient, payload, row.created_at,
                                    (row.attempts or 0) + 1, token))
        return claimed

    def count(self, channel: str | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(_TABLE)
        if channel is not None:
            query = query.where(_TABLE.c.channel == channel)
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def _swap(self, owed: Owed, values: dict[str, Any]) -> bool:
        with self.engine.begin() as connection:
            result = connection.execute(
                sa.update(_TABLE).where(_TABLE.c.id == owed.id, _TABLE.c.claimed_until == owed.token)
                .values(**values))
        return bool(result.rowcount)


def _dump(payload: dict[str, Any]) -> str:
    # Masked like every stored transcript: the question is answered again from its masked text if need be
    # (the assistant never needs the citizen's ID or mobile number to answer).
    return mask_pii(json.dumps(payload, ensure_ascii=False))


def _load(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}

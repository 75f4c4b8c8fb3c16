"""Conversation sessions in the personal-data database (SQLite or PostgreSQL).

Same behaviour as ``zhengwu.sessions.SqliteSessionStore``: a session silent for more than ``ttl`` seconds is
forgotten (read as a fresh session with the same id), expired rows are swept at most once a minute on save,
and ``count`` counts live sessions. On PostgreSQL the sessions are shared by every worker on every machine.
A row may carry the user id of a signed-in citizen, so that erasing the citizen erases their sessions too.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import asdict, fields

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from zhengwu.answering.sessions import Session
from zhengwu.db.models import SessionRow

SWEEP_INTERVAL_SECONDS = 60.0


class DbSessionStore:
    def __init__(self, engine: Engine, ttl: float = 1800.0, *, owns_engine: bool = False) -> None:
        self.engine = engine
        self.ttl = ttl
        self._owns_engine = owns_engine
        self._lock = threading.Lock()
        self._last_sweep = 0.0
        self._table = SessionRow.__table__

    def get(self, session_id: str | None) -> Session:
        found = self.find(session_id) if session_id else None
        return found or Session(session_id or uuid.uuid4().hex)

    def find(self, session_id: str) -> Session | None:
        with self.engine.connect().execution_options(read_only=True) as connection:
            row = connection.execute(
                sa.select(self._table.c.data, self._table.c.updated_at).where(self._table.c.session_id == session_id)
            ).first()
        if row is None or time.time() - row.updated_at > self.ttl:
            return None
        known = {f.name for f in fields(Session)}  # rows written by another version may carry other keys
        return Session(**{key: value for key, value in row.data.items() if key in known})

    def save(self, session: Session, user_id: int | None = None) -> None:
        """Store the session; ``user_id`` links it to a citizen (an existing link is kept when None)."""
        with self.engine.begin() as connection:
            self.save_in(connection, session, user_id)

    def save_in(self, connection: Connection, session: Session, user_id: int | None = None) -> None:
        """``save`` inside a transaction the caller holds: the assistant writes a turn's transcript and its
        session in one commit (``TurnLog.log_turn(also=...)``)."""
        now = time.time()
        values = {"session_id": session.session_id, "data": asdict(session), "updated_at": now, "user_id": user_id}
        connection.execute(self._upsert(connection.dialect.name, values))
        with self._lock:
            sweep = now - self._last_sweep > SWEEP_INTERVAL_SECONDS
            if sweep:
                self._last_sweep = now
        if sweep:
            connection.execute(sa.delete(self._table).where(self._table.c.updated_at < now - self.ttl))

    def _upsert(self, dialect: str, values: dict) -> sa.Executable:
        table = self._table
        if dialect in ("sqlite", "postgresql"):
            insert = (sqlite.insert if dialect == "sqlite" else postgresql.insert)(table).values(**values)
            return insert.on_conflict_do_update(
                index_elements=[table.c.session_id],
                set_={
                    "data": insert.excluded.data,
                    "updated_at": insert.excluded.updated_at,
                    "user_id": sa.func.coalesce(insert.excluded.user_id, table.c.user_id),
                },
            )
        raise NotImplementedError(f"DbSessionStore supports SQLite and PostgreSQL, not {dialect}")

    def count(self) -> int:
        with self.engine.connect().execution_options(read_only=True) as connection:
            return (
                connection.scalar(
                    sa.select(sa.func.count())
                    .select_from(self._table)
                    .where(self._table.c.updated_at >= time.time() - self.ttl)
                )
                or 0
            )

    def close(self) -> None:
        """Release the engine's connections if this store created it; a shared engine stays usable."""
        if self._owns_engine:
            self.engine.dispose()

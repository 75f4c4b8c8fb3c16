"""Conversation sessions: what a follow-up question ("电话呢？") needs to know about the conversation so far.

``MemorySessionStore`` serves one process (the CLI, tests). ``SqliteSessionStore`` is the service default: it
survives a restart and is shared by several workers on one machine (SQLite in WAL mode), and sessions expire
after ``ttl`` seconds of silence. A session holds no personal data: the item discussed, the region the asker
gave, and the status of recent turns (not their text).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

MAX_TURNS_KEPT = 20


@dataclass
class Session:
    session_id: str
    subject: str | None = None  # doc_id of the item the conversation is about
    subject_title: str | None = None
    region: str | None = None  # the asker's region, remembered from the turn that gave it
    statuses: list[str] = field(default_factory=list)  # status of each recent turn

    def record(self, status: str) -> None:
        self.statuses = (self.statuses + [status])[-MAX_TURNS_KEPT:]


class SessionStore(Protocol):
    def get(self, session_id: str | None) -> Session: ...

    def save(self, session: Session, user_id: int | None = None) -> None:
        """``user_id``: the known channel user the conversation belongs to (for export and deletion)."""


def new_session_id() -> str:
    return uuid.uuid4().hex


def valid_session_id(session_id: str | None) -> bool:
    """Client-supplied ids are accepted only in the shape we issue (hex, bounded), never as arbitrary text."""
    return bool(session_id) and 8 <= len(session_id) <= 64 and all(c in "0123456789abcdef-" for c in session_id)


class MemorySessionStore:
    def __init__(self, limit: int = 10000) -> None:
        self._sessions: dict[str, Session] = {}
        self._limit = limit
        self._lock = threading.Lock()

    def get(self, session_id: str | None) -> Session:
        with self._lock:
            if session_id and session_id in self._sessions:
                return self._sessions[session_id]
            session = Session(session_id or new_session_id())
            if len(self._sessions) >= self._limit:
                self._sessions.pop(next(iter(self._sessions)))
            self._sessions[session.session_id] = session
            return session

    def save(self, session: Session, user_id: int | None = None) -> None:
        with self._lock:
            self._sessions[session.session_id] = session


class SqliteSessionStore:
    def __init__(self, path: Path, ttl: float = 1800.0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS sessions (session_id TEXT PRIMARY KEY, state TEXT NOT NULL, "
            "updated REAL NOT NULL)"
        )
        self._db.execute("CREATE INDEX IF NOT EXISTS sessions_updated ON sessions(updated)")
        self._db.commit()
        self.ttl = ttl
        self._lock = threading.Lock()
        self._last_sweep = 0.0

    def get(self, session_id: str | None) -> Session:
        if session_id:
            with self._lock:
                row = self._db.execute(
                    "SELECT state, updated FROM sessions WHERE session_id = ?", (session_id,)
                ).fetchone()
            if row and time.time() - row[1] <= self.ttl:
                return Session(**json.loads(row[0]))
        return Session(session_id or new_session_id())

    def save(self, session: Session, user_id: int | None = None) -> None:
        now = time.time()
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO sessions VALUES (?, ?, ?)",
                (session.session_id, json.dumps(asdict(session), ensure_ascii=False), now),
            )
            if now - self._last_sweep > 60:
                self._db.execute("DELETE FROM sessions WHERE updated < ?", (now - self.ttl,))
                self._last_sweep = now

    def count(self) -> int:
        with self._lock:
            return self._db.execute(
                "SELECT COUNT(*) FROM sessions WHERE updated >= ?", (time.time() - self.ttl,)
            ).fetchone()[0]

    def close(self) -> None:
        self._db.close()

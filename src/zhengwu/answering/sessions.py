"""Conversation sessions: what a follow-up question ("电话呢？") needs to know about the conversation so far.

``MemorySessionStore`` serves one process (the CLI, evaluation, tests). The service keeps sessions in its
database (``zhengwu.personal.DbSessionStore``: they survive a restart, are shared by workers and expire after
``ZHENGWU_SESSION_TTL_SECONDS`` of silence). A session holds no personal data: the item discussed, the region
the asker gave, and the status of recent turns (not their text).

A session is bound to whoever started it (``Session.owner``: the channel, and the channel user when known).
``Assistant.ask`` never continues a session for somebody else: a web request carrying the id of a WeCom
user's session, or an anonymous request carrying a signed-in citizen's, starts a fresh conversation instead.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import Protocol

MAX_TURNS_KEPT = 20


@dataclass
class Session:
    session_id: str
    subject: str | None = None  # doc_id of the item the conversation is about
    subject_title: str | None = None
    region: str | None = None  # the asker's region, remembered from the turn that gave it
    statuses: list[str] = field(default_factory=list)  # status of each recent turn
    owner: str | None = None  # who started it (``owner_of``); None until its first turn is saved

    def record(self, status: str) -> None:
        self.statuses = (self.statuses + [status])[-MAX_TURNS_KEPT:]


def owner_of(channel: str, asker: str | None) -> str:
    """The binding of a conversation: the channel, and the asker when known (``UserContext.binding``)."""
    return channel if asker is None else f"{channel}:{asker}"


class SessionStore(Protocol):
    def get(self, session_id: str | None) -> Session: ...

    def find(self, session_id: str) -> Session | None:
        """The live session with this id, or None (never issued, or expired)."""

    def save(self, session: Session, user_id: int | None = None) -> None:
        """``user_id``: the known channel user the conversation belongs to (for export and deletion)."""

    def count(self) -> int:
        """Sessions active now (the admin API's statistics)."""


def new_session_id() -> str:
    return uuid.uuid4().hex


def valid_session_id(session_id: str | None) -> bool:
    """Client-supplied ids are accepted only in the shape we issue (hex, bounded), never as arbitrary text."""
    if not session_id:
        return False
    return 8 <= len(session_id) <= 64 and all(c in "0123456789abcdef-" for c in session_id)


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

    def find(self, session_id: str) -> Session | None:
        with self._lock:
            return self._sessions.get(session_id)

    def save(self, session: Session, user_id: int | None = None) -> None:
        with self._lock:
            self._sessions[session.session_id] = session

    def count(self) -> int:
        with self._lock:
            return len(self._sessions)

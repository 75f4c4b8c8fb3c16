"""Read and write transactions for the stores on the personal-data database (people, review)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker


class Transactional:
    """``_read()`` and ``_write()`` scopes over one engine.

    Never open a scope inside another in the same thread: on SQLite a write takes the write lock at BEGIN
    (see ``engine.make_engine``), so the inner one would wait for the outer until the busy timeout."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._lock = threading.RLock()

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with self._sessions() as session:
            session.connection(execution_options={"read_only": True})  # SQLite: a deferred BEGIN, no write lock
            yield session

    @contextmanager
    def _write(self) -> Iterator[Session]:
        with self._lock, self._sessions.begin() as session:
            yield session

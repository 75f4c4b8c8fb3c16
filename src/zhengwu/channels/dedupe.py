"""Exactly-once handling of inbound chat messages across workers.

WeChat and WeCom retry a callback (three times, five seconds apart) when they got no answer in time, and the
retry may reach another worker. ``Deduper.first(key)`` is True for exactly one caller per key among all
workers: that caller answers, every other one replies ``success`` and does nothing.

Keys are hashed (SHA-256) before they are stored, so an event key made of an openid and a timestamp leaves no
identity in Redis or in the database.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from datetime import timedelta
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from zhengwu.db.models import ProcessedMessage, utcnow

log = logging.getLogger("zhengwu.channels.dedupe")
REDIS_PREFIX = "zhengwu:dedupe:"


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()  # a lone surrogate is a key too


class Deduper(Protocol):
    def first(self, key: str, ttl: int = 600) -> bool:
        """True exactly once per ``key`` (within ``ttl`` seconds), across all workers sharing the store."""
        ...


class MemoryDeduper:
    """One process only: for a single worker without a database, and for tests."""

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def first(self, key: str, ttl: int = 600) -> bool:
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen = {k: t for k, t in self._seen.items() if t > now}
            expires = self._seen.get(key)
            if expires is not None and expires > now:
                return False
            self._seen[key] = now + ttl
            return True


class RedisDeduper:
    """``SET key 1 NX EX ttl``: atomic on the server, so one worker wins however many race."""

    def __init__(self, url: str, prefix: str = REDIS_PREFIX, client=None) -> None:
        if client is None:
            import redis

            client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._redis = client
        self.prefix = prefix

    def first(self, key: str, ttl: int = 600) -> bool:
        return bool(self._redis.set(self.prefix + digest(key), b"1", nx=True, ex=max(1, int(ttl))))


class DbDeduper:
    """A row per key in ``processed_messages``; the primary key makes the second insert fail, on SQLite and on
    PostgreSQL alike. Rows older than the longest ttl seen are purged now and then."""

    def __init__(self, engine: Engine, purge_every: float = 60.0) -> None:
        self._engine = engine
        self._table = ProcessedMessage.__table__
        self._purge_every = purge_every
        self._next_purge = 0.0
        self._longest = 0
        self._lock = threading.Lock()

    def first(self, key: str, ttl: int = 600) -> bool:
        now = utcnow()
        hashed = digest(key)
        self._maybe_purge(ttl)
        table = self._table
        try:
            with self._engine.begin() as connection:
                # An expired row of the same key gives way (the key may be used again after its ttl).
                connection.execute(
                    sa.delete(table).where(table.c.key == hashed, table.c.created_at < now - timedelta(seconds=ttl))
                )
                connection.execute(sa.insert(table).values(key=hashed, created_at=now))
        except IntegrityError:
            return False
        return True

    def _maybe_purge(self, ttl: int) -> None:
        with self._lock:
            self._longest = max(self._longest, int(ttl))
            if time.monotonic() < self._next_purge:
                return
            self._next_purge = time.monotonic() + self._purge_every
            older_than = utcnow() - timedelta(seconds=self._longest)
        try:
            with self._engine.begin() as connection:
                connection.execute(sa.delete(self._table).where(self._table.c.created_at < older_than))
        except sa.exc.SQLAlchemyError:  # purging is housekeeping: never the reason a message goes unanswered
            log.warning("could not purge old de-duplication keys", exc_info=True)

    def purge(self, older_than_seconds: float) -> int:
        with self._engine.begin() as connection:
            result = connection.execute(
                sa.delete(self._table).where(self._table.c.created_at < utcnow() - timedelta(seconds=older_than_seconds))
            )
        return result.rowcount or 0


def make_deduper(settings, engine: Engine | None = None) -> Deduper:
    """Redis when ``settings.redis_url`` is set, else the database behind ``engine``, else this process only."""
    if getattr(settings, "redis_url", None):
        return RedisDeduper(settings.redis_url)
    if engine is not None:
        return DbDeduper(engine)
    log.warning("no Redis and no database: duplicate messages are only recognised within this worker")
    return MemoryDeduper()

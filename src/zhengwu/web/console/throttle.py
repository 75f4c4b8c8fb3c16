"""Slowing down password guessing at the console's login, counted the same by every worker.

Two kinds of key: the client (``client:<address>``, after ``MAX_FAILURES`` failures within ``FAILURE_WINDOW``
it waits, twice as long after each further failure) and the account (``account:<name>``, the same after
``ACCOUNT_MAX_FAILURES``: guessing one account's password from many addresses is slowed too). The account limit
is four times the client limit so that a colleague typing wrongly, or a stranger guessing a name from one
address, does not lock the account; a distributed attack on one account slows that account's sign-in, and
the admin token sign-in stays available to unlock it (docs/security.md).

Where the counts live: Redis when ``ZHENGWU_REDIS_URL`` is set, else the personal-data database
(``throttles``), else this process (one worker, tests). Keys are stored as SHA-256 digests: the table
and Redis hold neither addresses nor account names.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from zhengwu.db.models import Throttle

log = logging.getLogger("zhengwu.console")

MAX_FAILURES = 5
ACCOUNT_MAX_FAILURES = 4 * MAX_FAILURES
FAILURE_WINDOW = 15 * 60
FIRST_LOCK_SECONDS = 30
MAX_LOCK_SECONDS = 15 * 60


def client_key(address: str) -> str:
    return f"client:{address}"


def account_key(username: str) -> str:
    return f"account:{username.strip().lower()}"


def _limit(key: str) -> int:
    return ACCOUNT_MAX_FAILURES if key.startswith("account:") else MAX_FAILURES


def _lock_seconds(failures: int, key: str) -> float:
    beyond = failures - _limit(key)
    return 0.0 if beyond < 0 else float(min(MAX_LOCK_SECONDS, FIRST_LOCK_SECONDS * 2**beyond))


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()


class LoginThrottle(Protocol):
    def wait(self, *keys: str) -> int:
        """Seconds until these keys may try again (0: now)."""
        ...

    def failed(self, *keys: str) -> None: ...

    def succeeded(self, *keys: str) -> None: ...


class MemoryThrottle:
    """This process only."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._failures: dict[str, list[float]] = {}  # key -> times of recent failures
        self._locked_until: dict[str, float] = {}
        self._max_keys = max_keys
        self._lock = threading.Lock()

    def wait(self, *keys: str) -> int:
        now = time.monotonic()
        with self._lock:
            until = max((self._locked_until.get(k, 0.0) for k in keys), default=0.0)
        return max(0, math.ceil(until - now))

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                recent = [t for t in self._failures.get(key, []) if now - t < FAILURE_WINDOW] + [now]
                if len(self._failures) >= self._max_keys and key not in self._failures:
                    oldest = next(iter(self._failures))
                    self._failures.pop(oldest)
                    self._locked_until.pop(oldest, None)
                self._failures[key] = recent
                lock = _lock_seconds(len(recent), key)
                if lock:
                    self._locked_until[key] = now + lock

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)
                self._locked_until.pop(key, None)


class DbThrottle:
    """A row per key in ``throttles``; the count is incremented in the database (an upsert), so failures on
    different workers add up. The window restarts when a key has been quiet for ``FAILURE_WINDOW``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._table = Throttle.__table__

    def wait(self, *keys: str) -> int:
        table = self._table
        with self._engine.connect() as connection:
            until = connection.scalar(
                sa.select(sa.func.max(table.c.locked_until)).where(table.c.key.in_([_digest(k) for k in keys])))
        return max(0, math.ceil((until or 0.0) - time.time()))

    def failed(self, *keys: str) -> None:
        table = self._table
        now = time.time()
        with self._engine.begin() as connection:
            for key in keys:
                digest = _digest(key)
                connection.execute(self._count(connection.dialect.name, digest, now))
                failures = connection.scalar(sa.select(table.c.failures).where(table.c.key == digest)) or 0
                lock = _lock_seconds(failures, key)
                if lock:
                    connection.execute(sa.update(table).where(table.c.key == digest).values(locked_until=now + lock))
            connection.execute(sa.delete(table).where(table.c.updated_at < now - FAILURE_WINDOW - MAX_LOCK_SECONDS))

    def _count(self, dialect: str, digest: str, now: float) -> sa.Executable:
        table = self._table
        if dialect not in ("sqlite", "postgresql"):
            raise NotImplementedError(f"DbThrottle supports SQLite and PostgreSQL, not {dialect}")
        insert = (sqlite.insert if dialect == "sqlite" else postgresql.insert)(table).values(
            key=digest, failures=1, locked_until=0.0, updated_at=now)
        quiet = table.c.updated_at < now - FAILURE_WINDOW
        return insert.on_conflict_do_update(index_elements=[table.c.key], set_={
            "failures": sa.case((quiet, 1), else_=table.c.failures + 1),
            "locked_until": sa.case((quiet, 0.0), else_=table.c.locked_until),
            "updated_at": now,
        })

    def succeeded(self, *keys: str) -> None:
        with self._engine.begin() as connection:
            connection.execute(sa.delete(self._table).where(self._table.c.key.in_([_digest(k) for k in keys])))


class RedisThrottle:
    """``INCR`` per key with the window as its expiry, and a lock key whose TTL is the wait. If Redis stops
    answering, this worker counts on its own until it answers again (still a limit, per worker)."""

    def __init__(self, url: str, prefix: str = "zhengwu:throttle:", client=None) -> None:
        if client is None:
            import redis

            client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._redis = client
        self._prefix = prefix
        self._fallback = MemoryThrottle()

    def wait(self, *keys: str) -> int:
        try:
            ttls = [self._redis.pttl(f"{self._prefix}lock:{_digest(k)}") for k in keys]
        except Exception:  # noqa: BLE001 - a Redis failure must not open or close the door for everybody
            log.warning("Redis unreachable for the login throttle: counting in this worker")
            return self._fallback.wait(*keys)
        return max([0, *(math.ceil(t / 1000) for t in ttls if t and t > 0)])

    def failed(self, *keys: str) -> None:
        self._fallback.failed(*keys)
        try:
            for key in keys:
                count_key = f"{self._prefix}count:{_digest(key)}"
                pipe = self._redis.pipeline()
                pipe.incr(count_key)
                pipe.expire(count_key, FAILURE_WINDOW)
                failures = int(pipe.execute()[0])
                lock = _lock_seconds(failures, key)
                if lock:
                    self._redis.set(f"{self._prefix}lock:{_digest(key)}", b"1", ex=max(1, int(lock)))
        except Exception:  # noqa: BLE001
            log.warning("Redis unreachable for the login throttle: counting in this worker")

    def succeeded(self, *keys: str) -> None:
        self._fallback.succeeded(*keys)
        try:
            for key in keys:
                self._redis.delete(f"{self._prefix}count:{_digest(key)}", f"{self._prefix}lock:{_digest(key)}")
        except Exception:  # noqa: BLE001
            log.warning("Redis unreachable for the login throttle: counting in this worker")


def make_login_throttle(redis_url: str | None, engine: Engine | None) -> LoginThrottle:
    if redis_url:
        return RedisThrottle(redis_url)
    if engine is not None:
        return DbThrottle(engine)
    return MemoryThrottle()

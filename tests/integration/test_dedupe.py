"""Exactly-once message handling across workers: the database (SQLite, PostgreSQL when configured) and Redis
(the one on 127.0.0.1:6379; skipped only when it is not reachable)."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from helpers.databases import BACKENDS, TEST_REDIS_URL, migrated_engine, redis_or_skip

from zhengwu.channels.dedupe import DbDeduper, MemoryDeduper, RedisDeduper, digest, make_deduper
from zhengwu.config import Settings
from zhengwu.db.models import ProcessedMessage, utcnow

REDIS_URL = TEST_REDIS_URL


@pytest.fixture(params=BACKENDS)
def engine(request, tmp_path) -> Iterator[sa.Engine]:
    with migrated_engine(request.param, tmp_path, "dedupe.sqlite3") as engine:
        yield engine


@pytest.fixture
def redis_deduper() -> Iterator[RedisDeduper]:
    client = redis_or_skip(REDIS_URL)
    prefix = f"zhengwu:test:{secrets.token_hex(6)}:"
    yield RedisDeduper(REDIS_URL, prefix=prefix)
    for key in client.scan_iter(match=prefix + "*"):
        client.delete(key)
    client.close()


@pytest.fixture(params=["memory", *BACKENDS, "redis"])
def deduper(request, tmp_path):
    if request.param == "memory":
        yield MemoryDeduper()
    elif request.param == "redis":
        yield request.getfixturevalue("redis_deduper")
    else:
        with migrated_engine(request.param, tmp_path, "dedupe.sqlite3") as engine:
            yield DbDeduper(engine)


def race(deduper, key: str, threads: int = 12) -> list[bool]:
    barrier = threading.Barrier(threads)
    results: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        outcome = deduper.first(key)
        with lock:
            results.append(outcome)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=30)
    return results


def test_first_is_true_exactly_once_per_key(deduper):
    key = f"wechat:wx1:msg:{secrets.token_hex(4)}"
    assert deduper.first(key) is True
    assert deduper.first(key) is False
    assert deduper.first(key, ttl=60) is False
    assert deduper.first(key + "x") is True


def test_racing_threads_get_one_true(deduper):
    for n in range(3):
        results = race(deduper, f"wecom:race:{secrets.token_hex(4)}:{n}")
        assert len(results) == 12 and results.count(True) == 1


def test_two_db_dedupers_on_one_database_behave_as_two_workers(engine):
    a, b = DbDeduper(engine), DbDeduper(engine)
    key = "wechat:wx1:msg:6054768590064713728"
    barrier = threading.Barrier(2)
    results: list[bool] = []

    def worker(d) -> None:
        barrier.wait()
        results.append(d.first(key))

    threads = [threading.Thread(target=worker, args=(d,)) for d in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(results) == [False, True]


def test_db_keys_are_hashed_expire_and_are_purged(engine):
    deduper = DbDeduper(engine, purge_every=0)
    key = "wechat:wx1:event:oyORnuP8q7ou2gfYjqLzSIWZf0rs:1409735668:subscribe"
    assert deduper.first(key, ttl=600)
    table = ProcessedMessage.__table__
    with engine.connect() as connection:
        stored = connection.execute(sa.select(table.c.key)).scalars().all()
    assert stored == [digest(key)] and "oyORnuP8" not in stored[0]
    # a key past its ttl may be taken again (once)
    with engine.begin() as connection:
        connection.execute(sa.update(table).values(created_at=utcnow() - timedelta(seconds=700)))
    assert deduper.first(key, ttl=600) is True
    assert deduper.first(key, ttl=600) is False
    # old rows go opportunistically on a later call
    with engine.begin() as connection:
        connection.execute(sa.update(table).values(created_at=utcnow() - timedelta(days=2)))
    assert deduper.first("another", ttl=600)
    with engine.connect() as connection:
        assert connection.execute(sa.select(table.c.key)).scalars().all() == [digest("another")]
    assert deduper.purge(0) >= 1


def test_redis_keys_are_prefixed_hashed_and_expire(redis_deduper):
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    key = "wechat:wx1:msg:1234567890"
    assert redis_deduper.first(key, ttl=30)
    stored = [k.decode() for k in client.scan_iter(match=redis_deduper.prefix + "*")]
    assert stored == [redis_deduper.prefix + digest(key)]
    assert 0 < client.ttl(stored[0]) <= 30
    assert redis_deduper.first(key, ttl=30) is False
    assert redis_deduper.first("short-lived", ttl=1) is True
    time.sleep(1.2)  # Redis expires it
    assert redis_deduper.first("short-lived", ttl=1) is True
    client.close()


def test_make_deduper_prefers_redis_then_the_database(tmp_path, engine):
    assert isinstance(make_deduper(Settings(data_dir=tmp_path, redis_url=REDIS_URL), engine), RedisDeduper)
    assert isinstance(make_deduper(Settings(data_dir=tmp_path), engine), DbDeduper)
    assert isinstance(make_deduper(Settings(data_dir=tmp_path), None), MemoryDeduper)

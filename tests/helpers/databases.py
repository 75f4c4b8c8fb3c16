"""The two database backends the store suites run on: SQLite always, PostgreSQL when a server URL is given
(each run in its own scratch database, created and dropped here)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from zhengwu.db import Base, make_engine, normalise_url, upgrade

# ZHENGWU_DATABASE_URL works too, as the issue and .ci/run phrase it; the suite still makes its own database.
PG_URL = os.environ.get("ZHENGWU_TEST_DATABASE_URL") or (
    os.environ.get("ZHENGWU_DATABASE_URL", "") if os.environ.get("ZHENGWU_DATABASE_URL", "").startswith("postgres") else None
)


BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql", marks=pytest.mark.skipif(not PG_URL, reason="set ZHENGWU_TEST_DATABASE_URL to test PostgreSQL")
    ),
]


@contextmanager
def scratch_pg_database(server_url: str | None = None) -> Iterator[sa.URL]:
    server_url = server_url or PG_URL
    assert server_url
    admin = make_engine(server_url, isolation_level="AUTOCOMMIT")
    name = f"zhengwu_t_{secrets.token_hex(6)}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield normalise_url(server_url).set(database=name)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@contextmanager
def migrated_engine(backend: str, tmp_path: Path | None = None, name: str = "zhengwu.sqlite3",
                    migrate: bool = True) -> Iterator[sa.Engine]:
    """A database of ``backend`` ("sqlite": a file in ``tmp_path``; "postgresql": a scratch database), migrated
    to head unless ``migrate`` is off, and disposed of afterwards."""
    if backend == "sqlite":
        assert tmp_path is not None
        engine = make_engine(f"sqlite:///{tmp_path / name}")
        try:
            if migrate:
                upgrade(engine)
            yield engine
        finally:
            engine.dispose()
        return
    with scratch_pg_database() as url:
        engine = make_engine(url)
        try:
            if migrate:
                upgrade(engine)
            yield engine
        finally:
            engine.dispose()


def emptied(engine: sa.Engine) -> sa.Engine:
    """Every table of a migrated database emptied and its ids restarted (PostgreSQL: cheaper than a new one)."""
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"TRUNCATE TABLE {names} RESTART IDENTITY CASCADE")
    return engine


# Redis for the suites that share state through it (database 15: nothing else on the machine uses it).
TEST_REDIS_URL = os.environ.get("ZHENGWU_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def redis_or_skip(url: str = TEST_REDIS_URL):
    """A client of the test Redis, or the test is skipped when none answers."""
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.RedisError:
        pytest.skip(f"no Redis at {url}")
    return client


@contextmanager
def sqlite_people(path: Path) -> Iterator:
    """A people store in a migrated SQLite file at ``path``, with transcripts masked as the service masks them."""
    from zhengwu.personal import PeopleStore
    from zhengwu.pii import mask_pii

    with migrated_engine("sqlite", path.parent, path.name) as engine:
        yield PeopleStore(engine, mask=mask_pii)

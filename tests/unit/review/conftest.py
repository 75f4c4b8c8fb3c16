"""Fixtures of the review tests: a migrated database (SQLite per test; PostgreSQL, when
ZHENGWU_TEST_DATABASE_URL names one, migrated once per module and emptied between tests) and a people store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from helpers.databases import BACKENDS, emptied, migrated_engine

from zhengwu.personal import PeopleStore
from zhengwu.pii import mask_pii


@pytest.fixture(scope="module")
def pg_engine() -> Iterator[sa.Engine]:
    with migrated_engine("postgresql") as engine:
        yield engine


@pytest.fixture(params=BACKENDS)
def engine(request, tmp_path) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        with migrated_engine("sqlite", tmp_path, "review.sqlite3") as engine:
            yield engine
    else:
        yield emptied(request.getfixturevalue("pg_engine"))


@pytest.fixture
def people(engine) -> PeopleStore:
    return PeopleStore(engine, mask=mask_pii)

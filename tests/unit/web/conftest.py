"""Fixtures of the web tests: the database the console and the APIs run on, SQLite and (when
ZHENGWU_TEST_DATABASE_URL names one) PostgreSQL, migrated to head."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from helpers.databases import BACKENDS, migrated_engine


@pytest.fixture(params=BACKENDS)
def engine(request, tmp_path) -> Iterator[sa.Engine]:
    with migrated_engine(request.param, tmp_path, "web.sqlite3") as engine:
        yield engine

"""Alembic environment of the personal-data store.

``zhengwu.db.engine.upgrade`` runs it programmatically and hands over an open connection in
``config.attributes["connection"]`` (no alembic.ini). Run by hand (``alembic -c <ini> ...``) it connects to the
configured database (``ZHENGWU_DATABASE_URL`` or the SQLite default) instead. SQLite gets batch mode, because
it cannot alter most of a table in place.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from zhengwu.db.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    from zhengwu.config import get_settings
    from zhengwu.db.engine import database_url

    url = config.get_main_option("sqlalchemy.url") or database_url(get_settings())
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    from zhengwu.config import get_settings
    from zhengwu.db.engine import database_url, make_engine

    engine = make_engine(config.get_main_option("sqlalchemy.url") or database_url(get_settings()))
    try:
        with engine.connect() as connection:
            _configure(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

"""Small values every worker must agree on, kept in the database (``shared_values``): a server key made once
and then read by every worker and machine, or a platform access token until it expires.

``server_key`` is how a deployment gets a secret it never configured: the first worker to ask generates 32
random bytes and stores them; a racing worker's insert loses and reads the winner's. Whoever can read the
database can read the key, as they can read everything else it protects.
"""

from __future__ import annotations

import base64
import secrets
import time

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from zhengwu.db.models import SharedValue

_TABLE = SharedValue.__table__


def read(engine: Engine, name: str) -> str | None:
    """The value stored under ``name``, or None when there is none or it has expired."""
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(_TABLE.c.value, _TABLE.c.expires_at).where(_TABLE.c.name == name)
        ).first()
    if row is None or (row.expires_at is not None and row.expires_at <= time.time()):
        return None
    return row.value


def write(engine: Engine, name: str, value: str, expires_at: float | None = None) -> None:
    """Store (or replace) ``value`` under ``name``."""
    with engine.begin() as connection:
        connection.execute(sa.delete(_TABLE).where(_TABLE.c.name == name))
        connection.execute(sa.insert(_TABLE).values(name=name, value=value, expires_at=expires_at))


def server_key(engine: Engine, name: str) -> bytes:
    """32 random bytes, the same for every worker sharing ``engine``, created on first use."""
    existing = read(engine, name)
    if existing is None:
        candidate = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
        try:
            with engine.begin() as connection:
                connection.execute(sa.insert(_TABLE).values(name=name, value=candidate, expires_at=None))
            existing = candidate
        except IntegrityError:  # another worker made it first: use theirs
            existing = read(engine, name)
    if existing is None:
        raise RuntimeError(f"server key {name!r} could not be read back")
    return base64.urlsafe_b64decode(existing)

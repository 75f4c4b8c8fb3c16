"""The database shared by the personal-data store (``zhengwu.personal``) and the review store
(``zhengwu.review``): connecting to it (SQLite by default, or PostgreSQL), its tables, the Alembic migrations
that own the schema, and the read and write transactions both stores use. Nothing here knows what the rows
mean; that is the stores' business.

Typical start-up::

    engine = make_engine(database_url(settings))
    upgrade(engine)  # Alembic migrations to head; a no-op when already there
"""

from zhengwu.db.engine import alembic_config, current_revision, database_url, make_engine, normalise_url, upgrade
from zhengwu.db.models import (
    AuditLog,
    Base,
    Consent,
    ConversationTurn,
    CuratedAnswer,
    Feedback,
    Identity,
    Reminder,
    Review,
    ServiceRecord,
    SessionRow,
    StaffUser,
    User,
)
from zhengwu.db.transactions import Transactional

__all__ = [
    "AuditLog",
    "Base",
    "Consent",
    "ConversationTurn",
    "CuratedAnswer",
    "Feedback",
    "Identity",
    "Reminder",
    "Review",
    "ServiceRecord",
    "SessionRow",
    "StaffUser",
    "Transactional",
    "User",
    "alembic_config",
    "current_revision",
    "database_url",
    "make_engine",
    "normalise_url",
    "upgrade",
]

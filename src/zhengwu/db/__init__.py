"""The personal-data store: users and their channel identities, consent, service history, sessions,
conversation turns, reminders and the staff audit trail (and, for the review console, staff accounts, reviews,
citizens' feedback and curated answers: ``zhengwu.review.store``), in SQLite (default) or PostgreSQL.

Typical start-up::

    engine = make_engine(database_url(settings))
    upgrade(engine)  # Alembic migrations to head; a no-op when already there
    people = PeopleStore(engine, cipher=..., mask=...)
    sessions = DbSessionStore(engine, ttl=settings.session_ttl_seconds)
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
from zhengwu.db.people import Cipher, PeopleStore, mask_id_number, normalise_id_number
from zhengwu.db.records import (
    CHANNELS,
    CONSENT_KINDS,
    RECORD_STATUSES,
    AuditEntry,
    ConsentState,
    Profile,
    ServiceRecordData,
    TurnData,
)
from zhengwu.db.sessions import DbSessionStore

__all__ = [
    "CHANNELS",
    "CONSENT_KINDS",
    "RECORD_STATUSES",
    "AuditEntry",
    "AuditLog",
    "Base",
    "Cipher",
    "Consent",
    "ConsentState",
    "ConversationTurn",
    "CuratedAnswer",
    "DbSessionStore",
    "Feedback",
    "Identity",
    "PeopleStore",
    "Profile",
    "Reminder",
    "Review",
    "ServiceRecord",
    "ServiceRecordData",
    "SessionRow",
    "StaffUser",
    "TurnData",
    "User",
    "alembic_config",
    "current_revision",
    "database_url",
    "make_engine",
    "mask_id_number",
    "normalise_id_number",
    "normalise_url",
    "upgrade",
]

"""Tables of the personal-data store. Portable between SQLite and PostgreSQL: JSON for lists and dicts,
timestamps always stored as UTC.

Every table that holds data about a citizen carries ``user_id`` with ON DELETE CASCADE, so erasing the user
row erases the rest; ``sessions`` and ``conversation_turns`` may also be anonymous (``user_id`` NULL) and are
found through their session ids. ``audit_logs.user_id`` is deliberately not a foreign key: the record that
staff looked at, exported or erased somebody's data must survive the erasure. Reviews and feedback (migration
0003) hang off ``conversation_turns`` with ON DELETE CASCADE and go with the turn; staff accounts and curated
answers are about no citizen.

Constraint and index names follow ``NAMING_CONVENTION``, and the migrations spell the same names, so that
later migrations (batch mode on SQLite rebuilds tables) can address them on every backend.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware timestamp, stored as UTC and always read back aware (SQLite keeps no zone).

    Naive datetimes are refused: whether they meant local time or UTC cannot be known afterwards.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware datetime (e.g. datetime.now(UTC))")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


def _user_fk(nullable: bool = False) -> Any:
    return mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=nullable, index=True)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    province: Mapped[str | None] = mapped_column(sa.String(64))
    city: Mapped[str | None] = mapped_column(sa.String(64))
    district: Mapped[str | None] = mapped_column(sa.String(64))
    # Identity tags that change which services apply: 退休人员, 新生儿家庭, 个体工商户, 外来务工人员, ...
    tags: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # 身份证号: ciphertext only, plus a keyed hash (blind index) to find a user by it without decrypting.
    id_number_enc: Mapped[str | None] = mapped_column(sa.String(512))
    id_number_hash: Mapped[str | None] = mapped_column(sa.String(128), unique=True, index=True)
    display_name: Mapped[str | None] = mapped_column(sa.String(64))


class Identity(Base):
    """One way of reaching a user: a web session, a Telegram chat, a WeChat or WeCom open id."""

    __tablename__ = "identities"
    __table_args__ = (sa.UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    user_id: Mapped[int] = _user_fk()
    channel: Mapped[str] = mapped_column(sa.String(16))
    external_id: Mapped[str] = mapped_column(sa.String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Consent(Base):
    """Every grant and withdrawal is a row: the history is the proof of consent (PIPL Art. 14-15)."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    user_id: Mapped[int] = _user_fk()
    kind: Mapped[str] = mapped_column(sa.String(32))
    granted: Mapped[bool] = mapped_column(sa.Boolean)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ServiceRecord(Base):
    """An item the user applied for at a government service centre (办件记录)."""

    __tablename__ = "service_records"
    # A re-import of the same file updates rather than duplicates.
    __table_args__ = (sa.UniqueConstraint("user_id", "item_code", "submitted_at"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    item_code: Mapped[str] = mapped_column(sa.String(64))  # 事项编码
    doc_id: Mapped[str | None] = mapped_column(sa.String(255))  # the corpus document about the item
    item_name: Mapped[str] = mapped_column(sa.String(255))
    region: Mapped[str | None] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(16))
    submitted_at: Mapped[date | None] = mapped_column(sa.Date)
    decided_at: Mapped[date | None] = mapped_column(sa.Date)
    materials: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    valid_until: Mapped[date | None] = mapped_column(sa.Date, index=True)
    source: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SessionRow(Base):
    """A conversation session (``zhengwu.sessions.Session`` as JSON); ``updated_at`` is epoch seconds."""

    __tablename__ = "sessions"

    session_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    updated_at: Mapped[float] = mapped_column(sa.Double, index=True)
    user_id: Mapped[int | None] = _user_fk(nullable=True)


class ConversationTurn(Base):
    """A question and its answer, already masked by the store (no 身份证号 or phone numbers in clear)."""

    __tablename__ = "conversation_turns"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    user_id: Mapped[int | None] = _user_fk(nullable=True)
    channel: Mapped[str] = mapped_column(sa.String(16))
    question: Mapped[str] = mapped_column(sa.Text)
    answer: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # How the answer came about, for staff review (migration 0003; NULL on turns logged before it): the
    # citations shown ({n, doc_id, title, section, source_url}), the ranked document ids retrieved, what
    # produced the text ("composer", "llm:…", "curated:v2"), why it was refused or asked back, and how long it took.
    citations: Mapped[list[dict[str, Any]] | None] = mapped_column(sa.JSON)
    retrieved: Mapped[list[str] | None] = mapped_column(sa.JSON)
    path: Mapped[str | None] = mapped_column(sa.String(255))
    reason: Mapped[str | None] = mapped_column(sa.String(32))
    latency_ms: Mapped[float | None] = mapped_column(sa.Double)
    # A handed-off message's record (migration 0004): {category, department, place}; NULL when answered.
    handoff: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON(none_as_null=True))  # None is SQL NULL


class Reminder(Base):
    """A reminder about a record (e.g. a licence about to expire); a sent one is never sent again."""

    __tablename__ = "reminders"
    __table_args__ = (sa.UniqueConstraint("record_id", "kind"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    user_id: Mapped[int] = _user_fk()
    record_id: Mapped[int] = mapped_column(sa.ForeignKey("service_records.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(32))
    due: Mapped[date] = mapped_column(sa.Date)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditLog(Base):
    """Staff access to personal data (PIPL Art. 51). Holds a user id but never an identity or id number."""

    __tablename__ = "audit_logs"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(sa.String(128))
    action: Mapped[str] = mapped_column(sa.String(32))
    user_id: Mapped[int | None] = mapped_column(sa.Integer, index=True)  # not a FK: survives erasure
    detail: Mapped[str] = mapped_column(sa.Text, default="")


class ProcessedMessage(Base):
    """An inbound chat-platform message already taken on (WeChat and WeCom retry a callback up to three times),
    shared by every worker. ``key`` is a SHA-256 of the platform's message id: no user identity is stored."""

    __tablename__ = "processed_messages"

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


# -- staff evaluation of answers (migration 0003) ----------------------------------------------------------------


class StaffUser(Base):
    """A console account (reviewer or admin). Only a salted scrypt hash of the password is kept."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(16))
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def _turn_fk() -> Any:
    # A review or a rating goes with its turn: erasing a citizen, or retention purging their turns, takes them too.
    return mapped_column(sa.ForeignKey("conversation_turns.id", ondelete="CASCADE"), index=True)


class Review(Base):
    """A staff judgement of one answer; a turn may be reviewed several times (the latest counts)."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    turn_id: Mapped[int] = _turn_fk()
    reviewer: Mapped[str] = mapped_column(sa.String(128))
    rating: Mapped[str] = mapped_column(sa.String(16), index=True)
    reasons: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    corrected_answer: Mapped[str] = mapped_column(sa.Text, default="")
    # The documents the right answer rests on ({doc_id, title, section, source_url}): gold ids of a review set.
    sources: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    must_contain: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Feedback(Base):
    """The citizen's own 👍 (+1) or 👎 (-1) on an answer: one per turn, a later one replaces it."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    turn_id: Mapped[int] = mapped_column(sa.ForeignKey("conversation_turns.id", ondelete="CASCADE"), unique=True)
    value: Mapped[int] = mapped_column(sa.SmallInteger)
    channel: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CuratedAnswer(Base):
    """A staff-approved answer to a question, given instead of retrieval when a citizen asks it again.

    Versioned: publishing for the same question (``question_key``, a SHA-256 of the normalised text) adds
    version + 1 and withdraws the one before; rows are never updated otherwise, so what citizens were told
    when stays on record. Not personal data: the question was chosen and published by an administrator.
    """

    __tablename__ = "curated_answers"
    __table_args__ = (sa.UniqueConstraint("question_key", "version"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    question: Mapped[str] = mapped_column(sa.Text)
    question_key: Mapped[str] = mapped_column(sa.String(64), index=True)
    answer: Mapped[str] = mapped_column(sa.Text)
    sources: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    version: Mapped[int] = mapped_column(sa.Integer)
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    created_by: Mapped[str] = mapped_column(sa.String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by: Mapped[str | None] = mapped_column(sa.String(128))
    replaces_id: Mapped[int | None] = mapped_column(sa.ForeignKey("curated_answers.id"))


# -- security and delivery state shared by workers (migration 0005) ---------------------------------------------


class SharedValue(Base):
    """A small value every worker must agree on: a server key (the HMAC key of channel session ids), a
    platform access token until it expires. ``expires_at`` (unix seconds) is NULL for values that never expire."""

    __tablename__ = "shared_values"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[str] = mapped_column(sa.Text)
    expires_at: Mapped[float | None] = mapped_column(sa.Double)


class Throttle(Base):
    """Failed attempts per key (a hashed client address or account name) for the console login, shared by
    every worker so that N workers do not allow N times the attempts."""

    __tablename__ = "throttles"

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(sa.Integer, default=0)
    locked_until: Mapped[float] = mapped_column(sa.Double, default=0.0)
    updated_at: Mapped[float] = mapped_column(sa.Double, index=True)


class RevokedToken(Base):
    """A portal user token that must no longer be accepted (signed out, or the citizen's data was erased);
    kept until the token would have expired anyway. ``digest`` is a SHA-256 of the token."""

    __tablename__ = "revoked_tokens"

    digest: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    expires_at: Mapped[float] = mapped_column(sa.Double, index=True)


class PendingReply(Base):
    """An answer owed to a chat-platform user that has not been delivered yet (the worker replied
    ``success`` and then died, or the platform refused it for now). Delivered after a restart by any worker;
    ``recipient`` is the platform's id of the user (an openid), ``payload`` the message as JSON."""

    __tablename__ = "pending_replies"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(16))
    recipient: Mapped[str] = mapped_column(sa.String(128))
    payload: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[float] = mapped_column(sa.Double, index=True)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    claimed_until: Mapped[float] = mapped_column(sa.Double, default=0.0)


# -- documents managed in the review console (migration 0006) ---------------------------------------------------


class DocumentVersion(Base):
    """One version of a document staff manage in the console: uploaded, edited in the form, rolled back to, or
    taken over from the file on disk. Never updated once written (the version history is what citizens were
    answered from, and when). ``document`` holds every ``Document`` field; ``disk_hash`` is the content hash
    of the file on disk with the same ``doc_id`` when this version was made, so that a later change on disk
    shows as a conflict instead of being lost or applied silently."""

    __tablename__ = "document_versions"
    __table_args__ = (sa.UniqueConstraint("doc_id", "version"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    doc_id: Mapped[str] = mapped_column(sa.String(128), index=True)
    version: Mapped[int] = mapped_column(sa.Integer)
    document: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    origin: Mapped[str] = mapped_column(sa.String(16))
    filename: Mapped[str] = mapped_column(sa.String(255), default="")
    problems: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    based_on: Mapped[int | None] = mapped_column(sa.Integer)
    disk_hash: Mapped[str | None] = mapped_column(sa.String(64))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    created_by: Mapped[str] = mapped_column(sa.String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LibraryDocument(Base):
    """Which version of a console-managed document is published (answered from). ``published_version`` NULL:
    drafts only, or handed back to the file on disk."""

    __tablename__ = "library_documents"

    doc_id: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    published_version: Mapped[int | None] = mapped_column(sa.Integer)
    published_by: Mapped[str | None] = mapped_column(sa.String(128))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class DocumentEvent(Base):
    """The audit trail of the knowledge base: who did what to which document when, with the state before and
    after (version, status, title, content hash)."""

    __tablename__ = "document_events"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    doc_id: Mapped[str] = mapped_column(sa.String(128), index=True)
    action: Mapped[str] = mapped_column(sa.String(16))
    version: Mapped[int | None] = mapped_column(sa.Integer)
    actor: Mapped[str] = mapped_column(sa.String(128))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    detail: Mapped[str] = mapped_column(sa.Text, default="")


class IndexJob(Base):
    """A background re-index (publishing console documents, re-reading the corpus folder), with its progress,
    so that any worker can show it."""

    __tablename__ = "index_jobs"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    state: Mapped[str] = mapped_column(sa.String(16), index=True)
    total: Mapped[int] = mapped_column(sa.Integer, default=0)
    done: Mapped[int] = mapped_column(sa.Integer, default=0)
    message: Mapped[str] = mapped_column(sa.Text, default="")
    report: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    actor: Mapped[str] = mapped_column(sa.String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# -- ratings (migration 0007) -------------------------------------------------------------------------------------
# 好差评: ``feedback.level`` and ``reviews.level`` hold the citizen's and the reviewer's satisfaction level (5
# 非常满意 … 1 非常不满意). A 差评 (level 2 or 1) opens a rectification of its turn; a turn may be kept as a
# test case of the review set. All three tables hang off ``conversation_turns`` with ON DELETE CASCADE: erasing
# a citizen, or purging old turns, takes them too.

Feedback.level = mapped_column(sa.SmallInteger, nullable=False)  # 👍 stored as 4, 👎 as 2 (value: ±1, 0 for 3)
Review.level = mapped_column(sa.SmallInteger, nullable=True)  # NULL: the reviewer rated correctness only


class Rectification(Base):
    """The rectification (整改) of a turn rated 差评: one per turn. State open → rectified (整改措施) →
    revisited (回访 满意; 不满意 re-opens it). ``deadline``: 15 working days after the rating (a China-time date);
    ``owner``: a staff user name, NULL until an administrator assigns one. Each step is a ``RectificationEvent``."""

    __tablename__ = "rectifications"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    turn_id: Mapped[int] = mapped_column(sa.ForeignKey("conversation_turns.id", ondelete="CASCADE"), unique=True)
    level: Mapped[int] = mapped_column(sa.SmallInteger)
    source: Mapped[str] = mapped_column(sa.String(16))  # "citizen" or "reviewer"
    rated_by: Mapped[str] = mapped_column(sa.String(128))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    deadline: Mapped[date] = mapped_column(sa.Date, index=True)
    state: Mapped[str] = mapped_column(sa.String(16), index=True)
    owner: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    measures: Mapped[str] = mapped_column(sa.Text, default="")
    rectified_by: Mapped[str | None] = mapped_column(sa.String(128))
    rectified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revisit_result: Mapped[str | None] = mapped_column(sa.String(16))
    revisit_note: Mapped[str] = mapped_column(sa.Text, default="")
    revisited_by: Mapped[str | None] = mapped_column(sa.String(128))
    revisited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RectificationEvent(Base):
    """One step of a turn's rectification (opened, rated, assigned, rectified, revisited, reopened): who, when,
    and what (``detail``: the level, the owner, the 回访 result …). Never updated."""

    __tablename__ = "rectification_events"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    turn_id: Mapped[int] = _turn_fk()
    action: Mapped[str] = mapped_column(sa.String(16))
    actor: Mapped[str] = mapped_column(sa.String(128))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    detail: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)


class SavedTestCase(Base):
    """A turn staff added to the review set (「加入测试集」): exported as an evaluation question even without a
    review. One per turn."""

    __tablename__ = "test_cases"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    turn_id: Mapped[int] = mapped_column(sa.ForeignKey("conversation_turns.id", ondelete="CASCADE"), unique=True)
    created_by: Mapped[str] = mapped_column(sa.String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

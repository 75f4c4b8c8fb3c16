"""Plain values returned by the store. Callers never hold ORM objects, so nothing lazy-loads after the
session that read them has closed, and nothing can be written back by accident.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

CHANNELS = ("web", "telegram", "wechat", "wecom")
CONSENT_KINDS = ("personalisation", "reminders")
RECORD_STATUSES = ("submitted", "accepted", "approved", "rejected", "completed")


@dataclass(frozen=True)
class ConsentState:
    kind: str
    granted: bool
    at: datetime | None  # None: never asked, which counts as not granted


@dataclass
class ServiceRecordData:
    """One 办件记录. ``id`` is set when read from the store and ignored when written."""

    item_code: str
    item_name: str
    status: str
    submitted_at: date | None = None
    decided_at: date | None = None
    valid_until: date | None = None
    materials: list[str] = field(default_factory=list)
    region: str | None = None
    doc_id: str | None = None
    source: str = "manual"
    id: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Profile:
    user_id: int
    created_at: datetime
    province: str | None
    city: str | None
    district: str | None
    tags: list[str]
    display_name: str | None
    id_number_masked: str | None  # e.g. 440***********1234; None when no id number is on file
    consents: dict[str, ConsentState]  # current state of every kind in CONSENT_KINDS
    identities: list[tuple[str, str]]  # (channel, external_id)


@dataclass(frozen=True)
class TurnData:
    id: int
    session_id: str
    user_id: int | None
    channel: str
    question: str
    answer: str
    status: str
    created_at: datetime
    # How the answer came about (empty on turns logged before these were recorded).
    citations: list[dict] = field(default_factory=list)  # {n, doc_id, title, section, source_url}
    retrieved: list[str] = field(default_factory=list)
    path: str = ""
    reason: str = ""
    latency_ms: float | None = None


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    user_id: int | None
    detail: str

"""Plain values of the personal-data store, and the vocabularies they are spelled in.

The store returns these dataclasses, never ORM objects, so nothing lazy-loads after the session that read them
has closed, and nothing can be written back by accident. The service-record statuses (and their Chinese names),
the consent kinds and the rank of a status live here once: the store checks against them, history import maps
Chinese spellings onto them, and the personaliser and life events show them to citizens.

Channels are the answering layer's words: ``zhengwu.answering.vocabulary.CHANNELS``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

CONSENT_KINDS = ("personalisation", "reminders")

# -- service-record statuses ------------------------------------------------------------------------------------

RecordStatus = Literal["submitted", "accepted", "approved", "rejected", "completed"]
RECORD_STATUSES: tuple[RecordStatus, ...] = ("submitted", "accepted", "approved", "rejected", "completed")
# After these a decision exists: a validity date or a decision date makes sense.
DECIDED_STATUSES = frozenset({"approved", "rejected", "completed"})
# After these the item was granted: only then does a validity date mean something.
GRANTED_STATUSES = ("approved", "completed")
# When one item appears several times (rejected, then applied again), the furthest status is what counts.
STATUS_RANK = {"rejected": 0, "submitted": 1, "accepted": 2, "approved": 3, "completed": 4}

# The Chinese names citizens see. Two wordings are in use today and both are kept as they are:
# STATUS_NAMES after "当前状态：" in the answer to "我的…办到哪一步了？" (``personalise.Personaliser.status_answer``);
STATUS_NAMES = {
    "submitted": "已提交", "accepted": "已受理", "approved": "已批准", "rejected": "未予批准", "completed": "已办结",
}
# STATUS_PHRASES inside the life-event sentence "您的「…」已获批准，接下来可以办理：…" (``life_events``).
STATUS_PHRASES = {
    "submitted": "已提交", "accepted": "已受理", "approved": "已获批准", "completed": "已办结", "rejected": "未获批准",
}
# Chinese spellings found in exported history files (``history``), mapped onto RECORD_STATUSES.
STATUS_ALIASES = {
    "已提交": "submitted", "已申请": "submitted", "提交": "submitted", "申请": "submitted", "待受理": "submitted",
    "已受理": "accepted", "受理": "accepted", "办理中": "accepted", "审批中": "accepted", "审核中": "accepted",
    "已批准": "approved", "已通过": "approved", "准予": "approved", "批准": "approved", "通过": "approved",
    "准予许可": "approved", "审批通过": "approved",
    "不予批准": "rejected", "不予受理": "rejected", "已驳回": "rejected", "驳回": "rejected", "不予许可": "rejected",
    "不通过": "rejected", "未通过": "rejected", "退回": "rejected",
    "已办结": "completed", "办结": "completed", "已完成": "completed", "完成": "completed",
}


# -- the values -------------------------------------------------------------------------------------------------


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
    handoff: dict | None = None  # {category, department, place} of a handed-off message


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    user_id: int | None
    detail: str

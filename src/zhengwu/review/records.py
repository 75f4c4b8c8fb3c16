"""Plain values of the review tables (never ORM objects, as in ``zhengwu.personal.records``) and their vocabularies."""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from zhengwu.answering.vocabulary import GAP_REASONS as GAP_REASONS  # the store's knowledge-gap refusals
from zhengwu.chinese import normalize
from zhengwu.personal import TurnData

# Each vocabulary with the Chinese label staff see in the console.
ROLES = ("reviewer", "admin")
ROLE_LABELS = {"reviewer": "审核员", "admin": "管理员"}
RATINGS = ("correct", "partly", "wrong", "should_refuse")
RATING_LABELS = {"correct": "正确", "partly": "部分正确", "wrong": "错误", "should_refuse": "应拒答"}
REASONS = ("retrieval_miss", "wrong_region", "outdated_source", "wording", "other")  # what a reviewer says went wrong
REVIEW_REASON_LABELS = {
    "retrieval_miss": "检索遗漏", "wrong_region": "地区不符", "outdated_source": "资料过时",
    "wording": "表述不当", "other": "其他",
}
CURATED_STATUSES = ("published", "withdrawn")

# Staff read and filter times in China Standard Time (no daylight saving: a fixed offset is exact).
CHINA_TIME = timezone(timedelta(hours=8), "UTC+8")
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


def compact_question(text: str) -> str:
    """The question with width, script and case folded and punctuation and spaces removed: "居住证在哪办理？"
    and "居住证 在哪办理" are the same question."""
    return _NOT_WORD.sub("", normalize(text))


def question_key(text: str) -> str:
    """Identifies "the same question" among curated answers (what a new version replaces)."""
    return hashlib.sha256(compact_question(text).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Source:
    """A document (and section) an answer rests on, as a citation shows it."""

    doc_id: str
    title: str = ""
    section: str = ""
    source_url: str = ""

    @classmethod
    def of(cls, value: dict[str, Any] | Source) -> Source:
        if isinstance(value, Source):
            return value
        return cls(**{k: str(value.get(k) or "") for k in ("doc_id", "title", "section", "source_url")})

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class StaffData:
    id: int
    username: str
    role: str
    active: bool
    created_at: datetime


@dataclass(frozen=True)
class ReviewData:
    id: int
    turn_id: int
    reviewer: str
    rating: str
    reasons: list[str]
    corrected_answer: str
    sources: list[Source]
    must_contain: list[str]
    created_at: datetime


@dataclass(frozen=True)
class CuratedData:
    id: int
    question: str
    answer: str
    sources: list[Source]
    version: int
    status: str
    created_by: str
    created_at: datetime
    withdrawn_at: datetime | None = None
    withdrawn_by: str | None = None
    replaces_id: int | None = None
    question_key: str = ""


@dataclass(frozen=True)
class TurnSummary:
    """A turn with what staff and the citizen said about it: the latest review's rating and the feedback."""

    turn: TurnData
    rating: str | None = None
    feedback: int | None = None
    reviews: list[ReviewData] = field(default_factory=list)  # filled where a page shows them, oldest first


@dataclass(frozen=True)
class TurnFilter:
    """The conversation list's search. ``rating`` may also be "unrated"; dates are inclusive, in China time."""

    text: str = ""
    status: str = ""
    rating: str = ""
    feedback: int | None = None
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True)
class GapTurn:
    """A question the knowledge base failed: refused for lack of evidence or region, or rated 👎."""

    turn_id: int
    session_id: str
    question: str
    status: str
    reason: str
    thumbs_down: bool
    created_at: datetime

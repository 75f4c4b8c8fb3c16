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

# 好差评: the government's five satisfaction levels (国办发〔2019〕51号), best first. A citizen rates an answer
# with one (the widget, ``POST /api/v1/feedback``); 👍 and "有用" are 满意, 👎 and "没用" 不满意. A reviewer may
# rate one too, besides the correctness rating. 不满意 and 非常不满意 are 差评: each opens a rectification (整改).
SATISFACTION_LEVELS = (5, 4, 3, 2, 1)
SATISFACTION_LABELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
POOR_LEVELS = (2, 1)  # 差评
THUMBS_LEVELS = {1: 4, -1: 2}  # the thumbs as levels: 👍 满意, 👎 不满意
RATING_SOURCES = ("citizen", "reviewer")
RATING_SOURCE_LABELS = {"citizen": "群众", "reviewer": "审核员"}
# A 差评's rectification: open (待整改) → rectified (已整改, the measures written) → revisited (已回访: the
# citizen or reviewer asked again; 不满意 re-opens it with a new deadline).
RECTIFICATION_DAYS = 15  # working days from the rating
RECTIFICATION_STATES = ("open", "rectified", "revisited")
RECTIFICATION_STATE_LABELS = {"open": "待整改", "rectified": "已整改待回访", "revisited": "已回访办结"}
REVISIT_RESULTS = ("satisfied", "unsatisfied")
REVISIT_RESULT_LABELS = {"satisfied": "满意", "unsatisfied": "不满意"}
RECTIFICATION_ACTIONS = ("opened", "rated", "assigned", "rectified", "revisited", "reopened")
RECTIFICATION_ACTION_LABELS = {
    "opened": "收到差评，生成整改单", "rated": "评价变更", "assigned": "指定负责人", "rectified": "提交整改措施",
    "revisited": "回访", "reopened": "回访不满意，重新整改",
}


def thumbs_of(level: int) -> int:
    """The thumbs value a level is stored with, for the 👍/👎 views and filters: 1 (≥ 满意), -1 (差评), 0."""
    return 1 if level >= 4 else -1 if level <= 2 else 0


def level_of(value: int | None = None, level: int | None = None) -> int:
    """A rating as a level: the level given, else the thumbs value's. ValueError for anything else, or for a
    thumbs value that disagrees with the level."""
    if level is None:
        if value not in THUMBS_LEVELS:
            raise ValueError("feedback is a level 1-5 or a thumbs value +1 or -1")
        return THUMBS_LEVELS[value]
    if isinstance(level, bool) or level not in SATISFACTION_LEVELS:
        raise ValueError(f"a satisfaction level is one of {', '.join(map(str, SATISFACTION_LEVELS))}")
    if value is not None and value != thumbs_of(level):
        raise ValueError(f"thumbs value {value} disagrees with level {level}")
    return level

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
    level: int | None = None  # the reviewer's 好差评 level, when they gave one


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
    level: int | None = None  # the citizen's 好差评 level
    rectification_id: int | None = None  # the 差评 rectification of the turn, if any
    test_case: bool = False  # added to the review set (加入测试集)

    @property
    def rated(self) -> bool:
        """Rated by the citizen or reviewed by staff: what may become a test case."""
        return self.feedback is not None or self.level is not None or bool(self.reviews) or self.rating is not None


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


@dataclass(frozen=True)
class RectificationStep:
    """One step of a rectification, with who took it and when (``detail``: the level, owner, result …)."""

    action: str
    actor: str
    at: datetime
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RectificationData:
    """The rectification (整改) a 差评 opened on a turn. ``deadline`` is a date in China time: the work is due by
    the end of that day; ``overdue`` is computed for the day it was read."""

    id: int
    turn_id: int
    level: int
    source: str  # who gave the 差评: "citizen" or "reviewer"
    rated_by: str
    opened_at: datetime
    deadline: date
    state: str
    owner: str | None
    measures: str = ""
    rectified_by: str | None = None
    rectified_at: datetime | None = None
    revisit_result: str | None = None
    revisit_note: str = ""
    revisited_by: str | None = None
    revisited_at: datetime | None = None
    overdue: bool = False
    turn: TurnData | None = None  # filled where a page shows the question and answer
    events: list[RectificationStep] = field(default_factory=list)  # oldest first, where a page shows them


@dataclass(frozen=True)
class RectificationFilter:
    """The 差评 list's filters: a state, an owner (a user name, or "" for all, ``UNASSIGNED`` for nobody's),
    only the overdue ones."""

    state: str = ""
    owner: str = ""
    overdue: bool = False


UNASSIGNED = "-"  # the owner filter's "not assigned to anybody"


@dataclass(frozen=True)
class TestCaseData:
    """A turn added to the review set (加入测试集) by a staff member."""

    __test__ = False  # not a pytest test class

    id: int
    turn_id: int
    created_by: str
    created_at: datetime

"""Staff evaluation of answer quality: citizens' 👍/👎, staff reviews and corrections, curated answers and review
sets. The web pages over it are ``zhengwu.web.console``; the ``zhengwu staff`` commands are ``zhengwu.cli.staff``.

The loop it closes: citizens rate answers (``/api/v1/feedback``, the widget's buttons, "有用"/"没用" in chat);
staff open conversations in the console (``/console``), rate answers and write corrections; an administrator
publishes a correction as a curated answer, which the assistant then gives whenever the question (or a
paraphrase) is asked again, with its sources; refused and thumbs-down questions are grouped into knowledge gaps;
reviewed turns become an evaluation set (``export_reviewed``). Ratings use the government's five 好差评 levels
(``SATISFACTION_LEVELS``: 非常满意 … 非常不满意); a 差评 opens a rectification (整改) tracked to its 回访, due in
15 working days (``WorkCalendar``); staff keep rated turns as test cases of the review set.

Modules: ``store`` (the tables, in the personal-data store's database), ``records`` (plain values and the
vocabulary of ratings and roles), ``passwords``, ``curated`` (matching a question to a curated answer), ``gaps``,
``export``, ``ratings`` (好差评 counts, rectifications, test cases: part of the store), ``workdays`` (working-day
deadlines). Outside this package, use the names below.
"""

from zhengwu.review.curated import CuratedAnswers
from zhengwu.review.export import export_reviewed, review_items, review_jsonl
from zhengwu.review.gaps import gaps_csv, knowledge_gaps
from zhengwu.review.passwords import password_problem
from zhengwu.review.records import (
    CHINA_TIME,
    POOR_LEVELS,
    RATING_LABELS,
    RATING_SOURCE_LABELS,
    RATINGS,
    REASONS,
    RECTIFICATION_ACTION_LABELS,
    RECTIFICATION_DAYS,
    RECTIFICATION_STATE_LABELS,
    RECTIFICATION_STATES,
    REVIEW_REASON_LABELS,
    REVISIT_RESULT_LABELS,
    REVISIT_RESULTS,
    ROLE_LABELS,
    ROLES,
    SATISFACTION_LABELS,
    SATISFACTION_LEVELS,
    UNASSIGNED,
    CuratedData,
    RectificationData,
    RectificationFilter,
    ReviewData,
    Source,
    StaffData,
    TestCaseData,
    TurnFilter,
    compact_question,
    level_of,
    question_key,
    thumbs_of,
)
from zhengwu.review.store import USERNAME, ReviewStore
from zhengwu.review.workdays import WorkCalendar, china_today

__all__ = [
    "CHINA_TIME",
    "POOR_LEVELS",
    "RATINGS",
    "RATING_LABELS",
    "RATING_SOURCE_LABELS",
    "REASONS",
    "RECTIFICATION_ACTION_LABELS",
    "RECTIFICATION_DAYS",
    "RECTIFICATION_STATES",
    "RECTIFICATION_STATE_LABELS",
    "REVIEW_REASON_LABELS",
    "REVISIT_RESULTS",
    "REVISIT_RESULT_LABELS",
    "ROLES",
    "ROLE_LABELS",
    "SATISFACTION_LABELS",
    "SATISFACTION_LEVELS",
    "UNASSIGNED",
    "USERNAME",
    "CuratedAnswers",
    "CuratedData",
    "RectificationData",
    "RectificationFilter",
    "ReviewData",
    "ReviewStore",
    "Source",
    "StaffData",
    "TestCaseData",
    "TurnFilter",
    "WorkCalendar",
    "china_today",
    "compact_question",
    "export_reviewed",
    "gaps_csv",
    "knowledge_gaps",
    "level_of",
    "password_problem",
    "question_key",
    "review_items",
    "review_jsonl",
    "thumbs_of",
]

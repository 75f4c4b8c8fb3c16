"""Staff evaluation of answer quality: citizens' 👍/👎, staff reviews and corrections, curated answers and review
sets. The web pages over it are ``zhengwu.web.console``; the ``zhengwu staff`` commands are ``zhengwu.cli.staff``.

The loop it closes: citizens rate answers (``/api/v1/feedback``, the widget's buttons, "有用"/"没用" in chat);
staff open conversations in the console (``/console``), rate answers and write corrections; an administrator
publishes a correction as a curated answer, which the assistant then gives whenever the question (or a
paraphrase) is asked again, with its sources; refused and thumbs-down questions are grouped into knowledge gaps;
reviewed turns become an evaluation set (``export_reviewed``).

Modules: ``store`` (the tables, in the personal-data store's database), ``records`` (plain values and the
vocabulary of ratings and roles), ``passwords``, ``curated`` (matching a question to a curated answer), ``gaps``,
``export``. Outside this package, use the names below.
"""

from zhengwu.review.curated import CuratedAnswers
from zhengwu.review.export import export_reviewed, review_items, review_jsonl
from zhengwu.review.gaps import gaps_csv, knowledge_gaps
from zhengwu.review.passwords import password_problem
from zhengwu.review.records import (
    CHINA_TIME,
    RATING_LABELS,
    RATINGS,
    REASONS,
    REVIEW_REASON_LABELS,
    ROLE_LABELS,
    ROLES,
    CuratedData,
    ReviewData,
    Source,
    StaffData,
    TurnFilter,
    compact_question,
    question_key,
)
from zhengwu.review.store import USERNAME, ReviewStore

__all__ = [
    "CHINA_TIME",
    "RATING_LABELS",
    "RATINGS",
    "REASONS",
    "REVIEW_REASON_LABELS",
    "ROLES",
    "ROLE_LABELS",
    "USERNAME",
    "CuratedAnswers",
    "CuratedData",
    "ReviewData",
    "ReviewStore",
    "Source",
    "StaffData",
    "TurnFilter",
    "compact_question",
    "export_reviewed",
    "gaps_csv",
    "knowledge_gaps",
    "password_problem",
    "question_key",
    "review_items",
    "review_jsonl",
]

"""The evaluation harness behind ``zhengwu eval``: reads the question format of ``shared/eval/FORMAT.md``,
asks every question through ``Assistant.ask`` and scores retrieval, answers, refusals and latency.

The JSON report's top-level keys are exactly those of ``REPORT_KEYS``; a metric that no question applies to is
``null``. Besides the retrieval metrics and ``must_contain``:

- ``answered_correct``: over answerable questions with ``must_contain``, the share answered (status ``answered``)
  with every ``must_contain`` element in the text (``must_contain`` alone also scores refusal texts).
- ``wrong_answer_rate``: over all questions, the share answered wrongly (:func:`wrong_answer`): an unanswerable
  question answered; an answerable one answered with a ``must_contain`` element missing; an answerable one
  without ``must_contain`` but with gold documents, answered with no citation of a gold document (an answer
  without citations counts as such). Answerable questions with neither are never counted wrong.
- ``citation_precision``: over answered questions with gold documents, the mean per answer of the share of its
  citations (each one counts, as listed) whose document is gold (:func:`is_gold`); no citations count as 0.
- ``handoff_rate``: over all questions, the share refused with reason ``handoff`` (a complaint, report,
  suggestion or request for help, handed off to 12345). These are refusals: ``refusal_rate`` and
  ``false_refusal_rate`` count them as refused.

Each row keeps what these are computed from (``cited_doc_ids``, and ``cited_gold`` when the question has gold
documents) and the per-question results ``answered_correct``, ``wrong_answer`` and ``citation_precision``.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zhengwu.answering.answer import Answer
from zhengwu.answering.assistant import Assistant
from zhengwu.answering.user import UserContext
from zhengwu.answering.vocabulary import HANDOFF_REASON
from zhengwu.errors import OperatorError
from zhengwu.index.analyzer import default_analyzer

REPORT_KEYS = (
    "hit@1", "hit@5", "mrr@10", "ndcg@10", "must_contain", "answered_correct", "wrong_answer_rate",
    "citation_precision", "token_f1", "refusal_rate", "false_refusal_rate", "handoff_rate",
    "latency_p50_ms", "latency_p95_ms", "n", "rows",
)
_CITATION = re.compile(r"\[\d+\]")


class QuestionFileError(OperatorError, ValueError):
    """A question file that cannot be evaluated; the message names the file and line."""


@dataclass
class Question:
    id: str
    question: str
    answerable: bool = True
    gold_doc_ids: list[str] = field(default_factory=list)
    gold_titles: list[str] = field(default_factory=list)
    must_contain: list[str | list[str]] = field(default_factory=list)
    gold_answer: str | None = None
    turns: list[str] = field(default_factory=list)
    profile: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    @property
    def has_gold_docs(self) -> bool:
        return bool(self.gold_doc_ids or self.gold_titles)


def read_questions(path: Path) -> list[Question]:
    questions: list[Question] = []
    seen: set[str] = set()
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionFileError(f"{path}: cannot read question file: {exc}") from exc
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            if not isinstance(raw, dict):
                raise ValueError("line is not a JSON object")
            question = Question(
                id=str(raw["id"]),
                question=str(raw["question"]),
                answerable=bool(raw.get("answerable", True)),
                gold_doc_ids=[str(x) for x in raw.get("gold_doc_ids") or []],
                gold_titles=[str(x) for x in raw.get("gold_titles") or []],
                must_contain=list(raw.get("must_contain") or []),
                gold_answer=raw.get("gold_answer"),
                turns=[str(t) for t in raw.get("turns") or []],
                profile=dict(raw.get("profile") or {}),
                meta=dict(raw.get("meta") or {}),
            )
        except KeyError as exc:
            raise QuestionFileError(f"{path}:{number}: missing required field {exc}") from exc
        except (ValueError, TypeError) as exc:
            raise QuestionFileError(f"{path}:{number}: {exc}") from exc
        if question.id in seen:
            raise QuestionFileError(f"{path}:{number}: duplicate id {question.id!r}")
        seen.add(question.id)
        questions.append(question)
    if not questions:
        raise QuestionFileError(f"{path}: no questions found")
    return questions


def is_gold(q: Question, doc_id: str, title: str) -> bool:
    """Whether a document answers the question: its id is a gold id, or its title contains a gold title."""
    return doc_id in q.gold_doc_ids or any(g and g in title for g in q.gold_titles)


def gold_ranks(q: Question, retrieved: list[str], titles: dict[str, str]) -> list[int]:
    """0-based ranks (within the first 10) of retrieved documents that count as hits."""
    return [rank for rank, doc_id in enumerate(retrieved[:10]) if is_gold(q, doc_id, titles.get(doc_id, ""))]


def must_contain_ok(q: Question, text: str) -> bool:
    for item in q.must_contain:
        options = item if isinstance(item, list) else [item]
        if not any(str(o) in text for o in options):
            return False
    return True


def citation_precision(row: Mapping[str, Any]) -> float | None:
    """The share of an answer's citations whose document is gold (``row["cited_gold"]``); 0.0 for an answer
    without citations; None when the question was not answered or has no gold documents."""
    if row.get("status") != "answered" or "cited_gold" not in row:
        return None
    flags = row["cited_gold"]
    return round(sum(1 for f in flags if f) / len(flags), 4) if flags else 0.0


def answered_correct(row: Mapping[str, Any]) -> bool | None:
    """Answered with every must_contain element; None for unanswerable questions and those without must_contain."""
    if not row.get("answerable", True) or "must_contain" not in row:
        return None
    return row.get("status") == "answered" and bool(row["must_contain"])


def wrong_answer(row: Mapping[str, Any]) -> bool:
    """Answered although the answer is wrong: the question is unanswerable; or a must_contain element is missing;
    or, without must_contain, the question has gold documents and no citation is of one. A refusal or a request
    for clarification is never a wrong answer (false refusals are counted apart)."""
    if row.get("status") != "answered":
        return False
    if not row.get("answerable", True):
        return True
    if "must_contain" in row:
        return not row["must_contain"]
    return citation_precision(row) == 0.0


def token_f1(answer: str, gold: str) -> float:
    analyzer = default_analyzer()
    a = Counter(analyzer.words(_CITATION.sub("", answer)))
    g = Counter(analyzer.words(gold))
    common = sum((a & g).values())
    if not common:
        return 0.0
    precision, recall = common / sum(a.values()), common / sum(g.values())
    return 2 * precision * recall / (precision + recall)


def _ndcg(ranks: list[int], n_relevant: int) -> float:
    dcg = sum(1 / math.log2(r + 2) for r in ranks)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(max(n_relevant, len(ranks)), 10)))
    return dcg / ideal if ideal else 0.0


def _percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * p
    lo, hi = math.floor(pos), math.ceil(pos)
    return round(ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo), 2)


def _mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return round(sum(values) / len(values), 4) if values else None


def evaluate(
    assistant: Assistant, questions: list[Question], *, progress: Callable[[int], None] | None = None
) -> dict:
    titles = {d.doc_id: d.title for d in assistant.index.documents().values()}
    assistant.warm_up()  # latency is measured on a warm index
    rows: list[dict] = []
    for q in questions:
        user = _user_of(q.profile)
        session = None
        for turn in q.turns:
            session = assistant.ask(turn, session=session, user=user).session_id
        answer: Answer = assistant.ask(q.question, session=session, user=user)
        row: dict = {
            "id": q.id,
            "personal": list(answer.personal),
            "question": q.question,
            "answerable": q.answerable,
            "status": answer.status,
            "reason": answer.reason,
            "retrieved": answer.retrieved[:10],
            "retrieved_titles": [titles.get(d, "") for d in answer.retrieved[:5]],
            "answer": answer.text,
            "citations": [f"{c.title} · {c.section}" for c in answer.citations],
            "cited_doc_ids": [c.doc_id for c in answer.citations],
            "latency_ms": answer.latency_ms,
            "path": answer.path,
            "meta": q.meta,
        }
        if q.has_gold_docs:
            ranks = gold_ranks(q, answer.retrieved, titles)
            row["first_hit_rank"] = ranks[0] + 1 if ranks else None
            row["ndcg@10"] = round(_ndcg(ranks, len(q.gold_doc_ids) or len(q.gold_titles)), 4)
            row["cited_gold"] = [is_gold(q, c.doc_id, titles.get(c.doc_id) or c.title) for c in answer.citations]
        if q.must_contain:
            row["must_contain"] = must_contain_ok(q, answer.text)
        if q.gold_answer:
            row["token_f1"] = round(token_f1(answer.text, q.gold_answer), 4)
        if (correct := answered_correct(row)) is not None:
            row["answered_correct"] = correct
        row["wrong_answer"] = wrong_answer(row)
        if (precision := citation_precision(row)) is not None:
            row["citation_precision"] = precision
        rows.append(row)
        if progress:
            progress(1)
    return summarise(rows)


def summarise(rows: list[dict]) -> dict:
    ranked = [r for r in rows if "first_hit_rank" in r]
    firsts = [r["first_hit_rank"] for r in ranked]
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    report = {
        "hit@1": _mean(1.0 if f == 1 else 0.0 for f in firsts),
        "hit@5": _mean(1.0 if f is not None and f <= 5 else 0.0 for f in firsts),
        "mrr@10": _mean(1.0 / f if f else 0.0 for f in firsts),
        "ndcg@10": _mean(r["ndcg@10"] for r in ranked),
        "must_contain": _mean(1.0 if r["must_contain"] else 0.0 for r in rows if "must_contain" in r),
        "answered_correct": _mean(1.0 if c else 0.0 for r in rows if (c := answered_correct(r)) is not None),
        "wrong_answer_rate": _mean(1.0 if wrong_answer(r) else 0.0 for r in rows),
        "citation_precision": _mean(p for r in rows if (p := citation_precision(r)) is not None),
        "token_f1": _mean(r["token_f1"] for r in rows if "token_f1" in r),
        "refusal_rate": _mean(1.0 if r["status"] == "refused" else 0.0 for r in unanswerable),
        "false_refusal_rate": _mean(1.0 if r["status"] == "refused" else 0.0 for r in answerable),
        "handoff_rate": _mean(1.0 if is_handoff(r) else 0.0 for r in rows),
        "latency_p50_ms": _percentile([r["latency_ms"] for r in rows], 0.5),
        "latency_p95_ms": _percentile([r["latency_ms"] for r in rows], 0.95),
        "n": len(rows),
        "rows": rows,
    }
    assert tuple(report) == REPORT_KEYS
    return report


def is_handoff(row: Mapping[str, Any]) -> bool:
    return row.get("status") == "refused" and row.get("reason") == HANDOFF_REASON


def compare_legs(assistant: Assistant, questions: list[Question]) -> dict[str, dict[str, float | None]]:
    """Retrieval alone, per leg: BM25 only, dense only, and the fused hybrid the assistant uses.

    Shows on the same run whether fusion beats each leg; no answer composition, no refusals.
    """
    from zhengwu.retrieval.features import FusionWeights
    from zhengwu.retrieval.fusion import HandFusion
    from zhengwu.retrieval.retriever import Retriever

    index = assistant.index
    legs = {
        "bm25": Retriever(index, fusion=HandFusion(FusionWeights(dense=0.0, card=0.0, title=0.0, region_bonus=0.0)),
                          dense=False),
        "dense": Retriever(index, fusion=HandFusion(FusionWeights(dense=1.0, card=1.0, title=0.0, region_bonus=0.0))),
        "hybrid": assistant.retriever,
    }
    titles = {d.doc_id: d.title for d in index.documents().values()}
    ranked = [q for q in questions if q.has_gold_docs]
    out: dict[str, dict[str, float | None]] = {}
    for name, retriever in legs.items():
        firsts = []
        for q in ranked:
            ranks = gold_ranks(q, [h.doc.doc_id for h in retriever.retrieve(q.question, k=10)], titles)
            firsts.append(ranks[0] + 1 if ranks else None)
        out[name] = {
            "hit@1": _mean(1.0 if f == 1 else 0.0 for f in firsts),
            "hit@5": _mean(1.0 if f is not None and f <= 5 else 0.0 for f in firsts),
            "mrr@10": _mean(1.0 / f if f else 0.0 for f in firsts),
        }
    return out


def counts(report: dict) -> dict[str, int]:
    rows = report["rows"]
    statuses = Counter(r["status"] for r in rows)
    return {
        "questions": len(rows),
        "answerable": sum(1 for r in rows if r["answerable"]),
        "unanswerable": sum(1 for r in rows if not r["answerable"]),
        "with_gold_documents": sum(1 for r in rows if "first_hit_rank" in r),
        "with_must_contain": sum(1 for r in rows if "must_contain" in r),
        "answered": statuses["answered"],
        "refused": statuses["refused"],
        "clarify": statuses["clarify"],
        "handoff": sum(1 for r in rows if is_handoff(r)),
        "wrong_answers": sum(1 for r in rows if wrong_answer(r)),
        "by_llm": sum(1 for r in rows if r.get("path", "").startswith("llm")),
        "by_composer": sum(1 for r in rows if r["status"] == "answered" and r.get("path", "composer") == "composer"),
    }


def _user_of(profile: dict) -> UserContext | None:
    """The asker of a question: a region alone, or, when the profile carries identity tags or a service history,
    a consenting user with that history (personalised cases of FORMAT.md)."""
    if not profile:
        return None
    personal = None
    if any(profile.get(k) for k in ("history", "service_history", "tags", "identity", "identity_tags")):
        from zhengwu.personal import PersonalContext

        personal = PersonalContext.from_profile(profile)
    return UserContext(region=profile.get("region"), profile=profile, personal=personal)

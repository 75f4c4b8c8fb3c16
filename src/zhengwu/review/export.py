"""Review sets: reviewed turns written as an evaluation question file (shared/eval/FORMAT.md), so the
assistant can be scored on what staff judged, e.g. ``zhengwu eval reviewed.jsonl``.

One line per reviewed turn, from its latest review:

* ``answerable`` is false when the reviewer said the assistant should have refused (``should_refuse``);
* ``gold_doc_ids`` are the sources the reviewer chose;
* ``gold_answer`` is the corrected answer, or the assistant's own answer when it was rated correct as it stood;
* ``must_contain`` is what the reviewer said a right answer must say (optional);
* ``meta`` keeps the rating, the reasons and the turn id, to slice reports and trace an item back; with a 好差评
  level, also ``satisfaction`` (the reviewer's level, else the citizen's), its label and both levels.

Turns staff added to the review set (「加入测试集」) are exported too, even without a review: then the citizen's
or reviewer's level decides. Accepted (基本满意 or better): the assistant's behaviour is the reference — a
refusal stays a refusal (``answerable`` false); an answer is answerable with the cited documents as gold and,
from 满意 on, the answer itself as ``gold_answer``. A 差评: ``answerable`` true and no gold — the assistant
must at least answer (a refusal was the wrong call), and staff add the right answer by reviewing the turn.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from zhengwu.config import Settings
from zhengwu.personal import TurnData
from zhengwu.review.records import SATISFACTION_LABELS, ReviewData
from zhengwu.review.store import ReviewStore

Levels = tuple[int | None, int | None]  # (the citizen's, the reviewer's latest)


def _satisfaction(levels: Levels | None) -> dict[str, Any]:
    citizen, reviewer = levels or (None, None)
    level = reviewer if reviewer is not None else citizen
    if level is None:
        return {}
    return {"satisfaction": level, "satisfaction_label": SATISFACTION_LABELS[level], "citizen_level": citizen,
            "reviewer_level": reviewer}


def test_case_item(turn: TurnData, levels: Levels | None) -> dict[str, Any]:
    """A test case without a review: the question, what the rating says of the answer, the levels."""
    satisfaction = _satisfaction(levels)
    level = satisfaction.get("satisfaction")
    accepted = level is not None and level >= 3
    item: dict[str, Any] = {"id": f"review-{turn.id}", "question": turn.question,
                            "answerable": not (accepted and turn.status == "refused")}
    if accepted and turn.status == "answered":
        gold = list(dict.fromkeys(str(c.get("doc_id")) for c in turn.citations if c.get("doc_id")))
        if gold:
            item["gold_doc_ids"] = gold
        if level is not None and level >= 4 and turn.answer:
            item["gold_answer"] = turn.answer
    item["meta"] = {**satisfaction, "turn_id": turn.id, "status": turn.status, "test_case": True}
    return item


def review_item(turn: TurnData, review: ReviewData, levels: Levels | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": f"review-{turn.id}",
        "question": turn.question,
        "answerable": review.rating != "should_refuse",
    }
    if item["answerable"]:
        gold = list(dict.fromkeys(s.doc_id for s in review.sources if s.doc_id))
        if gold:
            item["gold_doc_ids"] = gold
        if review.must_contain:
            item["must_contain"] = list(review.must_contain)
        answer = review.corrected_answer or (turn.answer if review.rating == "correct" else "")
        if answer:
            item["gold_answer"] = answer
    item["meta"] = {"rating": review.rating, "reasons": list(review.reasons), "turn_id": turn.id,
                    **_satisfaction(levels)}
    return item


def review_items(store: ReviewStore, min_rating: str | None = None, rating: str | None = None) -> list[dict[str, Any]]:
    """The review set: every reviewed turn (from its latest review) and, unless a rating filter is given,
    every test case without a review; oldest turn first, one item per turn."""
    reviewed = store.reviewed(min_rating, rating)
    cases = {turn.id: turn for turn, _case in store.test_case_turns()}
    seen = {turn.id for turn, _ in reviewed}
    pending = [] if min_rating or rating else [t for t in cases.values() if t.id not in seen]
    levels = store.levels()
    items = [(turn.id, review_item(turn, review, levels.get(turn.id))) for turn, review in reviewed]
    items += [(turn.id, test_case_item(turn, levels.get(turn.id))) for turn in pending]
    for turn_id, item in items:
        if turn_id in cases:
            item["meta"]["test_case"] = True
    return [item for _, item in sorted(items, key=lambda pair: pair[0])]


def review_jsonl(items: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items)


def export_reviewed(settings: Settings, out: Path, *, min_rating: str | None = None, rating: str | None = None) -> int:
    """Write the reviewed turns of the configured store to ``out`` (JSON Lines); returns how many.

    ``min_rating`` keeps reviews at least that good (correct > partly > wrong = should_refuse); ``rating`` keeps
    only reviews with exactly that rating (e.g. "wrong": the failures, with their corrections)."""
    from zhengwu.personal import open_people_store

    people = open_people_store(settings)
    try:
        items = review_items(ReviewStore.of(people), min_rating, rating)
    finally:
        people.engine.dispose()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(review_jsonl(items), encoding="utf-8")
    return len(items)

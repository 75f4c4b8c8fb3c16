"""Review sets: reviewed turns written as an evaluation question file (shared/eval/FORMAT.md), so the
assistant can be scored on what staff judged, e.g. ``zhengwu eval reviewed.jsonl``.

One line per reviewed turn, from its latest review:

* ``answerable`` is false when the reviewer said the assistant should have refused (``should_refuse``);
* ``gold_doc_ids`` are the sources the reviewer chose;
* ``gold_answer`` is the corrected answer, or the assistant's own answer when it was rated correct as it stood;
* ``must_contain`` is what the reviewer said a right answer must say (optional);
* ``meta`` keeps the rating, the reasons and the turn id, to slice reports and trace an item back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from zhengwu.config import Settings
from zhengwu.personal import TurnData
from zhengwu.review.records import ReviewData
from zhengwu.review.store import ReviewStore


def review_item(turn: TurnData, review: ReviewData) -> dict[str, Any]:
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
    item["meta"] = {"rating": review.rating, "reasons": list(review.reasons), "turn_id": turn.id}
    return item


def review_items(store: ReviewStore, min_rating: str | None = None, rating: str | None = None) -> list[dict[str, Any]]:
    return [review_item(turn, review) for turn, review in store.reviewed(min_rating, rating)]


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

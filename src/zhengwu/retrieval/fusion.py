"""How retrieval's signals become one score per document (docs/retrieval.md), as pure functions.

    score = w · minmax(cosine) + (1 − w) · bm25 / max(bm25) + title_weight · title_match + region_bonus

``w`` is the dense weight for a document with a vector of its own text, and the (lower) card weight for one
reached only through its summary card: a card is a bounded summary, weaker evidence than the text itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from zhengwu.chinese import normalize


@dataclass(frozen=True)
class FusionWeights:
    dense: float = 0.6  # ZHENGWU_DENSE_WEIGHT: a vector of the document's own text
    card: float = 0.2  # only the summary card matched
    title: float = 0.6  # the question names the title
    region_bonus: float = 0.2  # the document is of the region the asker prefers


def fused_score(
    weights: FusionWeights, *, dense: float | None, card: float, sparse: float, title: float, preferred_region: bool
) -> float:
    """One document's score. ``dense``: its best content cosine rescaled to [0, 1] among the candidates, or None
    when no content vector of it was retrieved (then its rescaled ``card`` cosine counts, at the card weight);
    ``sparse``: its best BM25 score over the best of all candidates; ``title``: ``title_match``."""
    weight = weights.dense if dense is not None else weights.card
    vector = dense if dense is not None else card
    score = weight * vector + (1 - weight) * sparse + weights.title * title
    if preferred_region:
        score += weights.region_bonus
    return score


def min_max(values: list[float]) -> list[float]:
    """Cosines rescaled to [0, 1] over the candidates that have one; 0 for those without."""
    present = [v for v in values if v > 0]
    if not present:
        return [0.0] * len(values)
    lo, hi = min(present), max(present)
    span = max(hi - lo, 1e-6)
    return [(v - lo) / span if v > 0 else 0.0 for v in values]


def _bigrams(text: str) -> frozenset[str]:
    text = "".join(ch for ch in text if ch.isalnum())
    return frozenset(text[i : i + 2] for i in range(len(text) - 1))


@lru_cache(maxsize=65536)
def _title_features(title: str) -> tuple[str, frozenset[str]]:
    """Normalised title and its bigrams, computed once per title rather than once per question."""
    normalized = normalize(title)
    return normalized, _bigrams(normalized)


def title_match(question: str, *titles: str, _normalized: str | None = None) -> float:
    """1.0 when the question contains a whole title; else the share of title bigrams it contains, when that
    share is at least half (a word or two in common with a long title is no evidence of naming it)."""
    q = _normalized if _normalized is not None else normalize(question)
    q_grams: frozenset[str] | None = None
    best = 0.0
    for title in titles:
        if not title:
            continue
        t, grams = _title_features(title)
        if len(t) >= 2 and t in q:
            return 1.0
        if grams:
            q_grams = q_grams if q_grams is not None else _bigrams(q)
            share = len(grams & q_grams) / len(grams)
            if share >= 0.5:
                best = max(best, share * 0.8)
    return best

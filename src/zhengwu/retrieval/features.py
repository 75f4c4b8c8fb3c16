"""The features fusion weighs, one vector per candidate document (docs/retrieval.md lists them with their
fitted weights).

Every feature is comparable across questions: scores are rescaled among the question's candidates or turned
into ranks, so one set of weights serves a three-word question and a paragraph-long complaint alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

Features = dict[str, float]

FEATURES: tuple[str, ...] = (
    "sparse",  # best BM25 of the document's chunks / best BM25 of all candidates
    "sparse_rr",  # 1 / (1 + its rank by BM25)
    "expansion",  # best BM25 of the colloquial expansion (酒驾 → 饮酒后驾驶) / the best of all candidates
    "dense",  # best cosine of its own text's vectors, rescaled to [0, 1] among the candidates
    "dense_raw",  # that cosine on an absolute scale: (cos − 0.75) / 0.2
    "dense_rr",  # 1 / (1 + its rank by that cosine)
    "card",  # cosine of its summary card, rescaled among candidates
    "card_raw",
    "both",  # found by both legs
    "title",  # how much of its title the question names
    "region",  # of the region the asker prefers
    "guide", "law", "faq",  # document type (policy and other text: none of the three)
    "guide_procedure", "guide_legal", "law_procedure", "law_legal",  # type × what the question is after
    "guide_lacks_field",  # a guide that does not state the field asked (materials, phone …)
    "hand",  # the hand-set formula's score (``fused_score``): the fit starts from it and is pulled towards it
)


@dataclass(frozen=True)
class FusionWeights:
    dense: float = 0.6  # ZHENGWU_DENSE_WEIGHT: a vector of the document's own text
    card: float = 0.2  # only the summary card matched
    title: float = 0.6  # the question names the title
    region_bonus: float = 0.2  # the document is of the region the asker prefers


def fused_score(
    weights: FusionWeights, *, dense: float | None, card: float, sparse: float, title: float, preferred_region: bool
) -> float:
    """The hand-set formula. One document's score. ``dense``: its best content cosine rescaled to [0, 1] among the candidates, or None
    when no content vector of it was retrieved (then its rescaled ``card`` cosine counts, at the card weight);
    ``sparse``: its best BM25 score over the best of all candidates; ``title``: ``title_match``."""
    weight = weights.dense if dense is not None else weights.card
    vector = dense if dense is not None else card
    score = weight * vector + (1 - weight) * sparse + weights.title * title
    if preferred_region:
        score += weights.region_bonus
    return score



@dataclass
class Signals:
    """What retrieval found for one document, before fusion."""

    doc_type: str
    sparse: float = 0.0
    expansion: float = 0.0
    dense: float = 0.0
    card: float = 0.0
    title: float = 0.0
    preferred_region: bool = False
    lacks_field: bool = False


def _ranks(values: Sequence[float]) -> list[float]:
    """1 / (1 + rank) by value, best first; 0 for a document the leg did not find."""
    order = sorted((i for i, v in enumerate(values) if v > 0), key=lambda i: -values[i])
    out = [0.0] * len(values)
    for rank, i in enumerate(order):
        out[i] = 1.0 / (1 + rank)
    return out


def min_max(values: Sequence[float]) -> list[float]:
    """Cosines rescaled to [0, 1] over the candidates that have one; 0 for those without."""
    present = [v for v in values if v > 0]
    if not present:
        return [0.0] * len(values)
    lo, hi = min(present), max(present)
    span = max(hi - lo, 1e-6)
    return [(v - lo) / span if v > 0 else 0.0 for v in values]


def _raw(cosine: float) -> float:
    return max(0.0, (cosine - 0.75) / 0.2) if cosine > 0 else 0.0


def features_of(candidates: Sequence[Signals], intent: str) -> list[Features]:
    """The feature vectors of one question's candidates (same order)."""
    if not candidates:
        return []
    top_sparse = max(c.sparse for c in candidates) or 1.0
    top_expansion = max(c.expansion for c in candidates) or 1.0
    dense_n = min_max([c.dense for c in candidates])
    card_n = min_max([c.card for c in candidates])
    sparse_rr = _ranks([c.sparse for c in candidates])
    dense_rr = _ranks([c.dense for c in candidates])
    procedure = intent in ("procedure", "mixed")
    legal = intent in ("legal", "mixed")
    out: list[Features] = []
    for i, c in enumerate(candidates):
        guide, law = c.doc_type == "service_guide", c.doc_type == "law"
        out.append({
            "sparse": c.sparse / top_sparse,
            "sparse_rr": sparse_rr[i],
            "expansion": c.expansion / top_expansion,
            "dense": dense_n[i],
            "dense_raw": _raw(c.dense),
            "dense_rr": dense_rr[i],
            "card": card_n[i],
            "card_raw": _raw(c.card),
            "both": 1.0 if c.sparse > 0 and (c.dense > 0 or c.card > 0) else 0.0,
            "title": c.title,
            "region": 1.0 if c.preferred_region else 0.0,
            "guide": float(guide),
            "law": float(law),
            "faq": float(c.doc_type == "faq"),
            "guide_procedure": float(guide and procedure),
            "guide_legal": float(guide and legal),
            "law_procedure": float(law and procedure),
            "law_legal": float(law and legal),
            "guide_lacks_field": float(guide and c.lacks_field),
        })
        f = out[-1]
        f["hand"] = fused_score(HAND, dense=f["dense"] if c.dense > 0 else None, card=f["card"], sparse=f["sparse"],
                                title=f["title"], preferred_region=c.preferred_region)
    return out


HAND = FusionWeights(dense=0.65)  # the hand-set weights (ZHENGWU_DENSE_WEIGHT's default)

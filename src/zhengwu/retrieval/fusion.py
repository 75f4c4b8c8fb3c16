"""How retrieval's signals become one score per document (docs/retrieval.md).

Two fusions, one ``Fusion`` interface:

- ``LinearFusion`` (the default): a weighted sum of the features of ``features.FEATURES`` (BM25, the colloquial
  expansion, dense cosine, ranks, title match, region, document type × intent …), with weights fitted by
  pairwise logistic regression on the development sets with cross-validation (``quality/fusion_fit.py``,
  ``evaluation/fit_fusion.py``) and shipped in ``resources/fusion.json``. Every score can be explained as the
  sum of its ``contributions``.
- ``HandFusion``: the earlier hand-set formula, kept for comparison and as the fallback when no model is found,

      score = w · minmax(cosine) + (1 − w) · bm25 / max(bm25) + title_weight · title_match + region_bonus

  where ``w`` is the dense weight for a document with a vector of its own text and the (lower) card weight
  for one reached only through its summary card.
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Protocol

from zhengwu.chinese import normalize
from zhengwu.retrieval.features import FEATURES, Features, FusionWeights, fused_score

log = logging.getLogger("zhengwu.retriever")


class Fusion(Protocol):
    name: str

    def score(self, features: Features) -> float: ...


class LinearFusion:
    """score = Σ weight[f] · feature[f]. Features the model does not know count zero."""

    name = "learned"

    def __init__(self, weights: dict[str, float], meta: dict | None = None) -> None:
        self.weights = {f: float(w) for f, w in weights.items() if f in FEATURES}
        self.meta = meta or {}

    def score(self, features: Features) -> float:
        return sum(w * features.get(f, 0.0) for f, w in self.weights.items())

    def contributions(self, features: Features) -> dict[str, float]:
        """Each feature's share of the score, largest first: why a document ranks where it does."""
        parts = {f: w * features.get(f, 0.0) for f, w in self.weights.items() if features.get(f, 0.0)}
        return dict(sorted(parts.items(), key=lambda kv: -abs(kv[1])))

    @classmethod
    def load(cls, path: Path) -> LinearFusion:
        data = json.loads(path.read_text(encoding="utf-8"))
        unknown = sorted(set(data["weights"]) - set(FEATURES))
        if unknown:
            raise ValueError(f"fusion model {path} has features this version does not compute: {unknown}")
        return cls(data["weights"], data.get("meta"))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps({"weights": self.weights, "meta": self.meta}, ensure_ascii=False, indent=1,
                                   sort_keys=True) + "\n", encoding="utf-8")


class HandFusion:
    name = "hand"

    def __init__(self, weights: FusionWeights | None = None) -> None:
        self.weights = weights or FusionWeights()

    def score(self, features: Features) -> float:
        return hand_score(self.weights, features)


def hand_score(weights: FusionWeights, features: Features) -> float:
    has_dense = features.get("dense_raw", 0.0) > 0 or features.get("dense", 0.0) > 0
    return fused_score(weights, dense=features["dense"] if has_dense else None, card=features["card"],
                       sparse=features["sparse"], title=features["title"], preferred_region=bool(features["region"]))


BUNDLED_MODEL = "fusion.json"


def fusion_for(kind: str, model: Path | None, dense_weight: float) -> Fusion:
    """The configured fusion: the learned model (``model`` or the bundled one), else the hand-set formula."""
    if kind == "learned":
        try:
            if model is not None:
                return LinearFusion.load(model)
            bundled = resources.files("zhengwu") / "resources" / BUNDLED_MODEL
            if bundled.is_file():
                return LinearFusion.load(Path(str(bundled)))
        except (OSError, ValueError, KeyError) as exc:
            log.error("fusion model unusable (%s): falling back to the hand-set fusion", exc)
    return HandFusion(FusionWeights(dense=dense_weight))


@lru_cache(maxsize=8192)  # the question's bigrams, once per question rather than once per candidate
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

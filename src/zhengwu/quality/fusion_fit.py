"""Fitting the learned fusion (``retrieval.fusion.LinearFusion``) from questions with known answering documents.

Pairwise logistic regression: for each question, every answering document among the candidates should score
above every other candidate; the loss is log(1 + exp(−w·(x_gold − x_other))) over the ``NEGATIVES`` strongest
other candidates, with an L2 penalty, minimised with L-BFGS. Each set of questions (natural, laws, guides …)
weighs by the square root of its size, so 400 guide questions that are already answered do not drown 41 law
questions that are not.

Only out-of-fold numbers are reported (``cross_validate``): every question is ranked by weights fitted without
it. The weights that ship are then fitted on all questions.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize

from zhengwu.answering.assistant import Assistant
from zhengwu.answering.guards import clean_question
from zhengwu.quality.evaluation import Question, _user_of, is_gold
from zhengwu.retrieval.features import FEATURES
from zhengwu.retrieval.fusion import Fusion, HandFusion, LinearFusion
from zhengwu.retrieval.retriever import namesake_order

NEGATIVES = 60
L2 = 0.005
PRIOR_SCALE = 5.0  # the hand score's weight before any data: a confident ranking (score gaps of ~0.2 → 1 logit)


@dataclass
class Example:
    """One question's candidates as a feature matrix, with which rows answer it."""

    qid: str
    group: str
    doc_ids: list[str]
    features: np.ndarray  # [candidates, len(FEATURES)]
    relevant: np.ndarray  # bool [candidates]
    baseline: list[dict[str, float]]  # the feature dicts, for fusions that are not linear (HandFusion)
    titles: list[str] = field(default_factory=list)  # what retrieval's namesake ordering needs
    regions: list[str] = field(default_factory=list)
    prefer_region: str | None = None


def collect(assistant: Assistant, questions: Sequence[Question], group: str,
            progress: Callable[[int], None] | None = None) -> list[Example]:
    """Candidates and features of each question with answering documents, filtered as ``Assistant.ask`` does."""
    titles = {d.doc_id: d.title for d in assistant.index.documents().values()}
    out = []
    for q in questions:
        if progress:
            progress(1)
        if not q.has_gold_docs:
            continue
        cleaned = clean_question(q.question)
        user = _user_of(q.profile)
        filters = assistant.filters_for(cleaned, user.region if user else None)
        hits = assistant.retriever.candidates(cleaned, filters)
        ids = [h.doc.doc_id for h in hits]
        relevant = np.array([is_gold(q, d, titles.get(d, "")) for d in ids], dtype=bool)
        matrix = np.array([[h.features.get(f, 0.0) for f in FEATURES] for h in hits], dtype=np.float64)
        out.append(Example(q.id, group, ids, matrix.reshape(len(hits), len(FEATURES)), relevant,
                           [h.features for h in hits], [h.doc.title for h in hits], [h.doc.region for h in hits],
                           filters.prefer_region))
    return out


def _pairs(examples: Sequence[Example], balance: str = "sqrt") -> tuple[np.ndarray, np.ndarray]:
    sizes: dict[str, int] = defaultdict(int)
    for e in examples:
        sizes[e.group] += 1
    diffs, weights = [], []
    for e in examples:
        if not e.relevant.any() or e.relevant.all():
            continue
        others = np.flatnonzero(~e.relevant)
        # The strongest competitors by a plain sum of the main signals: the ones a ranking must beat.
        strength = e.features[others][:, [FEATURES.index(f) for f in ("sparse", "dense", "card", "title")]].sum(1)
        others = others[np.argsort(-strength)[:NEGATIVES]]
        positives = np.flatnonzero(e.relevant)
        pair = (e.features[positives][:, None, :] - e.features[others][None, :, :]).reshape(-1, len(FEATURES))
        diffs.append(pair)
        # Each question weighs the same within its set; each set by the square root of its size ("sqrt") or
        # all sets alike ("equal").
        share = np.sqrt(sizes[e.group]) if balance == "sqrt" else sizes[e.group]
        weights.append(np.full(len(pair), 1.0 / (len(pair) * share)))
    if not diffs:
        return np.zeros((0, len(FEATURES))), np.zeros(0)
    return np.vstack(diffs), np.concatenate(weights)


def fit(examples: Sequence[Example], l2: float = L2, balance: str = "sqrt") -> LinearFusion:
    diffs, weights = _pairs(examples, balance)
    if not len(diffs):
        raise ValueError("no question has an answering document among its candidates: nothing to fit")
    weights = weights / weights.sum()

    # The fit starts from the hand-set formula (its score is the feature ``hand``) and the penalty pulls towards
    # it rather than towards zero: with few questions of a kind, the weights stay what was measured to work.
    prior = np.zeros(len(FEATURES))
    prior[FEATURES.index("hand")] = PRIOR_SCALE

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        margin = diffs @ w
        offset = w - prior
        value = float(weights @ np.logaddexp(0.0, -margin)) + l2 * float(offset @ offset)
        grad = -(diffs.T @ (weights / (1.0 + np.exp(np.clip(margin, -50, 50))))) + 2 * l2 * offset
        return value, grad

    result = minimize(loss, prior.copy(), jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return LinearFusion({f: round(float(w), 4) for f, w in zip(FEATURES, result.x, strict=True)},
                        {"pairs": int(len(diffs)), "questions": len(examples), "l2": l2, "balance": balance})


def first_rank(fusion: Fusion, example: Example) -> int | None:
    """1-based rank of the first answering document under ``fusion`` (ties broken by doc id, as retrieval does)."""
    if isinstance(fusion, LinearFusion):
        vector = np.array([fusion.weights.get(f, 0.0) for f in FEATURES])
        scores = example.features @ vector
    else:
        scores = np.array([fusion.score(f) for f in example.baseline])
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], example.doc_ids[i]))
    if example.titles and example.prefer_region:  # as retrieval does: the asker's region first among namesakes
        moved = namesake_order([example.titles[i] for i in order], [example.regions[i] for i in order],
                               example.prefer_region)
        order = [order[j] for j in moved]
    for rank, i in enumerate(order, 1):
        if example.relevant[i]:
            return rank
    return None


def metrics(ranks: Sequence[int | None]) -> dict[str, float]:
    n = max(len(ranks), 1)
    return {
        "n": len(ranks),
        "hit@1": sum(1 for r in ranks if r == 1) / n,
        "hit@5": sum(1 for r in ranks if r is not None and r <= 5) / n,
        "mrr@10": sum(1.0 / r for r in ranks if r is not None and r <= 10) / n,
    }


def folds_of(examples: Sequence[Example], folds: int, seed: int = 13) -> list[int]:
    """A fold per example, stratified by set: every fold holds its share of each set."""
    assignment = [0] * len(examples)
    by_group: dict[str, list[int]] = defaultdict(list)
    for i, e in enumerate(examples):
        by_group[e.group].append(i)
    rng = random.Random(seed)
    for members in by_group.values():
        rng.shuffle(members)
        for position, i in enumerate(members):
            assignment[i] = position % folds
    return assignment


# Single-leg rankings on the same candidates, for comparison (not fitted).
BASELINES: dict[str, Fusion] = {
    "hand": HandFusion(),
    "dense alone": LinearFusion({"dense_raw": 1.0, "dense": 1e-3}),
    "BM25 alone": LinearFusion({"sparse": 1.0}),
}


@dataclass
class CrossValidation:
    folds: int
    oof: dict[str, dict[str, float]]  # set -> metrics of the learned fusion, out of fold
    baselines: dict[str, dict[str, dict[str, float]]]  # baseline -> set -> metrics on the same candidates
    fold_weights: list[dict[str, float]]

    def table(self) -> str:
        names = list(self.baselines)
        head = "| set | questions | learned hit@1 / hit@5 / MRR@10 | " + " | ".join(names) + " |"
        lines = [head, "| --- | ---: | ---: |" + " ---: |" * len(names)]
        for group, m in self.oof.items():
            others = " | ".join(
                f"{self.baselines[b][group]['hit@1']:.3f} / {self.baselines[b][group]['hit@5']:.3f} / "
                f"{self.baselines[b][group]['mrr@10']:.3f}" for b in names)
            lines.append(f"| {group} | {m['n']} | **{m['hit@1']:.3f} / {m['hit@5']:.3f} / {m['mrr@10']:.3f}** | "
                         f"{others} |")
        return "\n".join(lines)


def cross_validate(examples: Sequence[Example], folds: int = 5, l2: float = L2,
                   balance: str = "sqrt") -> CrossValidation:
    assignment = folds_of(examples, folds)
    learned: list[int | None] = [None] * len(examples)
    weights = []
    for fold in range(folds):
        train = [e for e, f in zip(examples, assignment, strict=True) if f != fold]
        model = fit(train, l2, balance)
        weights.append(model.weights)
        for i, (e, f) in enumerate(zip(examples, assignment, strict=True)):
            if f == fold:
                learned[i] = first_rank(model, e)
    groups = sorted({e.group for e in examples}) + ["all"]
    oof: dict[str, dict[str, float]] = {}
    baselines: dict[str, dict[str, dict[str, float]]] = {name: {} for name in BASELINES}
    for group in groups:
        members = [i for i, e in enumerate(examples) if group in ("all", e.group)]
        oof[group] = metrics([learned[i] for i in members])
        for name, fusion in BASELINES.items():
            baselines[name][group] = metrics([first_rank(fusion, examples[i]) for i in members])
    return CrossValidation(folds, oof, baselines, weights)

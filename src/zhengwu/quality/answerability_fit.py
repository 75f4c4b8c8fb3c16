"""Fitting the answerability model (``answering.answerability.AnswerabilityModel``) and choosing its threshold.

Each development question is asked once with the check switched off; every answer that reaches the check gives
one example — its features, and whether it was right (answerable, and every ``must_contain`` string in the text;
without ``must_contain``, a gold document among the citations). Questions refused or handed off earlier keep
their outcome whatever the threshold. A logistic regression (L2, L-BFGS, standardised features, sets weighted by
the square root of their size) is fitted in stratified folds; every number reported is out of fold.

The threshold maximises, over all questions, ``answered right − COST × answered wrong``: an answer that cites a
passage that does not answer costs ``COST`` refusals, because the citizen trusts it.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from zhengwu.answering.answer import Answer
from zhengwu.answering.answerability import FEATURES, AnswerabilityModel
from zhengwu.answering.assistant import Assistant
from zhengwu.quality.evaluation import Question, _user_of, is_gold, must_contain_ok

COST = 2.0
L2 = 0.05
THRESHOLDS = tuple(round(0.02 * i, 2) for i in range(1, 50))


@dataclass
class Outcome:
    """One question: which set, whether it is answerable, the candidate answers that reached the check (each one's
    features and whether it was right, the best document's first) — or none, and the status it got before."""

    qid: str
    group: str
    answerable: bool
    alternatives: list[tuple[dict[str, float], bool]]
    right: bool  # of the answer given without the check
    status: str


def collect(assistant: Assistant, questions: Sequence[Question], group: str,
            progress: Callable[[int], None] | None = None) -> list[Outcome]:
    """Ask every question with the check switched off (and no coverage rule before it), recording each candidate
    answer the check would weigh."""
    saved = assistant.answerability, assistant.coverage_rule, assistant.on_answer_features
    titles = {d.doc_id: d.title for d in assistant.index.documents().values()}
    seen: list[tuple[dict[str, float], Answer]] = []
    assistant.answerability, assistant.coverage_rule = None, False
    assistant.on_answer_features = lambda features, answer: seen.append((dict(features), answer))
    out = []
    try:
        for q in questions:
            user = _user_of(q.profile)
            session = None
            for turn in q.turns:
                session = assistant.ask(turn, session=session, user=user).session_id
            seen.clear()
            answer = assistant.ask(q.question, session=session, user=user)
            alternatives = [(f, _right(q, a, titles)) for f, a in seen] if answer.status == "answered" else []
            out.append(Outcome(q.id, group, q.answerable, alternatives, _right(q, answer, titles), answer.status))
            if progress:
                progress(1)
    finally:
        assistant.answerability, assistant.coverage_rule, assistant.on_answer_features = saved
    return out


def _right(q: Question, answer: Answer, titles: dict[str, str]) -> bool:
    if not q.answerable or answer.status != "answered":
        return False
    if q.must_contain:
        return must_contain_ok(q, answer.text)
    if q.has_gold_docs:
        return any(is_gold(q, c.doc_id, titles.get(c.doc_id, c.title)) for c in answer.citations)
    return True


def fit(examples: Sequence[Outcome], l2: float = L2) -> AnswerabilityModel:
    """A model fitted on every candidate answer that reached the check (threshold left at 0.5: see
    ``choose_threshold``)."""
    rows = [(e.group, f, right) for e in examples for f, right in e.alternatives]
    x = np.array([[f[name] for name in FEATURES] for _, f, _ in rows], dtype=float)
    y = np.array([1.0 if right else 0.0 for *_, right in rows])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = (x - mean) / scale
    sizes: dict[str, int] = defaultdict(int)
    for group, *_ in rows:
        sizes[group] += 1
    w_rows = np.array([1.0 / math.sqrt(sizes[group]) for group, *_ in rows])
    w_rows *= len(rows) / w_rows.sum()

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = params[:-1], params[-1]
        logits = z @ w + b
        p = 1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30)))
        eps = 1e-12
        value = -np.sum(w_rows * (y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps))) / len(y) + l2 * w @ w
        grad_logit = w_rows * (p - y) / len(y)
        grad = np.concatenate([z.T @ grad_logit + 2 * l2 * w, [grad_logit.sum()]])
        return value, grad

    result = minimize(loss, np.zeros(len(FEATURES) + 1), jac=True, method="L-BFGS-B")
    w, b = result.x[:-1], result.x[-1]
    return AnswerabilityModel(
        weights={f: round(float(v), 5) for f, v in zip(FEATURES, w, strict=True)}, bias=round(float(b), 5),
        threshold=0.5, mean={f: round(float(v), 5) for f, v in zip(FEATURES, mean, strict=True)},
        scale={f: round(float(v), 5) for f, v in zip(FEATURES, scale, strict=True)},
    )


def folds(examples: Sequence[Outcome], k: int, seed: int = 13) -> list[int]:
    """A fold per example, stratified by set and by right/wrong."""
    strata: dict[tuple[str, bool], list[int]] = defaultdict(list)
    for i, e in enumerate(examples):
        strata[(e.group, e.right)].append(i)
    fold = [0] * len(examples)
    rng = random.Random(seed)
    for members in strata.values():
        rng.shuffle(members)
        for j, i in enumerate(members):
            fold[i] = j % k
    return fold


def out_of_fold(examples: Sequence[Outcome], k: int = 5, l2: float = L2) -> list[list[float]]:
    """Each question's candidate answers' probabilities from a model fitted without its fold."""
    fold = folds(examples, k)
    probs: list[list[float]] = [[] for _ in examples]
    for f in range(k):
        model = fit([e for e, g in zip(examples, fold, strict=True) if g != f], l2)
        for i, (e, g) in enumerate(zip(examples, fold, strict=True)):
            if g == f:
                probs[i] = [model.probability(features) for features, _ in e.alternatives]
    return probs


def decide(e: Outcome, p: Sequence[float], threshold: float) -> tuple[bool, bool]:
    """(answered, right) for one question at ``threshold``: the most probable candidate is given if it reaches
    the threshold, as ``Assistant`` does; a question that never reached the check keeps its outcome."""
    if e.status != "answered":
        return False, False
    if not e.alternatives:
        return True, e.right
    best = max(range(len(p)), key=lambda i: (p[i], -i))
    return p[best] >= threshold, e.alternatives[best][1]


def rates(examples: Sequence[Outcome], probs: Sequence[Sequence[float]], threshold: float) -> dict[str, float]:
    """What ``zhengwu eval`` would report at ``threshold``: answered-correct (of answerable), wrong-answer rate
    (of all), refusal of unanswerable, false refusal."""
    n = len(examples)
    answerable = sum(e.answerable for e in examples)
    unanswerable = n - answerable
    right = wrong = refused_un = refused_ans = 0
    for e, p in zip(examples, probs, strict=True):
        answered, ok = decide(e, p, threshold)
        right += answered and ok
        wrong += answered and not ok
        refused_un += not e.answerable and not answered
        refused_ans += e.answerable and not answered
    nan = float("nan")
    return {
        "answered_correct": right / answerable if answerable else nan,
        "wrong_answer_rate": wrong / n if n else nan,
        "refusal_rate": refused_un / unanswerable if unanswerable else nan,
        "false_refusal_rate": refused_ans / answerable if answerable else nan,
        "right": right, "wrong": wrong, "n": n,
    }


def choose_threshold(examples: Sequence[Outcome], probs: Sequence[Sequence[float]], cost: float = COST) -> float:
    """The threshold maximising right − cost × wrong over all questions (sets weighted equally)."""
    groups = sorted({e.group for e in examples})

    def utility(t: float) -> float:
        total = 0.0
        for g in groups:
            sub = [(e, p) for e, p in zip(examples, probs, strict=True) if e.group == g]
            r = rates([e for e, _ in sub], [p for _, p in sub], t)
            total += (r["right"] - cost * r["wrong"]) / r["n"]
        return total

    return max(THRESHOLDS, key=lambda t: (round(utility(t), 9), -t))

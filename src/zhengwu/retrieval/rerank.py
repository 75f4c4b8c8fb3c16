"""Optional second stage: a sentence-transformers cross-encoder re-scores the fused top documents.

Enabled by ``ZHENGWU_RERANKER_MODEL`` (a local model directory; nothing is downloaded). The cross-encoder reads
each document's best chunk next to the question; its score is blended with the fusion score rather than
replacing it, so an item the question names outright keeps its place.
"""

from __future__ import annotations

import os

from zhengwu.index import Index
from zhengwu.retrieval.retriever import DocHit

RERANK_DEPTH = 20


class CrossEncoderReranker:
    """A ``retriever.Reranker``."""

    def __init__(self, model: str, weight: float = 0.5) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import CrossEncoder

        self._model = CrossEncoder(model, device="cpu", local_files_only=True)
        self.weight = weight

    def rerank(self, question: str, hits: list[DocHit], index: Index) -> list[DocHit]:
        head, tail = hits[:RERANK_DEPTH], hits[RERANK_DEPTH:]
        if len(head) < 2:
            return hits
        chunks = index.store.get_chunks([h.chunks[0][0] for h in head if h.chunks])
        passages = []
        for h in head:
            best = chunks.get(h.chunks[0][0]) if h.chunks else None
            passages.append(f"{h.doc.title} {best.text if best else ''}"[:512])
        raw = [float(s) for s in self._model.predict([(question, p) for p in passages], show_progress_bar=False)]
        lo, hi = min(raw), max(raw)
        span = (hi - lo) or 1.0
        for h, s in zip(head, raw, strict=True):
            h.score = (1 - self.weight) * h.score + self.weight * (s - lo) / span
        return sorted(head, key=lambda h: (-h.score, h.doc.doc_id)) + tail

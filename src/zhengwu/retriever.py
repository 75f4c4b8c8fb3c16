"""Stage 4: hybrid retrieval. BM25 over jieba tokens + dense e5 vectors in Chroma, fused at document level.

Scores are fused per document, not per chunk, because a document is what a citizen is pointed to: the dense leg
sees one bounded card per guide or law, the sparse leg sees every field and article. A title that the question
names outright is the strongest signal of all for service guides, so it is a third, explicit feature.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from .index import Index
from .store import DocMeta
from .text import normalize

SPARSE_CANDIDATES = 300
DENSE_CANDIDATES = 60


@dataclass(frozen=True)
class Filters:
    regions: tuple[str, ...] | None = None  # allowed regions; None = all
    doc_types: tuple[str, ...] | None = None
    statuses: tuple[str, ...] = ("active",)
    prefer_region: str | None = None  # ranks first among same-name items of several regions


@dataclass
class DocHit:
    doc: DocMeta
    score: float = 0.0
    dense: float = 0.0  # best cosine of the document's vectors
    sparse: float = 0.0  # best BM25 score of its chunks
    title: float = 0.0  # how much of the title the question names
    chunks: list[tuple[str, float]] = field(default_factory=list)  # (chunk_id, bm25) best first


def _bigrams(text: str) -> set[str]:
    text = "".join(ch for ch in text if ch.isalnum())
    return {text[i : i + 2] for i in range(len(text) - 1)}


def title_match(question: str, title: str) -> float:
    """1.0 when the question contains the whole title; otherwise the share of title bigrams it contains."""
    q, t = normalize(question), normalize(title)
    if len(t) >= 2 and t in q:
        return 1.0
    grams = _bigrams(t)
    if not grams:
        return 0.0
    return len(grams & _bigrams(q)) / len(grams) * 0.8


class Retriever:
    def __init__(self, index: Index, *, dense_weight: float = 0.6, title_weight: float = 0.6, reranker=None):
        self.index = index
        self.dense_weight = dense_weight
        self.title_weight = title_weight
        self.reranker = reranker
        self._masks: dict[Filters, np.ndarray] = {}

    def _mask(self, filters: Filters) -> np.ndarray:
        key = Filters(filters.regions, filters.doc_types, filters.statuses)
        mask = self._masks.get(key)
        sparse = self.index.sparse
        if mask is None or len(mask) != len(sparse.chunk_ids):
            docs = self.index.documents()
            allowed = {
                d.doc_id
                for d in docs.values()
                if (filters.regions is None or d.region in filters.regions)
                and (filters.doc_types is None or d.doc_type in filters.doc_types)
                and d.status in filters.statuses
            }
            mask = np.fromiter((cid.split("#", 1)[0] in allowed for cid in sparse.chunk_ids), bool,
                               count=len(sparse.chunk_ids))
            self._masks[key] = mask
        return mask

    @staticmethod
    def _where(filters: Filters) -> dict | None:
        clauses: list[dict] = [{"status": {"$in": list(filters.statuses)}}]
        if filters.regions is not None:
            clauses.append({"region": {"$in": list(filters.regions)}})
        if filters.doc_types is not None:
            clauses.append({"doc_type": {"$in": list(filters.doc_types)}})
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def retrieve(self, question: str, filters: Filters = Filters(), k: int = 10) -> list[DocHit]:
        docs = self.index.documents()
        if not docs:
            return []
        tokens = self.index.analyzer.tokens(question)
        hits: dict[str, DocHit] = {}

        def hit(doc_id: str) -> DocHit | None:
            if doc_id not in docs:
                return None  # a vector or posting left over from an interrupted ingest
            if doc_id not in hits:
                hits[doc_id] = DocHit(doc=docs[doc_id])
            return hits[doc_id]

        per_doc: dict[str, list[tuple[str, float]]] = defaultdict(list)
        for chunk_id, score in self.index.sparse.top(tokens, SPARSE_CANDIDATES, self._mask(filters)):
            per_doc[chunk_id.split("#", 1)[0]].append((chunk_id, score))
        for doc_id, chunk_scores in per_doc.items():
            h = hit(doc_id)
            if h:
                h.chunks = chunk_scores
                h.sparse = chunk_scores[0][1]

        if self.dense_weight > 0:
            vector = self.index.embedder.embed_query(question)
            for chunk_id, cosine in self.index.dense.query(vector, DENSE_CANDIDATES, self._where(filters)):
                h = hit(chunk_id.split("#", 1)[0])
                if h and cosine > h.dense:
                    h.dense = cosine

        if not hits:
            return []
        self._fuse(question, list(hits.values()), filters)
        ranked = sorted(hits.values(), key=lambda h: (-h.score, h.doc.doc_id))
        if self.reranker is not None:
            ranked = self.reranker.rerank(question, ranked, self.index)
        return ranked[:k]

    def _fuse(self, question: str, hits: list[DocHit], filters: Filters) -> None:
        top_sparse = max(h.sparse for h in hits) or 1.0
        dense_values = [h.dense for h in hits if h.dense > 0]
        lo = min(dense_values) if dense_values else 0.0
        hi = max(dense_values) if dense_values else 1.0
        span = max(hi - lo, 1e-6)
        for h in hits:
            dense_n = (h.dense - lo) / span if h.dense > 0 else 0.0
            sparse_n = h.sparse / top_sparse
            h.title = title_match(question, h.doc.title) if h.doc.doc_type != "faq" else 0.0
            h.score = self.dense_weight * dense_n + (1 - self.dense_weight) * sparse_n + self.title_weight * h.title
            if filters.prefer_region and h.doc.region == filters.prefer_region:
                h.score += 0.05

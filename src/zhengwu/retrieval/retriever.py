"""Stage 4: hybrid retrieval. BM25 over jieba tokens + dense e5 vectors in Chroma, fused at document level.

Scores are fused per document, not per chunk, because a document is what a citizen is pointed to: the dense leg
sees one bounded card per guide or law, the sparse leg sees every field and article. A title that the question
names outright is the strongest signal of all for service guides, so it is a third, explicit feature. How
the three are weighed is ``fusion``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from zhengwu.chinese import normalize
from zhengwu.index import Index
from zhengwu.index.chunking import doc_id_of, is_card
from zhengwu.index.store import DocMeta
from zhengwu.retrieval.fusion import FusionWeights, fused_score, min_max, title_match

SPARSE_CANDIDATES = 300
DENSE_CANDIDATES = 60

log = logging.getLogger("zhengwu.retriever")


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
    dense: float = 0.0  # best cosine of the document's content vectors
    card: float = 0.0  # cosine of the document's summary card (guides, laws)
    sparse: float = 0.0  # best BM25 score of its chunks
    title: float = 0.0  # how much of the title the question names
    chunks: list[tuple[str, float]] = field(default_factory=list)  # (chunk_id, bm25) best first


class Reranker(Protocol):
    """An optional second stage (``rerank.CrossEncoderReranker``): re-scores the fused top documents for a
    question and returns them in their new order."""

    def rerank(self, question: str, hits: list[DocHit], index: Index) -> list[DocHit]: ...


class Retriever:
    def __init__(
        self,
        index: Index,
        *,
        dense_weight: float = 0.6,
        reranker: Reranker | None = None,
        on_dense_health: Callable[[bool], None] | None = None,
    ):
        self.index = index
        self.weights = FusionWeights(dense=dense_weight)
        self._dense_ok = True
        self.reranker = reranker
        # Told when the vector store stops or starts answering (the service sets a readiness metric).
        self._on_dense_health = on_dense_health
        self._masks: dict[Filters, np.ndarray] = {}
        self._chunk_doc: tuple[list[str], np.ndarray] = ([], np.zeros(0, dtype=np.int64))
        self._cache_version = -1

    def _mask(self, filters: Filters) -> np.ndarray:
        """Which BM25 rows pass the filters, cached per filter (one boolean per chunk) until the index changes."""
        sparse = self.index.sparse  # may rebuild (and bump the version) on first use
        if self._cache_version != self.index.version:
            doc_ids = sorted(self.index.documents())
            position = {d: i for i, d in enumerate(doc_ids)}
            rows = np.fromiter((position.get(doc_id_of(c), -1) for c in sparse.chunk_ids), np.int64,
                               count=len(sparse.chunk_ids))
            self._chunk_doc = (doc_ids, rows)
            self._masks.clear()
            self._cache_version = self.index.version
        key = Filters(filters.regions, filters.doc_types, filters.statuses)
        mask = self._masks.get(key)
        if mask is None:
            doc_ids, rows = self._chunk_doc
            docs = self.index.documents()
            allowed = np.array(
                [self.passes(docs[d], filters) for d in doc_ids] + [False],  # row -1: a posting whose document is gone
                dtype=bool,
            )
            mask = self._masks[key] = allowed[rows]
        return mask

    @staticmethod
    def passes(doc: DocMeta, filters: Filters) -> bool:
        return (
            (filters.regions is None or doc.region in filters.regions)
            and (filters.doc_types is None or doc.doc_type in filters.doc_types)
            and doc.status in filters.statuses
        )

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
            per_doc[doc_id_of(chunk_id)].append((chunk_id, score))
        for doc_id, chunk_scores in per_doc.items():
            h = hit(doc_id)
            if h:
                h.chunks = chunk_scores
                h.sparse = chunk_scores[0][1]

        if self.weights.dense > 0:
            vector = self.index.embedder.embed_query(question)
            # Filtered in Python, not with a Chroma `where`: on a few thousand vectors a metadata filter costs
            # Chroma ~14 ms against ~2 ms for a plain query, and DocMeta already knows region, type and status.
            restricted = filters.regions is not None or filters.doc_types is not None
            for chunk_id, cosine in self._dense(vector, DENSE_CANDIDATES * (3 if restricted else 1)):
                doc_id = doc_id_of(chunk_id)
                if doc_id not in docs or not self.passes(docs[doc_id], filters):
                    continue
                h = hit(doc_id)
                if h is None:
                    continue
                if is_card(chunk_id):
                    h.card = max(h.card, cosine)
                else:
                    h.dense = max(h.dense, cosine)

        if not hits:
            return []
        self._fuse(question, list(hits.values()), filters)
        ranked = sorted(hits.values(), key=lambda h: (-h.score, h.doc.doc_id))
        if self.reranker is not None:
            ranked = self.reranker.rerank(question, ranked, self.index)
        return diversify(ranked)[:k]

    def _dense(self, vector, n: int) -> list[tuple[str, float]]:
        """The dense leg, or nothing while the vector store is unreachable: answers then come from BM25 alone
        (somewhat lower recall) instead of failing, and the next question tries the store again."""
        try:
            found = self.index.dense.query(vector, n)
        except Exception as exc:  # noqa: BLE001 - a Chroma server down, a network error: degrade, don't fail
            if self._dense_ok:
                log.error("dense retrieval unavailable, answering from BM25 alone: %s", type(exc).__name__)
            self._dense_ok = False
            if self._on_dense_health:
                self._on_dense_health(False)
            return []
        if not self._dense_ok:
            log.warning("dense retrieval available again")
            self._dense_ok = True
            if self._on_dense_health:
                self._on_dense_health(True)
        return found

    def _fuse(self, question: str, hits: list[DocHit], filters: Filters) -> None:
        top_sparse = max(h.sparse for h in hits) or 1.0
        normalized = normalize(question)
        dense_n = min_max([h.dense for h in hits])
        card_n = min_max([h.card for h in hits])
        for h, d, c in zip(hits, dense_n, card_n, strict=True):
            if h.doc.doc_type != "faq":
                h.title = title_match(question, h.doc.title, h.doc.extra.get("item_name", ""), _normalized=normalized)
            h.score = fused_score(
                self.weights, dense=d if h.dense > 0 else None, card=c, sparse=h.sparse / top_sparse, title=h.title,
                preferred_region=bool(filters.prefer_region and h.doc.region == filters.prefer_region),
            )


def diversify(ranked: list[DocHit], window: int = 5, per_type: int = 3) -> list[DocHit]:
    """At most ``per_type`` documents of one type in the first ``window`` when other types are candidates:
    a question answered by a guide should still see the law behind it, and the other way round."""
    head: list[DocHit] = []
    rest: list[DocHit] = []
    counts: dict[str, int] = {}
    for h in ranked:
        if len(head) < window and counts.get(h.doc.doc_type, 0) < per_type:
            head.append(h)
            counts[h.doc.doc_type] = counts.get(h.doc.doc_type, 0) + 1
        else:
            rest.append(h)
    while len(head) < window and rest:
        head.append(rest.pop(0))
    return head + rest

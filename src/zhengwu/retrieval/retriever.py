"""Stage 4: hybrid retrieval. BM25 over jieba tokens + dense e5 vectors in Chroma, fused at document level.

Scores are fused per document, not per chunk, because a document is what a citizen is pointed to: the dense leg
sees one bounded card per guide or law, the sparse leg sees every field and article. A title that the question
names outright is the strongest signal of all for service guides, so it is a third, explicit feature.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from zhengwu.index.index import Index
from zhengwu.index.store import DocMeta
from zhengwu.index.analyzer import normalize

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


class Retriever:
    def __init__(
        self,
        index: Index,
        *,
        dense_weight: float = 0.6,
        card_weight: float = 0.2,
        title_weight: float = 0.6,
        region_bonus: float = 0.2,
        reranker=None,
    ):
        self.index = index
        self.dense_weight = dense_weight
        self._dense_ok = True
        # A card is a bounded summary (title, purpose clause): weaker evidence than a vector of the text itself.
        self.card_weight = card_weight
        self.region_bonus = region_bonus
        self.title_weight = title_weight
        self.reranker = reranker
        self._masks: dict[Filters, np.ndarray] = {}
        self._chunk_doc: tuple[list[str], np.ndarray] = ([], np.zeros(0, dtype=np.int64))
        self._cache_version = -1

    def _mask(self, filters: Filters) -> np.ndarray:
        """Which BM25 rows pass the filters, cached per filter (one boolean per chunk) until the index changes."""
        sparse = self.index.sparse  # may rebuild (and bump the version) on first use
        if self._cache_version != self.index.version:
            doc_ids = sorted(self.index.documents())
            position = {d: i for i, d in enumerate(doc_ids)}
            rows = np.fromiter((position.get(c.split("#", 1)[0], -1) for c in sparse.chunk_ids), np.int64,
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
            per_doc[chunk_id.split("#", 1)[0]].append((chunk_id, score))
        for doc_id, chunk_scores in per_doc.items():
            h = hit(doc_id)
            if h:
                h.chunks = chunk_scores
                h.sparse = chunk_scores[0][1]

        if self.dense_weight > 0:
            vector = self.index.embedder.embed_query(question)
            # Filtered in Python, not with a Chroma `where`: on a few thousand vectors a metadata filter costs
            # Chroma ~14 ms against ~2 ms for a plain query, and DocMeta already knows region, type and status.
            restricted = filters.regions is not None or filters.doc_types is not None
            for chunk_id, cosine in self._dense(vector, DENSE_CANDIDATES * (3 if restricted else 1)):
                doc_id = chunk_id.split("#", 1)[0]
                if doc_id not in docs or not self.passes(docs[doc_id], filters):
                    continue
                h = hit(doc_id)
                if h is None:
                    continue
                if chunk_id.endswith("#card"):
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
        from zhengwu.ops.observability import DEPENDENCY_UP

        try:
            found = self.index.dense.query(vector, n)
        except Exception as exc:  # noqa: BLE001 - a Chroma server down, a network error: degrade, don't fail
            if self._dense_ok:
                log.error("dense retrieval unavailable, answering from BM25 alone: %s", type(exc).__name__)
            self._dense_ok = False
            DEPENDENCY_UP.labels("chroma").set(0)
            return []
        if not self._dense_ok:
            log.warning("dense retrieval available again")
            self._dense_ok = True
            DEPENDENCY_UP.labels("chroma").set(1)
        return found

    def _fuse(self, question: str, hits: list[DocHit], filters: Filters) -> None:
        top_sparse = max(h.sparse for h in hits) or 1.0
        normalized = normalize(question)
        dense_n = _min_max([h.dense for h in hits])
        card_n = _min_max([h.card for h in hits])
        for h, d, c in zip(hits, dense_n, card_n):
            sparse_n = h.sparse / top_sparse
            weight = self.dense_weight if h.dense > 0 else self.card_weight
            if h.doc.doc_type != "faq":
                h.title = title_match(question, h.doc.title, h.doc.extra.get("item_name", ""), _normalized=normalized)
            h.score = weight * max(d, c if not h.dense else 0.0) + (1 - weight) * sparse_n + self.title_weight * h.title
            if filters.prefer_region and h.doc.region == filters.prefer_region:
                h.score += self.region_bonus


def _min_max(values: list[float]) -> list[float]:
    """Cosines rescaled to [0, 1] over the candidates that have one; 0 for those without."""
    present = [v for v in values if v > 0]
    if not present:
        return [0.0] * len(values)
    lo, hi = min(present), max(present)
    span = max(hi - lo, 1e-6)
    return [(v - lo) / span if v > 0 else 0.0 for v in values]


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

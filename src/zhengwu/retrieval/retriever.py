"""Stage 4: hybrid retrieval. BM25 over jieba tokens (plus a colloquial expansion) and dense e5 vectors in
Chroma, fused at document level.

Scores are fused per document, not per chunk, because a document is what a citizen is pointed to: the dense leg
sees every law article, policy passage and one card per guide; the sparse leg sees every field and article.
``candidates`` gathers what both legs found and turns it into ``features``; ``fusion`` weighs them (a learned
linear model by default, docs/retrieval.md); ``chunk_order`` decides which of a document's passages are quoted.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Protocol

import numpy as np

from zhengwu.chinese import normalize
from zhengwu.documents import expired
from zhengwu.documents.guide_fields import KEY_OF_HEADING
from zhengwu.index import Index
from zhengwu.index.chunking import doc_id_of, is_card
from zhengwu.index.store import DocMeta
from zhengwu.retrieval.features import Features, Signals, features_of
from zhengwu.retrieval.fusion import Fusion, fusion_for, title_match
from zhengwu.retrieval.query import detect_fields, intent_of

SPARSE_CANDIDATES = 300
# Every law article has a vector: the nearest 200 reach far enough down for a question in other words.
DENSE_CANDIDATES = 200
RESULT_CACHE_SIZE = 1024  # ranked results of this many recent (question, filters, k) kept per process
EXPANSION_WEIGHT = 0.7  # a chunk's expansion BM25 counts this much towards which of its chunks is quoted
CHUNK_DENSE_SHARE = 0.5
CHUNK_DENSE_SPAN = 0.08
SECTION_FIELDS = frozenset(KEY_OF_HEADING.values())  # fields a guide states in a section of its own

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
    expansion: float = 0.0  # best BM25 score of the colloquial expansion
    title: float = 0.0  # how much of the title the question names
    chunks: list[tuple[str, float]] = field(default_factory=list)  # (chunk_id, score in [0, 1]) best first
    cosines: dict[str, float] = field(default_factory=dict)  # chunk_id -> cosine, for chunks the dense leg found
    features: Features = field(default_factory=dict)


class Reranker(Protocol):
    """An optional second stage (``rerank.CrossEncoderReranker``): re-scores the fused top documents for a
    question and returns them in their new order."""

    def rerank(self, question: str, hits: list[DocHit], index: Index) -> list[DocHit]: ...


class Retriever:
    def __init__(
        self,
        index: Index,
        *,
        fusion: Fusion | None = None,
        dense: bool = True,
        reranker: Reranker | None = None,
        on_dense_health: Callable[[bool], None] | None = None,
    ):
        self.index = index
        self.fusion: Fusion = fusion or fusion_for("learned", None, 0.65)
        self.use_dense = dense
        self._dense_ok = True
        self.reranker = reranker
        # Told when the vector store stops or starts answering (the service sets a readiness metric).
        self._on_dense_health = on_dense_health
        self._masks: dict[Filters, np.ndarray] = {}
        self._chunk_doc: tuple[list[str], np.ndarray] = ([], np.zeros(0, dtype=np.int64))
        self._cache_version = -1
        self._masks_generation: tuple[int, date] | None = None
        # Ranked results of recent questions: citizens ask the same popular questions again and again, and
        # retrieval is half of an answer's CPU. Keyed by the exact question, filters and k; emptied whenever the
        # index changes (``Index.version``); never holding a result computed while the dense leg was down.
        self._results: OrderedDict[tuple[str, Filters, int], list[DocHit]] = OrderedDict()
        self._results_generation: tuple[int, date] | None = None
        self._results_lock = threading.Lock()

    def _generation(self) -> tuple[int, date]:
        """What the cached masks and results depend on: the index, and the day (expiry dates come by day)."""
        return self.index.version, date.today()

    def _mask(self, filters: Filters) -> np.ndarray:
        """Which BM25 rows pass the filters, cached per filter (one boolean per chunk) until the index changes
        or the day does."""
        sparse = self.index.sparse  # may rebuild (and bump the version) on first use
        if self._masks_generation != self._generation():
            self._masks.clear()
            self._masks_generation = self._generation()
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
            today = date.today()
            allowed = np.array(
                [self.passes(docs[d], filters, today) for d in doc_ids] + [False],  # row -1: a posting whose doc is gone
                dtype=bool,
            )
            mask = self._masks[key] = allowed[rows]
        return mask

    @staticmethod
    def passes(doc: DocMeta, filters: Filters, today: date | None = None) -> bool:
        return (
            (filters.regions is None or doc.region in filters.regions)
            and (filters.doc_types is None or doc.doc_type in filters.doc_types)
            and doc.status in filters.statuses
            and not expired(doc.extra, today or date.today())
        )

    def retrieve(self, question: str, filters: Filters = Filters(), k: int = 10) -> list[DocHit]:
        key = (question, filters, k)
        self.index.follow()  # another worker may have published documents since the last question
        generation = self._generation()
        with self._results_lock:
            if self._results_generation != generation:
                self._results.clear()
                self._results_generation = generation
            cached = self._results.get(key)
            if cached is not None:
                self._results.move_to_end(key)
        if cached is not None:
            return [_copy(h) for h in cached]
        found = self._retrieve(question, filters, k)
        if self._dense_ok or not self.use_dense:
            with self._results_lock:
                if self._results_generation == generation:  # the index did not change meanwhile
                    self._results[key] = [_copy(h) for h in found]
                    while len(self._results) > RESULT_CACHE_SIZE:
                        self._results.popitem(last=False)
        return found

    def _retrieve(self, question: str, filters: Filters, k: int) -> list[DocHit]:
        hits = self.candidates(question, filters)
        if not hits:
            return []
        ranked = self.rank(hits)
        if self.reranker is not None:
            ranked = self.reranker.rerank(question, ranked, self.index)
        return prefer_region_among_namesakes(ranked, filters.prefer_region)[:k]

    def rank(self, hits: list[DocHit]) -> list[DocHit]:
        for h in hits:
            h.score = self.fusion.score(h.features)
        return sorted(hits, key=lambda h: (-h.score, h.doc.doc_id))

    def candidates(self, question: str, filters: Filters = Filters()) -> list[DocHit]:
        """Every document either leg found for the question, with its features (not yet scored)."""
        docs = self.index.documents()
        if not docs:
            return []
        analyzer = self.index.analyzer
        hits: dict[str, DocHit] = {}

        def hit(doc_id: str) -> DocHit | None:
            if doc_id not in docs:
                return None  # a vector or posting left over from an interrupted ingest
            if doc_id not in hits:
                hits[doc_id] = DocHit(doc=docs[doc_id])
            return hits[doc_id]

        mask = self._mask(filters)
        sparse_chunks: dict[str, dict[str, float]] = defaultdict(dict)
        for chunk_id, score in self.index.sparse.top(analyzer.tokens(question), SPARSE_CANDIDATES, mask):
            sparse_chunks[doc_id_of(chunk_id)][chunk_id] = score
        for doc_id, scores in sparse_chunks.items():
            h = hit(doc_id)
            if h:
                h.sparse = max(scores.values())
        # The colloquial expansion is a second, separate query: its words can lift a document the question's own
        # words missed, but they never change the BM25 scores of the question itself.
        expansion = analyzer.expansion_tokens(question)
        if expansion:
            for chunk_id, score in self.index.sparse.top(expansion, SPARSE_CANDIDATES // 2, mask):
                h = hit(doc_id_of(chunk_id))
                if h:
                    h.expansion = max(h.expansion, score)
                    own = sparse_chunks[h.doc.doc_id]
                    own[chunk_id] = own.get(chunk_id, 0.0) + EXPANSION_WEIGHT * score

        dense_chunks: dict[str, dict[str, float]] = defaultdict(dict)
        if self.use_dense:
            vector = self.index.embedder.embed_query(question)
            # Filtered in Python, not with a Chroma `where`: on a few thousand vectors a metadata filter costs
            # Chroma ~14 ms against ~2 ms for a plain query, and DocMeta already knows region, type and status.
            restricted = filters.regions is not None or filters.doc_types is not None
            today = date.today()
            for chunk_id, cosine in self._dense(vector, DENSE_CANDIDATES * (3 if restricted else 1)):
                doc_id = doc_id_of(chunk_id)
                if doc_id not in docs or not self.passes(docs[doc_id], filters, today):
                    continue
                h = hit(doc_id)
                if h is None:
                    continue
                if is_card(chunk_id):
                    h.card = max(h.card, cosine)
                else:
                    h.dense = max(h.dense, cosine)
                    dense_chunks[doc_id][chunk_id] = cosine
        if not hits:
            return []
        for doc_id, h in hits.items():
            h.chunks = chunk_order(sparse_chunks.get(doc_id, {}), dense_chunks.get(doc_id, {}))
            h.cosines = dense_chunks.get(doc_id, {})
        self._featurise(question, list(hits.values()), filters)
        return list(hits.values())

    def _featurise(self, question: str, hits: list[DocHit], filters: Filters) -> None:
        normalized = normalize(question)
        asked = detect_fields(normalized)
        fields = [f for f in asked if f in SECTION_FIELDS]
        intent = intent_of(normalized, asked)
        stated = self.index.store.fields_of([h.doc.doc_id for h in hits if h.doc.doc_type == "service_guide"]) \
            if fields else {}
        signals = []
        for h in hits:
            if h.doc.doc_type != "faq":
                h.title = title_match(question, h.doc.title, h.doc.extra.get("item_name", ""), _normalized=normalized)
            signals.append(Signals(
                doc_type=h.doc.doc_type, sparse=h.sparse, expansion=h.expansion, dense=h.dense, card=h.card,
                title=h.title, preferred_region=bool(filters.prefer_region and h.doc.region == filters.prefer_region),
                lacks_field=h.doc.doc_id in stated and fields[0] not in stated[h.doc.doc_id],
            ))
        for h, features in zip(hits, features_of(signals, intent), strict=True):
            h.features = features

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


def _copy(hit: DocHit) -> DocHit:
    """A hit the caller may change without changing the cached one."""
    return replace(hit, chunks=list(hit.chunks), cosines=dict(hit.cosines), features=dict(hit.features))


def chunk_order(sparse: dict[str, float], dense: dict[str, float]) -> list[tuple[str, float]]:
    """A document's chunks, best first, scored in [0, 1]: the BM25 share of its best chunk mixed with how close
    each chunk's cosine comes to its best one (within ``CHUNK_DENSE_SPAN``). Articles found by meaning alone
    take part, so the article that answers is quoted even when it shares no word with the question."""
    best_sparse = max(sparse.values(), default=0.0) or 1.0
    best_dense = max(dense.values(), default=0.0)
    share = CHUNK_DENSE_SHARE if sparse and dense else (1.0 if dense else 0.0)
    scored = {}
    for chunk_id in set(sparse) | set(dense):
        closeness = 0.0
        if chunk_id in dense:
            closeness = max(0.0, 1.0 - (best_dense - dense[chunk_id]) / CHUNK_DENSE_SPAN)
        scored[chunk_id] = (1 - share) * sparse.get(chunk_id, 0.0) / best_sparse + share * closeness
    return sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))


def prefer_region_among_namesakes(ranked: list[DocHit], region: str | None) -> list[DocHit]:
    """Among documents of the same title, the asker's region first (a 广州市 guide before the 深圳市 guide of
    the same item), without moving them against documents of other titles."""
    order = namesake_order([h.doc.title for h in ranked], [h.doc.region for h in ranked], region)
    return [ranked[i] for i in order]


def namesake_order(titles: list[str], regions: list[str], region: str | None) -> list[int]:
    """The positions of a ranking after moving ``region``'s document first within each group of namesakes."""
    order = list(range(len(titles)))
    if not region:
        return order
    slots: dict[str, list[int]] = defaultdict(list)
    for i, title in enumerate(titles):
        slots[title].append(i)
    for positions in slots.values():
        if len(positions) > 1:
            for slot, i in zip(positions, sorted(positions, key=lambda i: regions[i] != region), strict=True):
                order[slot] = i
    return order

"""Curated answers in the assistant: a question staff have answered is answered the same way when asked again.

A published curated answer is given before retrieval when the question is the curated one, or a paraphrase of
it. "Paraphrase" is decided by four checks that staff can follow when a match surprises them:

1. the same guide fields are asked (place, materials, time limit, phone …, ``zhengwu.query.detect_fields``;
   a general "怎么办理" counts as no field): "居住证在哪办理" is not "居住证要什么材料";
2. the same places are named: "深圳市居住证在哪办理" is not "居住证在哪办理";
3. the topic words agree: the IDF-weighted Jaccard overlap of the jieba content terms (field and place words
   left out) is at least ``OVERLAP_MIN``. Weighting by rarity in the corpus makes the words that name an item
   (居住证, 运输) count and the words every guide uses (办理, 审批) hardly: "弩的销售审批" is not "弩的运输审批";
4. the meaning agrees: the cosine of the index embedder's query vectors is at least ``COSINE_MIN`` (e5 scores
   unrelated government questions around 0.90-0.94 and paraphrases above 0.97).

Thresholds were set on pairs in tests/test_review_curated.py (paraphrases overlap ≥ 0.76, different items ≤ 0.64).

The answer cites the curated entry's sources, resolved against the index as it is now: a source document that
was removed is left out, and an entry none of whose sources still exists is skipped (with a warning) rather than
given without a source. Entries are cached in memory and reloaded when the store's version changes (one small
query per question), so every worker serves a publication or withdrawal from its next question on.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from zhengwu.answering.answer import Answer, Citation, Provenance
from zhengwu.chinese import normalize
from zhengwu.documents import expired
from zhengwu.retrieval.query import FIELD_PATTERNS, detect_fields, find_regions
from zhengwu.review.records import CuratedData, compact_question
from zhengwu.review.store import ReviewStore

COSINE_MIN = 0.95
OVERLAP_MIN = 0.7
SNIPPET_CHARS = 160
# "怎么办理/如何申请" asks how in general: it is compatible with a question that names no field at all.
GENERAL_FIELDS = frozenset({"process"})

log = logging.getLogger("zhengwu.review.curated")


def asked_fields(text: str) -> frozenset[str]:
    return frozenset(detect_fields(normalize(text))) - GENERAL_FIELDS


def topic_terms(analyzer, text: str) -> frozenset[str]:
    """Content terms without the words that name a field (申请材料, 咨询电话, 多长时间) or a place: those are
    compared on their own."""
    places = {normalize(p) for p in find_regions(normalize(text))}
    return frozenset(
        t for t in analyzer.content_terms(text)
        if not any(pattern.search(t) for _, pattern in FIELD_PATTERNS) and not any(t in p for p in places)
    )


def weighted_overlap(a: frozenset[str], b: frozenset[str], idf) -> float:
    """Jaccard overlap where each word weighs its inverse document frequency in the corpus."""
    union = a | b
    if not union:
        return 1.0
    total = sum(idf(t) for t in union)
    return sum(idf(t) for t in a & b) / total if total else 0.0


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.dot(a, b)) / norm if norm else 0.0


@dataclass
class _Entry:
    data: CuratedData
    compact: str
    fields: frozenset[str]
    regions: frozenset[str]
    terms: frozenset[str]
    vector: np.ndarray | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Match:
    entry: CuratedData
    how: str  # "exact" or "paraphrase"
    overlap: float = 1.0
    cosine: float = 1.0


class CuratedAnswers:
    # How long a worker trusts its copy before asking the database again: one query per question cost ~7% of
    # a worker's time under load; a publication reaches the other workers within this many seconds.
    REFRESH_SECONDS = 2.0

    def __init__(self, store: ReviewStore, index) -> None:
        self.store = store
        self.index = index
        self._entries: list[_Entry] = []
        self._version: tuple[int, int] | None = None
        self._lock = threading.Lock()
        self._warned: set[int] = set()
        self._checked = 0.0
        self._seen_local = -1

    # -- cache ----------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Reload the published entries if anything was published or withdrawn since the last load."""
        now = time.monotonic()
        local = type(self.store).local_changes
        if local == self._seen_local and now - self._checked < self.REFRESH_SECONDS:
            return
        self._checked, self._seen_local = now, local
        version = self.store.curated_version()
        if version == self._version:
            return
        with self._lock:
            if version == self._version:
                return
            analyzer = self.index.analyzer
            self._entries = [
                _Entry(data=c, compact=compact_question(c.question), fields=asked_fields(c.question),
                       regions=frozenset(find_regions(normalize(c.question))), terms=topic_terms(analyzer, c.question))
                for c in self.store.curated_list(status="published")
            ]
            self._version = version

    # -- matching -------------------------------------------------------------------------------------------
    def matches(self, question: str) -> list[Match]:
        """Published entries the question asks, best first (an exact match alone when there is one)."""
        self.refresh()
        entries = self._entries
        if not entries:
            return []
        compact = compact_question(question)
        exact = [Match(e.data, "exact") for e in entries if e.compact == compact]
        if exact:
            return exact
        fields = asked_fields(question)
        regions = frozenset(find_regions(normalize(question)))
        terms = topic_terms(self.index.analyzer, question)
        idf = self.index.sparse.idf
        found: list[Match] = []
        vector = None
        for entry in entries:
            if entry.fields != fields or entry.regions != regions:
                continue
            overlap = weighted_overlap(terms, entry.terms, idf)
            if overlap < OVERLAP_MIN:
                continue
            embedder = self.index.embedder
            if vector is None:
                vector = embedder.embed_query(question)
            if entry.vector is None:
                entry.vector = embedder.embed_query(entry.data.question)
            similarity = cosine(vector, entry.vector)
            if similarity >= COSINE_MIN:
                found.append(Match(entry.data, "paraphrase", overlap, similarity))
        return sorted(found, key=lambda m: (m.overlap, m.cosine), reverse=True)

    def answer(self, question: str) -> Answer | None:
        """The curated answer to ``question`` with its sources as citations, or None."""
        for match in self.matches(question):
            citations = self._citations(match.entry)
            if citations:
                return Answer(
                    question=question, text=match.entry.answer, status="answered", citations=citations,
                    retrieved=[c.doc_id for c in citations], provenance=Provenance("curated", version=match.entry.version),
                )
            if match.entry.id not in self._warned:
                self._warned.add(match.entry.id)
                log.warning("curated answer %d (v%d) skipped: none of its source documents is in the index and in "
                            "force any more; withdraw it or publish a new version", match.entry.id, match.entry.version)
        return None

    def _citations(self, entry: CuratedData) -> list[Citation]:
        docs = self.index.documents()
        today = date.today()
        out: list[Citation] = []
        for source in entry.sources:
            doc = docs.get(source.doc_id)
            # A withdrawn, repealed or expired source no longer supports the answer, as if it were gone.
            if doc is None or doc.status != "active" or expired(doc.extra, today):
                continue
            chunks = self.index.store.chunks_of(doc.doc_id)
            chosen = [c for c in chunks if source.section and c.section == source.section] or chunks[:1]
            snippet = chosen[0].text[:SNIPPET_CHARS] if chosen else ""
            out.append(Citation(
                n=len(out) + 1, doc_id=doc.doc_id, title=doc.title, section=source.section,
                source_url=doc.source_url or source.source_url, snippet=snippet, region=doc.region,
                doc_type=doc.doc_type, updated=doc.updated,
            ))
        return out

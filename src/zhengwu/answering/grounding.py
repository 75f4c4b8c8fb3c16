"""Does the best evidence actually speak to the question? A backstop after retrieval: places and off-topic
requests are refused earlier, by rule.

Measured on the dev sets (docs/retrieval.md), answerable questions rarely fall below ``MIN_COVERAGE`` of their
words (IDF-weighted) in the best document's title and best chunks; a long question that shares several words
with the evidence is on topic even when its share is small. (Requiring the question's rarest word as well
refused one law question in two: citizens' words are rarely the law's.)
"""

from __future__ import annotations

from zhengwu.answering.scope import TITLE_NAMED
from zhengwu.chinese import normalize
from zhengwu.index import Index
from zhengwu.retrieval.query import without_field_words
from zhengwu.retrieval.retriever import DocHit

MIN_COVERAGE = 0.15
MIN_FOUND_TERMS = 3
EVIDENCE_CHUNKS = 3


def evidence_of(index: Index, hit: DocHit) -> str:
    """The document's best chunks, normalised: what the region and coverage checks read."""
    chunks = index.store.get_chunks([cid for cid, _ in hit.chunks[:EVIDENCE_CHUNKS]])
    return normalize(" ".join(c.text for c in chunks.values()))


def coverage(index: Index, query: str, regions: list[str], hit: DocHit, evidence: str) -> tuple[float, int]:
    """IDF-weighted share of the question's words found in the hit's title and best chunks, and how many
    distinct words were found. Place names are left out: whether a place is covered is decided by region."""
    analyzer = index.analyzer
    places = {normalize(p) for p in regions}
    terms = {t for t in analyzer.content_terms(query) if not any(t in p for p in places)}
    if not terms:
        return 0.0, 0
    evidence = f"{normalize(hit.doc.title)} {evidence}"
    evidence_terms = set(analyzer.tokens(evidence))
    idf = index.sparse.idf
    found = [t for t in terms if t in evidence_terms or t in evidence]
    total = sum(idf(t) for t in terms)
    return (sum(idf(t) for t in found) / total if total else 0.0), len(found)


def names_no_subject(index: Index, query: str) -> bool:
    """A question that asks for a field and names nothing it is about ("材料", "电话是多少"): any document
    that mentions 材料 would "cover" it, and none answers it."""
    return not index.analyzer.content_terms(without_field_words(normalize(query)))


def grounded(index: Index, query: str, regions: list[str], top: DocHit, evidence: str, followup: bool,
             coverage_rule: bool = True) -> bool:
    """True when the best document may answer: named outright, a follow-up on the conversation's item, or
    enough of the question's words in its evidence. Without ``coverage_rule`` the last test is left to the
    answerability model (``answerability``), which reads the passages the answer cites."""
    if top.title >= TITLE_NAMED or followup:
        return True
    if names_no_subject(index, query):
        return False
    if not coverage_rule:
        return True
    share, found = coverage(index, query, regions, top, evidence)
    return share >= MIN_COVERAGE or found >= MIN_FOUND_TERMS

"""Which regions may answer a question, and which places it names that the corpus does not cover.

A guide of 广州市 does not answer a question about 上海市: the places a question names (or the asker's own
region) restrict retrieval to that region and those above it; a place the corpus has no documents for is
refused by name instead of being answered from somewhere else.
"""

from __future__ import annotations

from zhengwu.answering import wording
from zhengwu.chinese import normalize
from zhengwu.documents import NATIONAL
from zhengwu.retrieval.query import Analysis, canonical_region, region_chain
from zhengwu.retrieval.retriever import DocHit, Filters

TITLE_NAMED = 0.9  # title_match at or above this: the question names the item outright


def covered_label(covered: frozenset[str]) -> str:
    """The covered regions as a citizen reads them in a refusal: "北京市、广东省、广州市", or 国家层面."""
    return "、".join(sorted(r for r in covered if r != NATIONAL)) or wording.NATIONAL_LEVEL


def region_filters(analysis: Analysis, user_region: str | None, covered: frozenset[str]) -> tuple[Filters, str | None]:
    """The retrieval filters for the place the question is about, and that place (None: anywhere)."""
    named = [r for r in analysis.regions if r in covered]
    home = canonical_region(user_region)
    place = named[0] if named else home
    if home and named and named[0] in region_chain(home):
        place = home  # "广东…" in a question from Guangzhou: Guangzhou's own items come first
    if not place:
        return Filters(), None
    allowed = tuple(r for r in region_chain(place) if r in covered or r == NATIONAL)
    return Filters(regions=allowed, prefer_region=place), place


def uncovered_regions(analysis: Analysis, hits: list[DocHit], covered: frozenset[str], evidence: str) -> list[str]:
    """The places the question names that none of the indexed documents speaks for."""
    titles = " ".join(normalize(h.doc.title) for h in hits[:3])
    out = []
    for region in analysis.regions:
        if region in covered:
            continue
        chain = region_chain(region)
        # A district inside a covered city is covered by the city's documents.
        if region.endswith(("区", "县")) and len(chain) > 1 and chain[1] in covered:
            continue
        short = region.rstrip("市省")
        if short in titles:
            continue  # the place is part of an item's name (往来台湾通行证, 援藏工作队赴西藏…)
        if short in evidence and hits[0].doc.region == NATIONAL:
            # A document without a region of its own (a KB with no region metadata) that speaks of the
            # place covers it; a Beijing regulation that mentions 天津 in passing does not.
            continue
        if hits and hits[0].title >= TITLE_NAMED and hits[0].doc.region in chain:
            continue  # a provincial item named outright also serves the cities of the province
        out.append(region)
    return out

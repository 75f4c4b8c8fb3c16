"""What the answer is written from, once retrieval has ranked the documents: which guide fields the question
asks for, and which of several same-name guides (one per region) to answer with."""

from __future__ import annotations

from zhengwu.answering.scope import TITLE_NAMED
from zhengwu.chinese import normalize
from zhengwu.retrieval.query import Analysis, detect_fields
from zhengwu.retrieval.retriever import DocHit

SAME_ITEM_WINDOW = 6  # same-name guides are looked for among this many top documents


def fields_asked(analysis: Analysis, top: DocHit) -> list[str]:
    """Fields asked about, read from the question without the item's own name: "司法戒毒执法投诉" names an
    item, it does not ask for the complaint phone."""
    if top.title < TITLE_NAMED:
        return analysis.fields
    text = analysis.text
    for name in (top.doc.title, top.doc.extra.get("item_name", "")):
        if name:
            text = text.replace(normalize(name), " ")
    return detect_fields(text)


def same_item_group(hits: list[DocHit], prefer: str | None) -> list[DocHit] | None:
    """Same-name guides of several regions: the preferred region alone, or one of each region, labelled by
    the composer. None when the top document has no namesake elsewhere."""
    top = hits[0]
    if top.doc.doc_type != "service_guide":
        return None
    name = top.doc.title
    group = [h for h in hits[:SAME_ITEM_WINDOW] if h.doc.doc_type == "service_guide" and h.doc.title == name]
    regions = {h.doc.region for h in group}
    if len(regions) <= 1:
        return None
    if prefer:
        chosen = [h for h in group if h.doc.region == prefer]
        if chosen:
            return chosen[:1]
    firsts: dict[str, DocHit] = {}
    for h in group:
        firsts.setdefault(h.doc.region, h)
    return list(firsts.values())

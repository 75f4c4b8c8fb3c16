"""Numbered citations: how they are numbered while an answer is written, and how every channel shows them.

``CitationList`` gives each (document, section) one number, in the order first cited. ``citation_label`` is the
one spelling of a citation — ``[n] 《title》·section`` — used by plain-text channels (terminal, WeChat, WeCom)
and Telegram's HTML links.
"""

from __future__ import annotations

from collections.abc import Callable

from zhengwu.answering.answer import Answer, Citation
from zhengwu.index.store import DocMeta

SNIPPET_CHARS = 160
SOURCES_HEADING = "参考来源："


def clip(text: str, limit: int) -> str:
    """``text`` trimmed, cut at ``limit`` characters with a Chinese ellipsis when longer."""
    text = text.strip()
    return text if len(text) <= limit else text[:limit].rstrip() + "……"


class CitationList:
    """Citations in the order first cited; ``start`` continues the numbering of an answer's own citations
    (personal notes appended after a grounded answer)."""

    def __init__(self, start: int = 0) -> None:
        self._start = start
        self.items: list[Citation] = []

    def cite(self, doc: DocMeta, section: str, snippet: str = "") -> int:
        """The number of (document, section), given on first use."""
        for c in self.items:
            if c.doc_id == doc.doc_id and c.section == section:
                return c.n
        n = self._start + len(self.items) + 1
        self.items.append(Citation(n, doc.doc_id, doc.title, section, doc.source_url, clip(snippet, SNIPPET_CHARS)
                                   if snippet else "", doc.region, doc.doc_type, doc.updated))
        return n

    def number_of(self, doc_id: str) -> int | None:
        """The first number given to a document, whatever the section."""
        return next((c.n for c in self.items if c.doc_id == doc_id), None)


def citation_label(c: Citation) -> str:
    """``[n] 《title》·section``."""
    where = f"·{c.section}" if c.section else ""
    return f"[{c.n}] 《{c.title}》{where}"


def citation_date(c: Citation) -> str:
    """``（更新于 2024-05-01）`` when the document carries a date, else nothing."""
    return f"（更新于 {c.updated}）" if c.updated else ""


def render_sources(answer: Answer, link: Callable[[Citation], str] | None = None) -> str:
    """The answer's sources as a numbered list under ``参考来源：`` ("" without citations). ``link`` may
    shorten URLs (WeChat's ``/s/…`` links)."""
    if not answer.citations:
        return ""
    lines = [SOURCES_HEADING]
    for c in answer.citations:
        url = link(c) if link else c.source_url
        lines.append(f"{citation_label(c)}{citation_date(c)} {url}".rstrip())
    return "\n".join(lines)


def render_plain(answer: Answer, link: Callable[[Citation], str] | None = None) -> str:
    """The answer's text with its sources as a numbered list: what a text-only channel shows."""
    sources = render_sources(answer, link)
    return f"{answer.text}\n\n{sources}" if sources else answer.text

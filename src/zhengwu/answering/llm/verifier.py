"""Verification of an LLM reply, sentence by sentence, so a streamed reply can be shown as each sentence passes:
every ``[n]`` must name a source the model was given (else nothing in the reply is trusted), and a sentence is
kept only if the source it cites supports it — its words (at least ``MIN_SUPPORT`` of them, the item's title
aside) and, verbatim, every number, phone and date in it. Markup is removed first (``markup``).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from zhengwu.answering.answer import Citation
from zhengwu.answering.citations import SNIPPET_CHARS
from zhengwu.answering.llm.markup import strip_markup
from zhengwu.chinese import FULL_STOPS, normalize, split_sentences
from zhengwu.index.analyzer import default_analyzer
from zhengwu.index.store import DocMeta

log = logging.getLogger("zhengwu.generate")

MIN_SUPPORT = 0.5
_CLAUSE_ENDS = FULL_STOPS + "；"
_CITE = re.compile(r"\[(\d{1,2})\]")
_TRAILING_CITE = re.compile(rf"([{_CLAUSE_ENDS}])((?:\[\d{{1,2}}\])+)")
# Values a sentence may only state if its source states them too: phones, numbers with units, dates.
_VALUE = re.compile(r"\d[\d\-—–.:：/]*\d|\d")
_NOT_COVERED = "现有资料中没有找到相关内容"
# A streamed sentence ends at a clause end or a line break, with the citation markers right after it.
_SENTENCE_END = re.compile(rf"[{_CLAUSE_ENDS}\n]((?:\[\d{{1,2}}\])*)")


@dataclass(frozen=True)
class Source:
    """One numbered source the model may cite."""

    n: int
    doc: DocMeta
    section: str
    text: str


def sentence_pieces(buffer: str, final: bool = False) -> tuple[list[str], str]:
    """Split streamed text into complete sentences and the unfinished rest.

    A sentence is complete once its end mark and any citation markers right after it ("…。[1][2]") have
    arrived and something else follows; at the end of the stream everything left is complete."""
    pieces: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(buffer):
        after = buffer[match.end():]
        if not after or after.startswith("["):
            break  # its citation markers may still be on the way
        pieces.append(buffer[start:match.end()])
        start = match.end()
    rest = buffer[start:]
    if final and rest.strip():
        return pieces + [rest], ""
    return pieces, rest


class Untrusted(ValueError):
    """The reply cited a source it was not given: nothing in it can be trusted."""


class Verifier:
    """Checks a reply sentence by sentence, so a streamed reply can be shown as each sentence passes."""

    def __init__(self, sources: list[Source]) -> None:
        self._by_number = {s.n: s for s in sources}
        self._analyzer = default_analyzer()
        self._renumber: dict[int, int] = {}
        self.citations: list[Citation] = []
        self.kept: list[str] = []
        self.claims = 0
        self.declined = False

    def feed(self, piece: str) -> str:
        """The verified, renumbered text of ``piece`` (possibly empty), markup removed. Raises ``Untrusted``."""
        # Markup goes before anything is checked: a tag is no claim, and what a citizen sees is plain text.
        piece = strip_markup(piece)
        if _NOT_COVERED in piece:
            self.declined = True
        # "……电话是020-1234。[1]": a marker after the full stop belongs to the sentence before it.
        piece = _TRAILING_CITE.sub(r"\2\1", piece)
        out = []
        for sentence in (p for line in piece.splitlines() for p in split_sentences(line)):
            kept = self._check(sentence)
            if kept:
                out.append(kept)
        self.kept.extend(out)
        return "".join(out)

    def feed_all(self, reply: str) -> None:
        """A whole (non-streamed) reply. Raises ``Untrusted``."""
        # Stripped before it is split: "。</div>[1]" must leave the marker with the sentence it follows.
        for piece in sentence_pieces(strip_markup(reply), final=True)[0]:
            self.feed(piece)

    def result(self) -> tuple[str, list[Citation]] | None:
        if self.declined or not self.kept or len(self.kept) * 2 < self.claims:
            return None  # the model declined, or most of what it said is unsupported: use the composer
        return "".join(self.kept), self.citations

    def _check(self, sentence: str) -> str | None:
        by_number = self._by_number
        cited = [int(n) for n in _CITE.findall(sentence)]
        bare = _CITE.sub("", sentence).strip()
        if not bare:
            return None
        if any(n not in by_number for n in cited):
            log.warning("LLM cited a source it was not given: %s", cited)
            raise Untrusted(str(cited))
        words = set(self._analyzer.content_terms(bare))
        if not words and not _VALUE.search(bare):
            return None  # "您好。" and the like: no claim, nothing to keep
        self.claims += 1
        if not cited:
            return None  # a claim without a source is dropped
        titles = normalize(" ".join(by_number[n].doc.title for n in cited))
        evidence = normalize(" ".join(f"{by_number[n].section} {by_number[n].text}" for n in cited))
        values_ok = all(v in evidence for v in _VALUE.findall(normalize(bare)))
        # Words of the item's title only say what the sentence is about; the claim is in the other words.
        claim = {w for w in words if w not in titles}
        support = sum(1 for w in claim if w in evidence) / len(claim) if claim else 1.0
        if not (values_ok and support >= MIN_SUPPORT):
            return None
        marks = []
        for n in cited:
            if n not in self._renumber:
                self._renumber[n] = len(self._renumber) + 1
                s = by_number[n]
                self.citations.append(Citation(self._renumber[n], s.doc.doc_id, s.doc.title, s.section,
                                               s.doc.source_url, s.text[:SNIPPET_CHARS], s.doc.region, s.doc.doc_type,
                                               s.doc.updated))
            marks.append(f"[{self._renumber[n]}]")
        body, end = (bare[:-1], bare[-1]) if bare[-1] in _CLAUSE_ENDS else (bare, "")
        return f"{body}{''.join(dict.fromkeys(marks))}{end}"


def verify(reply: str, sources: list[Source]) -> tuple[str, list[Citation]] | None:
    """Keep the supported sentences of ``reply`` with renumbered citations, or None if it cannot be trusted."""
    if not reply.strip():
        return None
    verifier = Verifier(sources)
    try:
        verifier.feed_all(reply)
    except Untrusted:
        return None
    return verifier.result()

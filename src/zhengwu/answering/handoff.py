"""The reply to a message that is not a question to answer from the sources: a complaint, report, suggestion or
plea (how to lodge it), or a local matter of a place the sources do not cover (where to ask). Either way the
status is ``refused`` with reason ``handoff``, so every channel renders it and evaluation counts it as not
answered; the ``Handoff`` record is what staff see in the console.
"""

from __future__ import annotations

from zhengwu.answering import wording
from zhengwu.answering.answer import Answer, Handoff
from zhengwu.answering.citations import CitationList
from zhengwu.answering.message_kind import MessageKind
from zhengwu.answering.scope import covered_label
from zhengwu.answering.vocabulary import HANDOFF_REASON
from zhengwu.index.store import DocMeta, StoredChunk

REASON = HANDOFF_REASON


def handoff_answer(
    question: str, kind: MessageKind, *, hotline: str, covered: frozenset[str],
    complaint_line: tuple[DocMeta, StoredChunk] | None = None,
) -> Answer:
    """The handoff reply. ``complaint_line`` is a guide of the responsible department that names a complaint
    phone, when one was found for the message's place: quoted and cited."""
    record = Handoff(category=kind.kind, department=kind.department, place=kind.place)
    if kind.kind == "consult":
        text = wording.say(wording.LOCAL_MATTER, hotline, place=kind.place or "当地", covered=covered_label(covered))
        return Answer(question=question, text=text, status="refused", reason=REASON, handoff=record)
    cites = CitationList()
    extra = ""
    if complaint_line is not None:
        doc, chunk = complaint_line
        n = cites.cite(doc, chunk.section, chunk.text)
        extra = wording.HANDOFF_COMPLAINT_LINE.format(department=doc.department, phone=chunk.text.strip(), n=n)
    text = wording.say(wording.HANDOFF, hotline, label=kind.label, extra=extra)
    return Answer(question=question, text=text, status="refused", reason=REASON, citations=cites.items,
                  handoff=record)

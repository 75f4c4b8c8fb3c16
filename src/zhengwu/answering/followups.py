"""Follow-up questions: "那需要什么材料？" after a question about an item asks about that item."""

from __future__ import annotations

from zhengwu.answering.scope import TITLE_NAMED
from zhengwu.answering.seams import Generator
from zhengwu.answering.sessions import Session
from zhengwu.retrieval.query import Analysis
from zhengwu.retrieval.retriever import Filters, Retriever

SHORT_FIELD_QUESTION = 14  # characters: "材料呢" and "要带什么证件" are follow-ups, a full question is not


def resolve_followup(
    analysis: Analysis, state: Session, retriever: Retriever, generator: Generator | None
) -> tuple[str, bool]:
    """The text to retrieve with, and whether the question follows up on the conversation's item.

    The question as asked (the model and the tokenizer normalise it themselves), prefixed with the item's
    title for a follow-up; an LLM, when configured, first rewrites the follow-up as a standalone question."""
    question = analysis.raw
    if not state.subject_title:
        return question, False
    if not (analysis.followup or (analysis.fields and len(analysis.text) <= SHORT_FIELD_QUESTION)):
        return question, False
    named = retriever.retrieve(question, Filters(), k=1)
    if named and named[0].title >= TITLE_NAMED:
        return question, False  # short, but it names an item of its own
    if generator is not None:
        rewritten = generator.rewrite(state.subject_title, question)
        if rewritten:
            return f"{state.subject_title} {rewritten}", True
    return f"{state.subject_title} {question}", True

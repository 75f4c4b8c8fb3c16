"""The first checks on a question, before anything is retrieved: input a person could not have meant as a
question (empty, too long, not Chinese, unreadable), and requests a government assistant declines whatever
the corpus holds (someone's personal data, requests outside public services)."""

from __future__ import annotations

from zhengwu.answering import wording
from zhengwu.answering.answer import Answer
from zhengwu.chinese import han_ratio, looks_english
from zhengwu.pii import mask_pii
from zhengwu.retrieval.query import Analysis

MIN_HAN_RATIO = 0.2  # below this share of Chinese characters a question is not readable as Chinese
ECHOED_CHARS = 200  # of a question too long to answer, the part kept in the answer (and the transcript)


def clean_question(question: str) -> str:
    """Printable text, trimmed, with ID and mobile numbers masked: a number never helps retrieval, and masked
    here it reaches no prompt, log or transcript (nor the question of an answer that asks back)."""
    cleaned = "".join(ch for ch in question if ch.isprintable() or ch in "\n\t").strip()
    return mask_pii(cleaned)


def input_problem(text: str, max_chars: int, hotline: str) -> Answer | None:
    """A ``clarify`` answer for input that is not a question we can read; None for a readable question."""
    if not text:
        return Answer(question=text, status="clarify", reason="empty", text=wording.EMPTY)
    if len(text) > max_chars:
        return Answer(question=text[:ECHOED_CHARS], status="clarify", reason="too_long",
                      text=wording.say(wording.TOO_LONG, hotline, length=len(text), limit=max_chars))
    if looks_english(text):
        return Answer(question=text, status="clarify", reason="language",
                      text=wording.say(wording.NOT_CHINESE, hotline))
    if han_ratio(text) < MIN_HAN_RATIO:
        return Answer(question=text, status="clarify", reason="unreadable", text=wording.UNREADABLE)
    return None


def refuse(question: str, reason: str, text: str) -> Answer:
    return Answer(question=question, text=text, status="refused", reason=reason)


def declined(question: str, analysis: Analysis, hotline: str) -> Answer | None:
    """A refusal for someone's personal data, for help to deceive an authority or break a rule, or for a request
    outside public services; None otherwise."""
    if analysis.personal_lookup:
        return refuse(question, "personal_data", wording.say(wording.PERSONAL_DATA, hotline))
    if analysis.unlawful:
        return refuse(question, "unlawful", wording.say(wording.UNLAWFUL, hotline))
    if analysis.out_of_scope:
        return refuse(question, "out_of_scope", wording.say(wording.OUT_OF_SCOPE, hotline))
    return None

"""The seams of the ``Assistant``: what it needs from the layers above it, as Protocols.

The assistant knows no database, no staff console and no model server. The composition root
(``zhengwu.bootstrap``) plugs in the implementations — the people store as the ``TurnLog``, the review store's
``CuratedAnswers``, the LLM ``Generator``, the ``Personaliser`` — or leaves a seam empty (``None``), and the
assistant then answers without it. Tests plug in small doubles.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from zhengwu.answering.answer import Answer, Citation, Handoff
from zhengwu.answering.sessions import Session
from zhengwu.index.store import ChunkStore, DocMeta
from zhengwu.retrieval.retriever import DocHit


class CuratedAnswers(Protocol):
    """Staff-approved answers, preferred for the question they were written for and its paraphrases."""

    def answer(self, question: str) -> Answer | None: ...


class TurnLog(Protocol):
    """Where each conversation turn is recorded (masked) for feedback, review and the citizen's export."""

    def log_turn(
        self, session_id: str, user_id: int | None, channel: str, question: str, answer: str, status: str, *,
        citations: Sequence[Citation] = (), retrieved: Sequence[str] = (), path: str = "", reason: str = "",
        latency_ms: float | None = None, handoff: Handoff | None = None, also: Callable[[Any], None] | None = None,
    ) -> int:
        """Record the turn; ``also(connection)`` runs inside the same transaction."""


class TurnSessions(Protocol):
    """A session store that can write inside the turn log's transaction (both in one database)."""

    def save_in(self, connection: Any, session: Session, user_id: int | None = None) -> None: ...


class Generator(Protocol):
    """Writes an answer from the retrieved sources (an LLM), verified before it is returned."""

    def answer(
        self, question: str, hits: list[DocHit], store: ChunkStore, fields: Sequence[str] = ...,
        on_delta: Callable[[str], None] | None = None,
    ) -> Answer | None:
        """A verified answer, or None: the assistant then composes one itself."""

    def rewrite(self, subject_title: str, question: str) -> str | None:
        """A follow-up ("电话呢？") rewritten as a standalone question, or None."""


class PersonalContext(Protocol):
    """What the assistant reads of a consenting citizen (the personal-data package builds it)."""

    @property
    def user_id(self) -> int | None: ...

    @property
    def region(self) -> str | None: ...

    @property
    def tags(self) -> list[str]: ...

    @property
    def linked(self) -> bool:
        """The channel identity is linked to a verified profile: only then is their own history read back."""


class Personaliser(Protocol):
    """Answers only the asker's own data can give, and personal notes added after a grounded answer."""

    def status_answer(self, question: str, ctx: PersonalContext) -> Answer: ...

    def next_step_answer(self, question: str, ctx: PersonalContext) -> Answer | None: ...

    def suggestion_answer(
        self, question: str, ctx: PersonalContext, retrieve: Callable[[str], DocMeta | None]
    ) -> Answer | None: ...

    def decorate(self, answer: Answer, top: DocMeta | None, fields: list[str], ctx: PersonalContext) -> None: ...

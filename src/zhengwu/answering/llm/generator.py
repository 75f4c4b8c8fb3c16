"""The optional LLM generator: any OpenAI-compatible endpoint (vLLM, Ollama, Xinference, DashScope, DeepSeek)
through LangChain's ``ChatOpenAI``.

Retrieval always comes first; the model sees only the numbered sources and the question. Its reply is then
stripped of markup (``markup``) and verified (``verifier``): every ``[n]`` must name a source it was given, every
sentence must be supported by the source it cites. Unsupported sentences are dropped; if too little survives, or
the model fails or times out, the caller falls back to the offline composer. Nothing the sources do not say
reaches a citizen.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from pydantic import SecretStr

from zhengwu.answering.answer import Answer, Provenance
from zhengwu.answering.llm.markup import MarkupStream, strip_markup
from zhengwu.answering.llm.prompts import load_prompt
from zhengwu.answering.llm.verifier import Source, Untrusted, Verifier, sentence_pieces
from zhengwu.config import Settings, secret
from zhengwu.documents.screen import strip_instructions
from zhengwu.index.store import ChunkStore
from zhengwu.retrieval.retriever import DocHit

log = logging.getLogger("zhengwu.generate")

MAX_SOURCES = 5
SOURCE_CHARS = 700


class LLMGenerator:
    def __init__(self, settings: Settings) -> None:
        from langchain_openai import ChatOpenAI

        key = SecretStr(secret(settings.llm_api_key) or "not-needed")
        self._llm = ChatOpenAI(
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            api_key=key,
            timeout=settings.llm_timeout_seconds,
            max_retries=0,  # a slow model must not hold a citizen hostage: fall back instead
            temperature=0,
        )
        self._prompts = settings.prompts_dir
        self.model = settings.llm_model

    # -- answering ------------------------------------------------------------------------------------------
    def answer(
        self, question: str, hits: list[DocHit], store: ChunkStore, fields: Sequence[str] = (),
        on_delta: Callable[[str], None] | None = None,
    ) -> Answer | None:
        """A verified LLM answer, or None when the caller should use the offline composer.

        With ``on_delta`` the reply is streamed: each sentence is passed on as soon as it has arrived and
        passed verification. If the reply later turns out untrustworthy, None is returned all the same and
        the caller must tell its listener to discard what it was shown."""
        sources = build_sources(hits, store, fields)
        if not sources:
            return None
        system = load_prompt(self._prompts, "system")
        user = load_prompt(self._prompts, "answer")
        listing = "\n\n".join(f"[{s.n}] 《{s.doc.title}》{s.section}\n{s.text}" for s in sources)
        messages = self._messages(system.text, user.format(sources=listing, question=question))
        verifier = Verifier(sources)
        try:
            if on_delta is None:
                verifier.feed_all(self._text(self._llm.invoke(messages)))
            else:
                self._stream(messages, verifier, on_delta)
        except Untrusted:
            return None
        except Exception as exc:  # noqa: BLE001 - timeouts, HTTP errors, bad JSON: all mean "fall back"
            log.warning("LLM failed, falling back to the composer: %s", type(exc).__name__)
            return None
        verified = verifier.result()
        if verified is None:
            return None
        text, citations = verified
        return Answer(question=question, text=text, status="answered", citations=citations,
                      provenance=Provenance("llm", model=self.model, prompts=(system.label, user.label)))

    def _stream(self, messages: list, verifier: Verifier, on_delta: Callable[[str], None]) -> None:
        def pass_on(pieces: list[str]) -> None:
            for piece in pieces:
                if verifier.declined:
                    return
                shown = verifier.feed(piece)
                if shown and not verifier.declined:
                    on_delta(shown)

        # Markup is removed before sentences are split: a tag may span chunks, or hold a full stop ("<a title='。'>").
        markup = MarkupStream()
        buffer = ""
        for chunk in self._llm.stream(messages):
            pieces, buffer = sentence_pieces(buffer + markup.feed(self._text(chunk)))
            pass_on(pieces)
            if verifier.declined:
                return
        pass_on(sentence_pieces(buffer + markup.flush(), final=True)[0])

    def rewrite(self, subject_title: str, question: str) -> str | None:
        """A follow-up rewritten into a standalone question, or None (the caller then resolves it itself)."""
        prompt = load_prompt(self._prompts, "condense")
        try:
            reply = self._invoke(None, prompt.format(history=f"市民上一轮询问的事项：{subject_title}", question=question))
        except Exception as exc:  # noqa: BLE001
            log.warning("LLM rewrite failed: %s", type(exc).__name__)
            return None
        reply = strip_markup(reply)
        rewritten = reply.strip().splitlines()[0].strip() if reply.strip() else ""
        return rewritten[:200] or None

    def _invoke(self, system: str | None, user: str) -> str:
        return self._text(self._llm.invoke(self._messages(system, user)))

    @staticmethod
    def _messages(system: str | None, user: str) -> list:
        from langchain_core.messages import HumanMessage, SystemMessage

        return ([SystemMessage(system)] if system else []) + [HumanMessage(user)]

    @staticmethod
    def _text(message) -> str:
        content = message.content
        return content if isinstance(content, str) else str(content)


def build_sources(hits: list[DocHit], store: ChunkStore, fields: Sequence[str] = ()) -> list[Source]:
    """The numbered sources the model may use, bounded in length: for a guide the fields asked about (its
    basic facts otherwise), for other documents their best-matching chunks."""
    sources: list[Source] = []
    for h in hits[:MAX_SOURCES]:
        picked = []
        if h.doc.doc_type == "service_guide":
            own = store.chunks_of(h.doc.doc_id)
            picked = [c for c in own if c.field in fields] or [c for c in own if c.field == "basic"]
        if not picked:
            chunk_ids = [cid for cid, _ in h.chunks[:2]]
            chunks = store.get_chunks(chunk_ids)
            picked = [chunks[c] for c in chunk_ids if c in chunks] or store.chunks_of(h.doc.doc_id)[:2]
        for chunk in picked[:2]:
            text = without_instructions(chunk.text, h.doc.doc_id)
            if text:
                sources.append(Source(len(sources) + 1, h.doc, chunk.section, text[:SOURCE_CHARS]))
    return sources


def without_instructions(text: str, doc_id: str = "") -> str:
    """Defence in depth for indexes built before ingestion screened documents (see ``safety``)."""
    clean, dropped = strip_instructions(text)
    if dropped:
        log.warning("dropped %d instruction-like sentence(s) from document %s before prompting", dropped, doc_id)
    return clean.strip()



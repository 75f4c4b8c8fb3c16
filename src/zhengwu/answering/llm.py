"""The optional LLM generator: any OpenAI-compatible endpoint (vLLM, Ollama, Xinference, DashScope, DeepSeek)
through LangChain's ``ChatOpenAI``.

Retrieval always comes first; the model sees only the numbered sources and the question. Its reply is then
verified: every ``[n]`` must name a source it was given, every sentence must be supported by the source it
cites (its words, and verbatim every number, phone and date in it). Unsupported sentences are dropped; if too
little survives, or the model fails or times out, the caller falls back to the offline composer. Nothing the
sources do not say reaches a citizen.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from zhengwu.answering.answer import Answer, Citation
from zhengwu.config import Settings
from zhengwu.answering.prompts import load_prompt
from zhengwu.retrieval.retriever import DocHit
from zhengwu.documents.screen import strip_instructions
from zhengwu.index.store import ChunkStore, DocMeta
from zhengwu.index.analyzer import default_analyzer, normalize, split_sentences

log = logging.getLogger("zhengwu.generate")

MAX_SOURCES = 5
SOURCE_CHARS = 700
MIN_SUPPORT = 0.5
_CITE = re.compile(r"\[(\d{1,2})\]")
_TRAILING_CITE = re.compile(r"([。！？；])((?:\[\d{1,2}\])+)")
# Values a sentence may only state if its source states them too: phones, numbers with units, dates.
_VALUE = re.compile(r"\d[\d\-—–.:：/]*\d|\d")
_NOT_COVERED = "现有资料中没有找到相关内容"
_SENTENCE_END = re.compile(r"[。！？；\n]((?:\[\d{1,2}\])*)")


@dataclass(frozen=True)
class Source:
    n: int
    doc: DocMeta
    section: str
    text: str


class LLMUnavailable(RuntimeError):
    pass


class LLMGenerator:
    def __init__(self, settings: Settings) -> None:
        from langchain_openai import ChatOpenAI

        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "not-needed"
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
        self, question: str, hits: list[DocHit], store: ChunkStore, fields: list[str] = (),
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
                      path=f"llm:{self.model}:{system.label}+{user.label}")

    def _stream(self, messages: list, verifier: Verifier, on_delta: Callable[[str], None]) -> None:
        def pass_on(pieces: list[str]) -> None:
            for piece in pieces:
                if verifier.declined:
                    return
                shown = verifier.feed(piece)
                if shown and not verifier.declined:
                    on_delta(shown)

        buffer = ""
        for chunk in self._llm.stream(messages):
            pieces, buffer = sentence_pieces(buffer + self._text(chunk))
            pass_on(pieces)
            if verifier.declined:
                return
        pass_on(sentence_pieces(buffer, final=True)[0])

    def rewrite(self, subject_title: str, question: str) -> str | None:
        """A follow-up rewritten into a standalone question, or None (the caller then resolves it itself)."""
        prompt = load_prompt(self._prompts, "condense")
        try:
            reply = self._invoke(None, prompt.format(history=f"市民上一轮询问的事项：{subject_title}", question=question))
        except Exception as exc:  # noqa: BLE001
            log.warning("LLM rewrite failed: %s", type(exc).__name__)
            return None
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


def build_sources(hits: list[DocHit], store: ChunkStore, fields: list[str] = ()) -> list[Source]:
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
        """The verified, renumbered text of ``piece`` (possibly empty). Raises ``Untrusted``."""
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
        for piece in sentence_pieces(reply, final=True)[0]:
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
                                               s.doc.source_url, s.text[:160], s.doc.region, s.doc.doc_type))
            marks.append(f"[{self._renumber[n]}]")
        body, end = (bare[:-1], bare[-1]) if bare[-1] in "。！？；" else (bare, "")
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

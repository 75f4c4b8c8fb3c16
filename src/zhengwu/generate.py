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
from dataclasses import dataclass

from .answer import Answer, Citation
from .config import Settings
from .prompts import load_prompt
from .retriever import DocHit
from .store import ChunkStore, DocMeta
from .text import default_analyzer, normalize, split_sentences

log = logging.getLogger("zhengwu.generate")

MAX_SOURCES = 5
SOURCE_CHARS = 700
MIN_SUPPORT = 0.5
_CITE = re.compile(r"\[(\d{1,2})\]")
_TRAILING_CITE = re.compile(r"([。！？；])((?:\[\d{1,2}\])+)")
# Values a sentence may only state if its source states them too: phones, numbers with units, dates.
_VALUE = re.compile(r"\d[\d\-—–.:：/]*\d|\d")
_NOT_COVERED = "现有资料中没有找到相关内容"


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
    def answer(self, question: str, hits: list[DocHit], store: ChunkStore, fields: list[str] = ()) -> Answer | None:
        """A verified LLM answer, or None when the caller should use the offline composer."""
        sources = build_sources(hits, store, fields)
        if not sources:
            return None
        system = load_prompt(self._prompts, "system")
        user = load_prompt(self._prompts, "answer")
        listing = "\n\n".join(f"[{s.n}] 《{s.doc.title}》{s.section}\n{s.text}" for s in sources)
        try:
            reply = self._invoke(system.text, user.format(sources=listing, question=question))
        except Exception as exc:  # noqa: BLE001 - timeouts, HTTP errors, bad JSON: all mean "fall back"
            log.warning("LLM failed, falling back to the composer: %s", type(exc).__name__)
            return None
        verified = verify(reply, sources)
        if verified is None:
            return None
        text, citations = verified
        return Answer(question=question, text=text, status="answered", citations=citations,
                      path=f"llm:{self.model}:{system.label}+{user.label}")

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
        from langchain_core.messages import HumanMessage, SystemMessage

        messages = ([SystemMessage(system)] if system else []) + [HumanMessage(user)]
        content = self._llm.invoke(messages).content
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
            sources.append(Source(len(sources) + 1, h.doc, chunk.section, chunk.text[:SOURCE_CHARS]))
    return sources


def verify(reply: str, sources: list[Source]) -> tuple[str, list[Citation]] | None:
    """Keep the supported sentences of ``reply`` with renumbered citations, or None if it cannot be trusted."""
    if not reply.strip() or _NOT_COVERED in reply:
        return None
    by_number = {s.n: s for s in sources}
    analyzer = default_analyzer()
    kept: list[tuple[str, list[int]]] = []
    claims = 0
    # "……电话是020-1234。[1]": a marker after the full stop belongs to the sentence before it.
    reply = _TRAILING_CITE.sub(r"\2\1", reply)
    for sentence in (p for line in reply.splitlines() for p in split_sentences(line)):
        cited = [int(n) for n in _CITE.findall(sentence)]
        bare = _CITE.sub("", sentence).strip()
        if not bare:
            continue
        if any(n not in by_number for n in cited):
            log.warning("LLM cited a source it was not given: %s", cited)
            return None  # a made-up reference: nothing in this reply can be trusted
        words = {w for w in analyzer.content_terms(bare)}
        if not words and not _VALUE.search(bare):
            continue  # "您好。" and the like: no claim, nothing to keep
        claims += 1
        if not cited:
            continue  # a claim without a source is dropped
        titles = normalize(" ".join(by_number[n].doc.title for n in cited))
        evidence = normalize(" ".join(f"{by_number[n].section} {by_number[n].text}" for n in cited))
        values_ok = all(v in evidence for v in _VALUE.findall(normalize(bare)))
        # Words of the item's title only say what the sentence is about; the claim is in the other words.
        claim = {w for w in words if w not in titles}
        support = sum(1 for w in claim if w in evidence) / len(claim) if claim else 1.0
        if values_ok and support >= MIN_SUPPORT:
            kept.append((bare, cited))
    if not kept or len(kept) * 2 < claims:
        return None  # most of what the model said is unsupported: use the composer instead
    renumber: dict[int, int] = {}
    citations: list[Citation] = []
    lines = []
    for sentence, cited in kept:
        marks = []
        for n in cited:
            if n not in renumber:
                renumber[n] = len(renumber) + 1
                s = by_number[n]
                citations.append(Citation(renumber[n], s.doc.doc_id, s.doc.title, s.section, s.doc.source_url,
                                          s.text[:160], s.doc.region, s.doc.doc_type))
            marks.append(f"[{renumber[n]}]")
        body, end = (sentence[:-1], sentence[-1]) if sentence[-1] in "。！？；" else (sentence, "")
        lines.append(f"{body}{''.join(dict.fromkeys(marks))}{end}")
    return "".join(lines), citations

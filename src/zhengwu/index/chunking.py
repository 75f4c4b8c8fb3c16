"""Stage 2: structure-aware Chinese chunking. Document -> list[Chunk].

- A service guide is split by its fields (申请材料, 办理地点, 咨询电话 ...); each chunk keeps the item name and region.
- A law is split by 章/节 and 条; an article is never split; each chunk keeps the law's title and article number.
- Anything else is split by headings, then at sentence ends (。！？；) into pieces of bounded length.

Chunk ids are stable: they depend on the document id and the chunk's place in the structure, not on timing.
Their grammar is ``<doc_id>#<part>`` (``part``: the field key, the article number, ``card``, a heading or a
counter); ``make_chunk_id``, ``doc_id_of`` and ``is_card`` below are the only code that builds or reads it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from zhengwu.chinese import split_sentences
from zhengwu.documents import Document
from zhengwu.documents.guide_fields import KEY_OF_HEADING

MAX_CHUNK_CHARS = 400
LAW_CARD_CHARS = 100

_SEPARATOR = "#"
CARD = "card"


def make_chunk_id(doc_id: str, part: str) -> str:
    """The id of a document's chunk: ``<doc_id>#<part>``."""
    return f"{doc_id}{_SEPARATOR}{part}"


def doc_id_of(chunk_id: str) -> str:
    """The document a chunk id belongs to."""
    return chunk_id.split(_SEPARATOR, 1)[0]


def is_card(chunk_id: str) -> bool:
    """A document's summary card (one per guide and law): a bounded summary, not the text itself."""
    return chunk_id.endswith(_SEPARATOR + CARD)


# "## 申请材料 ##": the marks and the text. Trailing marks are stripped in Python: a lazy group followed by
# optional spaces and marks backtracks quadratically on a long line of spaces (a 4 KB line took a minute).
_HEADING = re.compile(r"^(#{1,6})\s+(\S.*)$")


def _heading(line: str) -> tuple[int, str] | None:
    """(level, text) of a Markdown heading line, else None."""
    found = _HEADING.match(line)
    if found is None:
        return None
    text = found.group(2).rstrip().rstrip("#").rstrip()
    return (len(found.group(1)), text) if text else None
_ARTICLE = re.compile(r"^\s*(第[一二三四五六七八九十百千零〇两\d]+条(?:之[一二三四五六七八九十]+)?)[\s　]+")


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    doc_id: str
    ordinal: int
    section: str  # the guide field heading, the article number, or the heading path
    text: str  # what is cited and quoted
    kind: str = "text"  # "field" | "article" | "card" | "text"
    field: str = ""  # guide field key, e.g. "phone"
    embed: bool = False  # whether this chunk gets a dense vector
    context: str = ""  # title and region (or heading path) prepended for retrieval, never shown alone

    @property
    def search_text(self) -> str:
        """What BM25 reads: context, section and text (see ``Analyzer.chunk_tokens``)."""
        return f"{self.context}\n{self.body_text}"

    @property
    def body_text(self) -> str:
        return f"{self.section}\n{self.text}"


def chunk_document(doc: Document, *, dense_scope: str = "auto") -> list[Chunk]:
    if doc.doc_type == "service_guide":
        chunks = _chunk_guide(doc)
    elif doc.doc_type == "law":
        chunks = _chunk_law(doc)
    else:
        chunks = _chunk_generic(doc)
    if dense_scope == "all":
        chunks = [_with(c, embed=True) for c in chunks]
    elif dense_scope == "cards":
        # The old, cheaper layout: laws reached by meaning only through their card (articles by BM25 alone).
        chunks = [_with(c, embed=False) if c.kind == "article" else c for c in chunks]
    return chunks


def embed_text(chunk: Chunk, max_chars: int) -> str:
    """The bounded text that represents a chunk in the dense index."""
    if chunk.kind == "card" or chunk.text.startswith(chunk.context[:20]):
        text = chunk.text  # a JSONL title is often the answer's first sentence: do not embed it twice
    else:
        text = f"{chunk.context} {chunk.section} {chunk.text}"
    return re.sub(r"\s+", " ", text).strip()[:max_chars]


def _with(chunk: Chunk, **changes) -> Chunk:
    values = {**chunk.__dict__, **changes}
    return Chunk(**values)


def _sections(body: str) -> list[tuple[list[str], str]]:
    """Split Markdown into (heading path, text) pairs; text before any heading has an empty path."""
    out: list[tuple[list[str], str]] = []
    path: list[tuple[int, str]] = []
    lines: list[str] = []

    def flush() -> None:
        text = "\n".join(lines).strip()
        if text:
            out.append(([h for _, h in path], text))
        lines.clear()

    for line in body.splitlines():
        match = _heading(line)
        if match:
            flush()
            level = match[0]
            path = [p for p in path if p[0] < level] + [(level, match[1])]
        else:
            lines.append(line)
    flush()
    return out


def _split_long(text: str, limit: int = MAX_CHUNK_CHARS) -> list[str]:
    """Pieces of at most ``limit`` characters, cut at sentence ends (a longer sentence is cut hard)."""
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    current = ""
    for sentence in split_sentences(text):
        while len(sentence) > limit:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(sentence[:limit])
            sentence = sentence[limit:]
        if len(current) + len(sentence) > limit and current:
            pieces.append(current)
            current = ""
        current += sentence
    if current.strip():
        pieces.append(current)
    return [p.strip() for p in pieces if p.strip()]


def _guide_context(doc: Document) -> str:
    name = doc.extra.get("item_name") or doc.title
    label = doc.title if name in doc.title else f"{doc.title}（{name}）"
    return f"{doc.region} {label}"


def _chunk_guide(doc: Document) -> list[Chunk]:
    context = _guide_context(doc)
    chunks: list[Chunk] = []
    for path, text in _sections(doc.body):
        heading = path[-1] if path else ""
        if len(path) <= 1 and not heading:
            continue  # the "# title" line alone carries nothing the card does not
        key = KEY_OF_HEADING.get(heading, "")
        for n, piece in enumerate(_split_long(text, 800)):
            suffix = f"-{n}" if n else ""
            chunks.append(
                Chunk(
                    chunk_id=make_chunk_id(doc.doc_id, f"{key or heading}{suffix}"),
                    doc_id=doc.doc_id,
                    ordinal=len(chunks),
                    section=heading,
                    text=piece,
                    kind="field",
                    field=key,
                    context=context,
                )
            )
    card = _guide_card(doc, chunks)
    return [card, *chunks]


def _guide_card(doc: Document, chunks: list[Chunk]) -> Chunk:
    """One short dense summary per guide: what the item is, who runs it, for whom."""
    basic = next((c.text for c in chunks if c.field == "basic"), "")
    # Short on purpose: e5 costs about a second per 1,000 characters on two cores, and the sparse leg already
    # reads every field. The card says what the item is and who runs it.
    wanted = ("实施主体", "主题分类")
    facts = [line.lstrip("- ").strip() for line in basic.splitlines() if line.lstrip("- ").startswith(wanted)]
    text = f"{doc.title}。{doc.region}。" + "；".join(facts)
    return Chunk(
        chunk_id=make_chunk_id(doc.doc_id, CARD),
        doc_id=doc.doc_id,
        ordinal=-1,
        section="事项概要",
        text=text,
        kind="card",
        embed=True,
        context=_guide_context(doc),
    )


def _chunk_law(doc: Document) -> list[Chunk]:
    context = doc.title
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    preamble: list[str] = []
    current: tuple[str, list[str], str] | None = None  # (article label, lines, heading path)

    def flush() -> None:
        nonlocal current
        if current is None:
            return
        label, lines, where = current
        text = "\n".join(lines).strip()
        count = seen.get(label, 0)
        seen[label] = count + 1
        key = label if count == 0 else f"{label}-{count}"
        chunks.append(
            Chunk(
                chunk_id=make_chunk_id(doc.doc_id, key),
                doc_id=doc.doc_id,
                ordinal=len(chunks),
                section=label,
                text=text,
                kind="article",
                # Every article gets a vector: citizens rarely use a law's own words, BM25 alone misses them.
                embed=True,
                context=f"{context} {where}".strip(),
            )
        )
        current = None

    path: list[tuple[int, str]] = []
    for line in doc.body.splitlines():
        heading = _heading(line)
        if heading:
            flush()
            level, title = heading
            if level == 1:
                continue
            path = [p for p in path if p[0] < level] + [(level, title)]
            continue
        article = _ARTICLE.match(line)
        if article:
            flush()
            current = (article.group(1), [line.strip()], " ".join(t for _, t in path))
        elif current is not None:
            current[1].append(line)
        elif line.strip() and not line.startswith(">"):
            preamble.append(line.strip())
    flush()

    if not chunks:
        # A text without 第X条 articles (a decision, a notice): fall back to headings and sentences.
        return _chunk_generic(doc)
    if preamble:
        text = "\n".join(preamble)
        for n, piece in enumerate(_split_long(text)):
            chunks.append(
                Chunk(make_chunk_id(doc.doc_id, f"preamble-{n}"), doc.doc_id, len(chunks), "序言", piece, "text",
                      embed=True, context=context)
            )
    # The title and the purpose clause (第一条 为了……制定本法) say what a law is about; bounded for speed.
    first = re.sub(r"^第[^条]{1,8}条\s*", "", chunks[0].text) if chunks else ""
    card_text = f"{doc.title}。{first}"[:LAW_CARD_CHARS]
    card = Chunk(make_chunk_id(doc.doc_id, CARD), doc.doc_id, -1, "概要", card_text, "card", embed=True, context=context)
    return [card, *chunks]


def _chunk_generic(doc: Document) -> list[Chunk]:
    chunks: list[Chunk] = []
    for path, text in _sections(doc.body) or [([], doc.body)]:
        where = " / ".join(p for p in path if p != doc.title)
        for piece in _split_long(text):
            chunks.append(
                Chunk(
                    chunk_id=make_chunk_id(doc.doc_id, str(len(chunks))),
                    doc_id=doc.doc_id,
                    ordinal=len(chunks),
                    section=where,
                    text=piece,
                    kind="text",
                    embed=True,
                    context=doc.title,
                )
            )
    return chunks

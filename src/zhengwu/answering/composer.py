"""The offline composer: builds the answer in Simplified Chinese from retrieved text only.

Every sentence it writes is either a fixed frame (「…」（region · department）, "- 咨询电话：", "办事指南未列出…")
or text copied from a chunk, and every copied piece carries the number of the citation it came from. It is the
fallback an LLM generator plugs in front of.

What an answer looks like:

- a service guide: the item, its region and department once, then the fields asked as a short list
  (``- 咨询电话：020-83113500 [1]``; materials as sub-items). A field the guide leaves empty is said so, with the
  guide's phone; when a retrieved law states it, that article follows, cited (婚姻登记条例 第五条 lists what
  结婚登记 needs when the guide's 申请材料 is "无"). With no window to go to: the platform, the phone, and the
  office the item's conditions name.
- law articles: the one sentence that answers (``sentences.lead_sentence``), then its article quoted with the
  same number; at most three articles, a further one only when it shares what the question is about.
- policies and FAQ answers: the passages that answer, led by the sentence that answers the field asked.
"""

from __future__ import annotations

import re

from zhengwu.answering.answer import Answer
from zhengwu.answering.citations import CitationList, clip
from zhengwu.answering.sentences import (
    FIELD_CUES,
    OFFICE_CUE,
    Asked,
    lead_sentence,
    matching_sentence,
    shared_terms,
)
from zhengwu.documents.document import NATIONAL
from zhengwu.documents.guide_fields import LABELS
from zhengwu.index.store import ChunkStore, DocMeta, StoredChunk
from zhengwu.retrieval.retriever import DocHit

__all__ = ["FIELD_CUES", "compose"]

MAX_QUOTE = 600
MAX_ARTICLES = 3  # at most this many citations in an article answer
SECOND_LAW_MARGIN = 0.1
# How much an article's score (share of the law's best) rises for holding what is asked.
VALUE_BONUS, CUE_BONUS, LIST_BONUS = 0.35, 0.15, 0.2
LIST_CUE = re.compile(r"下列|以下")
FALLBACK_LAWS = 5  # a field a guide leaves empty may be answered by a law among this many top documents
EMPTY = ("", "无", "暂无", "—")
ITEM_INDENT = "  "
NOT_LISTED = "- 办事指南未列出"
# Fields a law may state when a guide leaves them empty (a law says what is needed, where, how long, for whom,
# at what cost; it has no phone number or online platform).
LAW_FIELDS = ("materials", "location", "time_limit", "conditions", "fee")


def _empty(value: str) -> bool:
    """A field value that says nothing ("无", "暂无", blank): as ``ChunkStore.fields_of`` counts it."""
    return value.strip().strip("-：: ").strip() in EMPTY


def _kv(text: str) -> dict[str, str]:
    """'- 承诺办结时限：7个工作日' lines -> {'承诺办结时限': '7个工作日'}."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip().lstrip("-*").strip()
        key, sep, value = line.partition("：")
        if sep:
            out[key.strip()] = value.strip()
    return out


def _header(doc: DocMeta) -> str:
    """「居住证办理进度查询」（广东省 · 广东省公安厅）: said once, above the item's fields."""
    where = doc.region if doc.region and doc.region != NATIONAL else ""
    parts = [p for p in (where, doc.department) if p]
    return f"「{doc.title}」" + (f"（{' · '.join(parts)}）" if parts else "")


class GuideWriter:
    """The fields asked of one service guide, as list lines under the item's header. ``missing`` collects the
    fields asked that the guide leaves empty, for the composer to look up elsewhere; ``no_window`` says that its
    办理地点 names no window to go to ("无线下办理窗口")."""

    def __init__(self, doc: DocMeta, chunks: list[StoredChunk], cites: CitationList) -> None:
        self.doc = doc
        self.fields = {c.field: c for c in chunks if c.field}
        self.cites = cites
        self.missing: list[str] = []
        self.no_window = False
        self.wanted: list[str] = []

    def _cite(self, key: str) -> str:
        chunk = self.fields.get(key)
        if chunk is None:
            return ""
        return f"[{self.cites.cite(self.doc, chunk.section, chunk.text)}]"

    def value(self, key: str) -> str:
        chunk = self.fields.get(key)
        return chunk.text.strip() if chunk else ""

    def write(self, wanted: list[str]) -> list[str]:
        self.wanted = list(wanted)
        lines: list[str] = []
        for key in wanted or ["overview"]:
            for line in getattr(self, f"_{key}", self._overview)():
                if line and line not in lines:
                    lines.append(line)
        return lines

    # -- frames --------------------------------------------------------------------------------------------
    def _line(self, label: str, key: str, text: str | None = None) -> list[str]:
        """``- 标签：值 [n]``, or for a value of several lines ``- 标签 [n]：`` with the lines as sub-items."""
        text = self.value(key) if text is None else text
        rows = [r.strip() for r in text.splitlines() if r.strip()]
        if len(rows) == 1:
            return [f"- {label}：{rows[0]} {self._cite(key)}"]
        return [f"- {label} {self._cite(key)}："] + [ITEM_INDENT + r for r in rows]

    def _not_listed(self, key: str, label: str | None = None) -> list[str]:
        """``- 办事指南未列出申请材料，可咨询 020-… [n]。``: the field is recorded as missing."""
        self.missing.append(key)
        phone = self.value("phone")
        contact = f"，可咨询 {phone} {self._cite('phone')}" if key != "phone" and not _empty(phone) else ""
        return [f"{NOT_LISTED}{label or LABELS.get(key, key)}{contact}。"]

    def _field(self, key: str) -> list[str]:
        return self._not_listed(key) if _empty(self.value(key)) else self._line(LABELS[key], key)

    # -- fields --------------------------------------------------------------------------------------------
    def _phone(self) -> list[str]:
        return self._field("phone")

    def _complaint(self) -> list[str]:
        return self._field("complaint")

    def _materials(self) -> list[str]:
        return self._field("materials")

    def _conditions(self) -> list[str]:
        text = self.value("conditions")
        return self._not_listed("conditions") if _empty(text) else self._line("受理条件", "conditions", clip(text, MAX_QUOTE))

    def _visits(self) -> list[str]:
        return self._field("visits")

    def _fee(self) -> list[str]:
        return self._not_listed("fee", "收费信息") if _empty(self.value("fee")) else self._line("收费标准", "fee")

    def _location(self) -> list[str]:
        place = self.value("location")
        if _empty(place):
            return self._not_listed("location") + self._platform()
        if "无线下" not in place:
            return self._line("办理地点", "location")
        # No window to go to: the guide says so; then where it is done instead and whom to ask.
        self.no_window = True
        return self._line("办理地点", "location") + self._platform() + self._phone()

    def _platform(self) -> list[str]:
        """The online platform, unless the whole 网上办理 field is asked for as well."""
        online = _kv(self.value("online")).get("办理平台", "")
        return [] if _empty(online) or "online" in self.wanted else [f"- 网上办理平台：{online} {self._cite('online')}"]

    def _time_limit(self) -> list[str]:
        values = _kv(self.value("time_limit"))
        promised, legal = values.get("承诺办结时限", ""), values.get("法定办结时限", "")
        parts = [f"{name}{v}" for name, v in (("承诺", promised), ("法定", legal)) if not _empty(v)]
        if not values:  # written as a plain value ("5个工作日", a guide typed in the console): quoted as it is
            plain = "；".join(r for r in (line.strip().lstrip("-*").strip() for line in
                                         self.value("time_limit").splitlines()) if r)
            parts = [plain] if plain and not _empty(plain) else []
        if not parts:
            return self._not_listed("time_limit")
        return [f"- 办理时限：{'，'.join(parts)} {self._cite('time_limit')}"]

    def _online(self) -> list[str]:
        rows = [r.strip().lstrip("-*").strip() for r in self.value("online").splitlines()]
        rows = [r for r in rows if r and not _empty(r.partition("：")[2] or r)]  # "预约地址：无" says nothing
        if not rows:
            return self._not_listed("online")
        if len(rows) == 1:
            return [f"- {rows[0]} {self._cite('online')}"]
        return self._line("网上办理", "online", "\n".join(rows))

    def _department(self) -> list[str]:
        dept = _kv(self.value("basic")).get("实施主体", self.doc.department)
        return [f"- 实施主体：{dept} {self._cite('basic')}".rstrip()] if dept else []

    def _objects(self) -> list[str]:
        objects = _kv(self.value("basic")).get("服务对象", "")
        return [f"- 服务对象：{objects} {self._cite('basic')}"] if objects else self._not_listed("objects")

    def _process(self) -> list[str]:
        process = self.value("process")
        if not _empty(process):
            return self._line("办理流程", "process", clip(process, MAX_QUOTE))
        self.missing.append("process")
        return (["- 办事指南未提供详细办理流程，以下是现有信息："] + self._present(("location", "time_limit", "phone"))
                + self._guide_link())

    def _guide_link(self) -> list[str]:
        url = _kv(self.value("online")).get("办事指南链接") or self.doc.source_url
        return [f"- 办事指南：{url}"] if url and not _empty(url) else []

    def _fills(self, key: str) -> bool:
        if key == "time_limit":
            values = _kv(self.value(key))
            return any(not _empty(values.get(k, "")) for k in ("承诺办结时限", "法定办结时限"))
        return not _empty(self.value(key))

    def _present(self, keys: tuple[str, ...]) -> list[str]:
        """The lines of the fields the guide fills in; nothing is said of the empty ones (they were not asked)."""
        out: list[str] = []
        asked, no_window = list(self.missing), self.no_window
        for key in keys:
            if self._fills(key):
                out += [line for line in getattr(self, f"_{key}")() if line not in out]
        self.missing[:], self.no_window = asked, no_window
        return out

    def office_hint(self, terms: frozenset[str]) -> list[str]:
        """With no window to go to, the office the item's conditions name (婚姻登记机关为经办结婚的机关或…), if any."""
        if not self.no_window or "conditions" not in self.fields:
            return []
        sentence = matching_sentence(self.value("conditions"), OFFICE_CUE, terms)
        return [f"- 受理条件：{sentence} {self._cite('conditions')}"] if sentence else []

    def _overview(self) -> list[str]:
        lines = self._present(("materials", "location", "time_limit", "phone"))
        return lines or self._present(("conditions", "online")) + self._guide_link()


def compose(
    question: str,
    hits: list[DocHit],
    store: ChunkStore,
    *,
    fields: list[str],
    same_item: list[DocHit] | None = None,
) -> Answer:
    """An answered ``Answer`` from the best hit (and, for same-name items of several regions, each of them)."""
    cites = CitationList()
    top = hits[0]
    lines: list[str] = []
    if top.doc.doc_type == "service_guide":
        lines += _guide_lines(question, hits, store, cites, fields, same_item or [top])
    elif top.doc.doc_type == "law":
        lines += _law_lines(question, hits, store, cites, fields)
    else:
        lines += _passage_lines(top, store, cites, fields, question)
    return Answer(question=question, text="\n".join(lines), status="answered", citations=cites.items)


def _guide_lines(question: str, hits: list[DocHit], store: ChunkStore, cites: CitationList, fields: list[str],
                 group: list[DocHit]) -> list[str]:
    """Each item's header once, its fields as a list; then what the guide leaves unsaid, from elsewhere."""
    lines: list[str] = []
    if len(group) > 1:
        lines.append(f"「{group[0].doc.title}」在多个地区都有办理，分别如下：")
    missing: list[str] = []
    asked = Asked.of(question, fields)
    for h in group:
        writer = GuideWriter(h.doc, store.chunks_of(h.doc.doc_id), cites)
        body = writer.write(fields)
        body += writer.office_hint(asked.terms)
        lines += [_header(h.doc)] + body
        missing += [f for f in writer.missing if f not in missing]
    lines += _law_fallback(hits, store, cites, [f for f in missing if f in LAW_FIELDS], asked)
    return lines


def _law_fallback(hits: list[DocHit], store: ChunkStore, cites: CitationList, missing: list[str],
                  asked: Asked) -> list[str]:
    """The article of a retrieved law (top ``FALLBACK_LAWS``) that looks like a field the guide leaves empty and
    is about what the question is about: quoted after the guide's lines, cited. One article at most."""
    if not missing or not asked.terms:
        return []
    cues = [FIELD_CUES[f] for f in missing]
    n = len(asked.terms)
    need = max(min(2, n), (n + 1) // 2)  # half of what the question is about, and two terms when it has two
    for h in hits[:FALLBACK_LAWS]:
        if h.doc.doc_type != "law":
            continue
        ranked = _prefer_asked(asked, h.chunks[:6], store)  # for materials, the article that lists them first
        chunks = store.get_chunks([cid for cid, _ in ranked])
        for cid, _ in ranked:
            chunk = chunks.get(cid)
            if chunk is None or chunk.kind != "article":
                continue
            body = _article_body(chunk)
            if any(c.search(body) for c in cues) and len(shared_terms(asked.terms, body)) >= need:
                return _article_lines(h.doc, chunk, cites, asked, frame="另据")
    return []


def _article_body(chunk: StoredChunk) -> str:
    return re.sub(r"^\s*第[^条]{1,8}条\s*", "", chunk.text)


def _article_lines(doc: DocMeta, chunk: StoredChunk, cites: CitationList, asked: Asked | None,
                   frame: str = "根据") -> list[str]:
    """The sentence that answers (when ``asked``), then the article it is from, both with its number."""
    body = _article_body(chunk)
    n = cites.cite(doc, chunk.section, chunk.text)
    lead = lead_sentence(body, asked) if asked else None
    quote = f"{frame}《{doc.title}》{chunk.section}：{clip(body, MAX_QUOTE)} [{n}]"
    return ([f"{lead} [{n}]"] if lead else []) + [quote]


def _relevant(chunk_scores: list[tuple[str, float]], limit: int, share: float = 0.5) -> list[str]:
    """Chunk ids scoring at least ``share`` of the best one: a weak runner-up is noise, not a second source."""
    if not chunk_scores:
        return []
    best = chunk_scores[0][1]
    return [cid for cid, score in chunk_scores[:limit] if score >= best * share]


def _prefer_asked(asked: Asked, chunk_scores: list[tuple[str, float]], store: ChunkStore):
    """Re-rank a law's best articles: one that holds the kind of value asked (a period, an age, a number) moves
    ahead of one that only shares words with the question; less so one that looks like the field or the
    consequence asked (罚款 for "会被罚吗") — more, for materials asked, one that lists them (出具下列证件和证明材料)."""
    if not (asked.value or asked.cues or asked.penalty) or not chunk_scores:
        return chunk_scores
    head = chunk_scores[:8]
    texts = store.get_chunks([cid for cid, _ in head])
    best = head[0][1] or 1.0

    def bonus(cid: str) -> float:
        text = texts[cid].text if cid in texts else ""
        if asked.value:
            return VALUE_BONUS if asked.value.search(text) else 0.0
        if not asked.looks_asked(text):
            return 0.0
        return CUE_BONUS + (LIST_BONUS if "materials" in asked.fields and LIST_CUE.search(text) else 0.0)

    rescored = [(cid, score + bonus(cid) * best) for cid, score in head]
    return sorted(rescored, key=lambda x: -x[1]) + chunk_scores[8:]


def _law_lines(question: str, hits: list[DocHit], store: ChunkStore, cites: CitationList,
               fields: list[str] | None = None) -> list[str]:
    """The sentence that answers, from the best-matching article of the top law, then that article and — when
    they are about the same thing — up to two more, each with its citation."""
    laws = [h for h in hits[:3] if h.doc.doc_type == "law"][:2]
    # A second law is quoted only when it scores nearly as well as the first: a distant runner-up (公司法 on
    # a reserve fund under a 住房公积金 question) is a citation that does not answer.
    if len(laws) == 2 and laws[1].score < laws[0].score - SECOND_LAW_MARGIN * abs(laws[0].score):
        laws = laws[:1]
    asked = Asked.of(question, fields or [])
    picked: list[tuple[DocMeta, StoredChunk]] = []
    for rank, h in enumerate(laws):
        chunk_ids = _relevant(_prefer_asked(asked, h.chunks, store), 2 if rank == 0 else 1)
        chunks = store.get_chunks(chunk_ids)
        articles = [chunks[cid] for cid in chunk_ids if cid in chunks and chunks[cid].kind == "article"]
        if not articles and rank == 0:
            articles = [c for c in store.chunks_of(h.doc.doc_id) if c.kind == "article"][:1]
        picked += [(h.doc, c) for c in articles]
    if not picked:
        return []
    picked = _answering_law_first(picked, asked)
    first_doc, first = picked[0]
    lines = _article_lines(first_doc, first, cites, asked)
    for doc, chunk in _supporting(picked[1:], asked)[: MAX_ARTICLES - 1]:
        lines += _article_lines(doc, chunk, cites, None)
    return lines


def _answering_law_first(picked: list[tuple[DocMeta, StoredChunk]], asked: Asked) -> list[tuple[DocMeta, StoredChunk]]:
    """When a field is asked (材料, 去哪, 多少钱) or a consequence (会被罚吗), and the first law's best article does
    not look like it while the second law's does (婚姻登记条例 第五条 lists the documents 结婚登记 needs; 民法典
    says one registers), the second law answers first. Not for a value alone: "欠了几个月物业费" states a
    period, it does not ask one."""
    first_doc = picked[0][0]
    if not asked.names_field or asked.looks_asked(picked[0][1].text):
        return picked
    second = next((i for i, (doc, _) in enumerate(picked) if doc.doc_id != first_doc.doc_id), None)
    if second is None or not asked.looks_asked(picked[second][1].text):
        return picked
    return picked[second:] + picked[:second]


def _supporting(others: list[tuple[DocMeta, StoredChunk]], asked: Asked) -> list[tuple[DocMeta, StoredChunk]]:
    """Further articles that speak of what the question is about: each shares a topic term of the question (in
    its text or its law's title) or states a number the question states (满6岁: 年满六周岁). Words every law uses
    (规定, 申请, 办理) do not count, so 户口登记条例 on 申请 is not cited under a 工伤 answer."""

    def about(doc: DocMeta, chunk: StoredChunk) -> bool:
        return (not asked.terms or bool(shared_terms(asked.terms, f"{doc.title} {chunk.text}"))
                or bool(asked.numbers and asked.numbers.search(chunk.text)))

    return [(doc, chunk) for doc, chunk in others if about(doc, chunk)]


def _field_passages(chunk_scores: list[tuple[str, float]], fields: list[str], store: ChunkStore) -> list[str]:
    """Among a document's best passages, those that look like the asked field, best first (up to two)."""
    cues = [FIELD_CUES[f] for f in fields if f in FIELD_CUES]
    if not cues or not chunk_scores:
        return []
    head = [cid for cid, _ in chunk_scores[:6]]
    texts = store.get_chunks(head)
    return [cid for cid in head
            if cid in texts and any(c.search(f"{texts[cid].section} {texts[cid].text}") for c in cues)][:2]


def _passage_lines(top: DocHit, store: ChunkStore, cites: CitationList, fields: list[str] | None = None,
                   question: str = "") -> list[str]:
    """The passages that answer, in document order; led by the sentence that clearly answers the field (or
    value) asked, when one does."""
    fields = fields or []
    chunk_ids = _field_passages(top.chunks, fields, store) or _relevant(top.chunks, 2, share=0.7)
    chunks = store.get_chunks(chunk_ids)
    picked = [chunks[cid] for cid in chunk_ids if cid in chunks]
    if not picked:
        picked = store.chunks_of(top.doc.doc_id)[:2]
    best = picked[0]
    picked.sort(key=lambda c: c.ordinal)
    lines = []
    for chunk in picked:
        n = cites.cite(top.doc, chunk.section or top.doc.title, chunk.text)
        lines.append(f"{clip(chunk.text, MAX_QUOTE)} [{n}]")
    lead = lead_sentence(best.text, Asked.of(question, fields), strict=True) if question else None
    if lead:
        lines.insert(0, f"{lead} [{cites.cite(top.doc, best.section or top.doc.title, best.text)}]")
    return lines

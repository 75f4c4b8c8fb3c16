"""The offline composer: builds the answer in Simplified Chinese from retrieved text only.

Every sentence it writes is either a fixed frame (「…」的咨询电话：) or text copied from a chunk, and every copied
piece carries the number of the citation it came from. It is the fallback an LLM generator plugs in front of.
"""

from __future__ import annotations

import re

from zhengwu.answering.answer import Answer
from zhengwu.answering.citations import CitationList, clip
from zhengwu.chinese import normalize
from zhengwu.documents.document import NATIONAL
from zhengwu.index.store import ChunkStore, DocMeta, StoredChunk
from zhengwu.retrieval.query import answer_type
from zhengwu.retrieval.retriever import DocHit

MAX_QUOTE = 600
MAX_ARTICLES = 3
SECOND_LAW_MARGIN = 0.1


def _kv(text: str) -> dict[str, str]:
    """'- 承诺办结时限：7个工作日' lines -> {'承诺办结时限': '7个工作日'}."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip().lstrip("-*").strip()
        key, sep, value = line.partition("：")
        if sep:
            out[key.strip()] = value.strip()
    return out


def _label(doc: DocMeta) -> str:
    where = doc.region if doc.region and doc.region != NATIONAL else ""
    dept = doc.department
    parts = [p for p in (where, dept) if p]
    return f"「{doc.title}」" + (f"（{'，'.join(parts)}）" if parts else "")


class GuideWriter:
    """Answers the field asked about one service guide."""

    def __init__(self, doc: DocMeta, chunks: list[StoredChunk], cites: CitationList) -> None:
        self.doc = doc
        self.fields = {c.field: c for c in chunks if c.field}
        self.cites = cites

    def _cite(self, key: str) -> str:
        chunk = self.fields.get(key)
        if chunk is None:
            return ""
        return f"[{self.cites.cite(self.doc, chunk.section, chunk.text)}]"

    def value(self, key: str) -> str:
        chunk = self.fields.get(key)
        return chunk.text.strip() if chunk else ""

    def write(self, wanted: list[str]) -> list[str]:
        lines: list[str] = []
        for key in wanted or ["overview"]:
            line = getattr(self, f"_{key}", self._overview)()
            if line and line not in lines:
                lines.append(line)
        return lines

    def _phone(self) -> str:
        phone = self.value("phone")
        if not phone or phone == "无":
            return f"{_label(self.doc)}的办事指南未列出咨询电话。"
        return f"{_label(self.doc)}的咨询电话：{phone} {self._cite('phone')}"

    def _complaint(self) -> str:
        phone = self.value("complaint")
        if not phone or phone == "无":
            return f"{_label(self.doc)}的办事指南未列出投诉电话。"
        return f"{_label(self.doc)}的投诉电话：{phone} {self._cite('complaint')}"

    def _materials(self) -> str:
        text = self.value("materials")
        if not text or text == "无":
            return f"{_label(self.doc)}的办事指南未列出申请材料。"
        return f"办理{_label(self.doc)}需要提交以下材料 {self._cite('materials')}：\n{text}"

    def _location(self) -> str:
        place = self.value("location")
        if not place:
            return ""
        line = f"{_label(self.doc)}的办理地点：{place} {self._cite('location')}"
        online = _kv(self.value("online")).get("办理平台", "")
        if "无线下" in place and online and online != "无":
            line += f"\n可通过网上办理，办理平台：{online} {self._cite('online')}"
        return line

    def _time_limit(self) -> str:
        values = _kv(self.value("time_limit"))
        promised, legal = values.get("承诺办结时限", ""), values.get("法定办结时限", "")
        if not promised and not legal:
            return ""
        parts = []
        if promised:
            parts.append(f"承诺办结时限为{promised}")
        if legal:
            parts.append(f"法定办结时限为{legal}")
        return f"{_label(self.doc)}的{'，'.join(parts)} {self._cite('time_limit')}"

    def _conditions(self) -> str:
        text = self.value("conditions")
        if not text or text == "无":
            return f"{_label(self.doc)}的办事指南未列出受理条件。"
        return f"{_label(self.doc)}的受理条件 {self._cite('conditions')}：\n{clip(text, MAX_QUOTE)}"

    def _visits(self) -> str:
        visits = self.value("visits")
        if not visits:
            return ""
        return f"办理{_label(self.doc)}需到现场{visits} {self._cite('visits')}"

    def _online(self) -> str:
        text = self.value("online")
        if not text:
            return ""
        return f"{_label(self.doc)}的网上办理信息 {self._cite('online')}：\n{text}"

    def _department(self) -> str:
        dept = _kv(self.value("basic")).get("实施主体", self.doc.department)
        return f"{_label(self.doc)}的实施主体是{dept} {self._cite('basic')}" if dept else ""

    def _objects(self) -> str:
        objects = _kv(self.value("basic")).get("服务对象", "")
        return f"{_label(self.doc)}的服务对象：{objects} {self._cite('basic')}" if objects else ""

    def _fee(self) -> str:
        fee = self.value("fee")
        if fee:
            return f"{_label(self.doc)}的收费标准：{fee} {self._cite('fee')}"
        phone = self.value("phone")
        contact = f"，请咨询 {phone} {self._cite('phone')}" if phone and phone != "无" else ""
        return f"{_label(self.doc)}的办事指南未列出收费信息{contact}。"

    def _process(self) -> str:
        process = self.value("process")
        if process:
            return f"{_label(self.doc)}的办理流程 {self._cite('process')}：\n{clip(process, MAX_QUOTE)}"
        return "\n".join(
            p for p in (
                f"{_label(self.doc)}的办事指南未提供详细办理流程，以下是现有信息：",
                self._location(), self._time_limit(), self._phone(), self._guide_link(),
            ) if p
        )

    def _guide_link(self) -> str:
        url = _kv(self.value("online")).get("办事指南链接") or self.doc.source_url
        return f"办事指南：{url}" if url else ""

    def _overview(self) -> str:
        parts = [f"{_label(self.doc)}的办理要点："]
        for key in ("materials", "location", "time_limit", "phone"):
            line = getattr(self, f"_{key}")()
            if line and "未列出" not in line:
                parts.append(line)
        return "\n".join(parts)


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
        group = same_item or [top]
        if len(group) > 1:
            lines.append(f"「{top.doc.title}」在多个地区都有办理，分别如下：")
        for h in group:
            lines += GuideWriter(h.doc, store.chunks_of(h.doc.doc_id), cites).write(fields)
    elif top.doc.doc_type == "law":
        lines += _law_lines(question, hits, store, cites)
    else:
        lines += _passage_lines(top, store, cites, fields)
    return Answer(question=question, text="\n".join(lines), status="answered", citations=cites.items)


def _relevant(chunk_scores: list[tuple[str, float]], limit: int, share: float = 0.5) -> list[str]:
    """Chunk ids scoring at least ``share`` of the best one: a weak runner-up is noise, not a second source."""
    if not chunk_scores:
        return []
    best = chunk_scores[0][1]
    return [cid for cid, score in chunk_scores[:limit] if score >= best * share]


def _prefer_answer_type(question: str, chunk_scores: list[tuple[str, float]], store: ChunkStore):
    """Re-rank a law's best articles: one that holds the kind of value asked (a period, an age, a number)
    moves ahead of one that only shares words with the question."""
    wanted = answer_type(normalize(question))
    if not wanted or not chunk_scores:
        return chunk_scores
    head = chunk_scores[:8]
    texts = store.get_chunks([cid for cid, _ in head])
    best = head[0][1] or 1.0
    rescored = [
        (cid, score + (0.35 * best if cid in texts and wanted[1].search(texts[cid].text) else 0.0))
        for cid, score in head
    ]
    return sorted(rescored, key=lambda x: -x[1]) + chunk_scores[8:]


def _law_lines(question: str, hits: list[DocHit], store: ChunkStore, cites: CitationList) -> list[str]:
    """Quote the best-matching articles of the top laws, each with its citation."""
    lines: list[str] = []
    laws = [h for h in hits[:3] if h.doc.doc_type == "law"][:2]
    # A second law is quoted only when it scores nearly as well as the first: a distant runner-up (公司法 on
    # a reserve fund under a 住房公积金 question) is a citation that does not answer.
    if len(laws) == 2 and laws[1].score < laws[0].score - SECOND_LAW_MARGIN * abs(laws[0].score):
        laws = laws[:1]
    budget = MAX_ARTICLES
    for rank, h in enumerate(laws):
        chunk_ids = _relevant(_prefer_answer_type(question, h.chunks, store), 2 if rank == 0 else 1)
        chunks = store.get_chunks(chunk_ids)
        picked = [chunks[cid] for cid in chunk_ids if cid in chunks and chunks[cid].kind == "article"]
        if not picked and rank == 0:
            picked = [c for c in store.chunks_of(h.doc.doc_id) if c.kind == "article"][:1]
        for chunk in picked[:budget]:
            body = re.sub(r"^\s*第[^条]{1,8}条\s*", "", chunk.text)
            n = cites.cite(h.doc, chunk.section, chunk.text)
            lines.append(f"根据《{h.doc.title}》{chunk.section}：{clip(body, MAX_QUOTE)} [{n}]")
            budget -= 1
        if budget <= 0:
            break
    return lines


# What a passage that answers a field looks like (policies and FAQ answers have no guide fields): "去哪申请"
# wants the passage that names where one applies, not the one that shares most words with the question.
FIELD_CUES: dict[str, re.Pattern[str]] = {
    "location": re.compile(r"地点|地址|窗口|大厅|服务中心|办事处|向.{0,24}(提出|申请|提交|办理)|到.{0,24}办理"),
    "materials": re.compile(r"材料|复印件|原件|证明|申请表"),
    "phone": re.compile(r"电话|热线|\d{3,4}-\d{7,8}|12345"),
    "time_limit": re.compile(r"工作日|日内|天内|时限|期限|之日起"),
    "fee": re.compile(r"收费|费用|免费|不收取|\d+元"),
    "process": re.compile(r"流程|步骤|程序|提出申请|审核|受理"),
    "conditions": re.compile(r"条件|符合|具备|年满|应当"),
    "online": re.compile(r"网上|在线|平台|网站|小程序|app|APP"),
}


def _field_passages(chunk_scores: list[tuple[str, float]], fields: list[str], store: ChunkStore) -> list[str]:
    """Among a document's best passages, those that look like the asked field, best first (up to two)."""
    cues = [FIELD_CUES[f] for f in fields if f in FIELD_CUES]
    if not cues or not chunk_scores:
        return []
    head = [cid for cid, _ in chunk_scores[:6]]
    texts = store.get_chunks(head)
    return [cid for cid in head
            if cid in texts and any(c.search(f"{texts[cid].section} {texts[cid].text}") for c in cues)][:2]


def _passage_lines(top: DocHit, store: ChunkStore, cites: CitationList, fields: list[str] | None = None) -> list[str]:
    chunk_ids = _field_passages(top.chunks, fields or [], store) or _relevant(top.chunks, 2, share=0.7)
    chunks = store.get_chunks(chunk_ids)
    picked = [chunks[cid] for cid in chunk_ids if cid in chunks]
    if not picked:
        picked = store.chunks_of(top.doc.doc_id)[:2]
    picked.sort(key=lambda c: c.ordinal)
    lines = []
    for chunk in picked:
        n = cites.cite(top.doc, chunk.section or top.doc.title, chunk.text)
        lines.append(f"{clip(chunk.text, MAX_QUOTE)} [{n}]")
    return lines

"""Personalised guidance from a consenting citizen's service history (个人信息保护法).

The grounded answer always comes first and is never changed by what we know about the asker; personal notes
are added after it, each one labelled, and listed in ``Answer.personal`` so channels, staff and tests see which
uses applied. Nothing here runs without consent: the channel passes a ``PersonalContext`` only when the user
has agreed to personalisation, and the citizen's "不使用个性化" switch (PIPL Art. 24) takes it away again.

Which questions are personal is decided in ``zhengwu.answering.personal_questions``. Uses: the profile's
region steers retrieval (in ``Assistant``); next steps of a life event ("一件事") or a
follow-up rule; materials already submitted for another item; the status of the user's own applications;
suggestions for the user's identity tags.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from zhengwu.answering import wording
from zhengwu.answering.answer import Answer, Citation
from zhengwu.chinese import normalize
from zhengwu.index.store import ChunkStore, DocMeta
from zhengwu.personal.records import DECIDED_STATUSES, STATUS_NAMES, ServiceRecordData
from zhengwu.retrieval.query import canonical_region

_MATERIAL_LINE = re.compile(r"^\s*(?:\d+[.、．)]|[-•·])\s*(.+?)\s*$")


@dataclass
class PersonalContext:
    """What the assistant may use about a consenting user. Built by a channel from the people store, or from
    an evaluation question's ``profile``."""

    user_id: int | None = None
    region: str | None = None
    tags: list[str] = field(default_factory=list)
    records: list[ServiceRecordData] = field(default_factory=list)
    # True when the channel identity is linked to a verified profile: only then is the user's own history
    # read back to them (status questions).
    linked: bool = False

    @classmethod
    def from_profile(cls, profile: dict[str, Any]) -> PersonalContext:
        """An evaluation ``profile`` ({"region", "tags", "history": [{item_name, status, materials…}]})."""
        records = []
        for raw in profile.get("history") or profile.get("service_history") or []:
            if isinstance(raw, dict) and raw.get("item_name"):
                records.append(ServiceRecordData(
                    item_code=str(raw.get("item_code") or raw["item_name"]), item_name=str(raw["item_name"]),
                    status=str(raw.get("status") or "completed"), materials=list(raw.get("materials") or []),
                    doc_id=raw.get("doc_id"), region=raw.get("region"),
                    submitted_at=_date(raw.get("submitted_at")), valid_until=_date(raw.get("valid_until")),
                ))
        tags = profile.get("tags") or profile.get("identity") or profile.get("identity_tags") or []
        return cls(region=profile.get("region"), tags=[tags] if isinstance(tags, str) else list(tags),
                   records=records, linked=True)


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


class Personaliser:
    def __init__(self, life_events, store: ChunkStore, docs: Callable[[], dict[str, DocMeta]],
                 tag_queries: dict[str, list[str]] | None = None, *, hotline: str) -> None:
        self.life_events = life_events
        self.hotline = hotline
        self.store = store
        self._docs = docs  # the index's current documents
        self.tag_queries = tag_queries or {}

    # -- questions only the user's own data can answer -----------------------------------------------------
    def status_answer(self, question: str, ctx: PersonalContext) -> Answer:
        """"我的…办到哪一步了？" from the user's own records only."""
        mine = _matching(question, ctx.records) or sorted(
            ctx.records, key=lambda r: r.submitted_at or date.min, reverse=True)[:5]
        if not mine:
            return Answer(question=question, status="answered", reason="personal_status",
                          text=wording.say(wording.NO_RECORDS_YET, self.hotline), personal=["status"])
        cites = _Cites(self._docs())
        lines = ["根据您的办件记录："]
        for i, r in enumerate(mine, 1):
            when = f"于{r.submitted_at.isoformat()}提交，" if r.submitted_at else ""
            decided = f"（{r.decided_at.isoformat()}）" if r.decided_at and r.status in DECIDED_STATUSES else ""
            mark = cites.mark(r.doc_id or cites.by_title(r.item_name), "办理时限")
            lines.append(f"{i}. 「{r.item_name}」{when}当前状态：{STATUS_NAMES.get(r.status, r.status)}{decided}{mark}")
        lines.append("以上为系统同步的记录，最新进度以办理部门通知为准。")
        return Answer(question=question, text="\n".join(lines), status="answered", citations=cites.citations,
                      reason="personal_status", personal=["status"])

    def next_step_answer(self, question: str, ctx: PersonalContext) -> Answer | None:
        lines, cites = self._next_step_lines(ctx, _Cites(self._docs()))
        if not lines:
            return None
        return Answer(question=question, text="根据您的办件记录：\n" + "\n".join(lines), status="answered",
                      citations=cites.citations, reason="personal_next_steps", personal=["next_steps"])

    # -- notes added to a grounded answer ------------------------------------------------------------------
    def decorate(self, answer: Answer, top: DocMeta | None, fields: list[str], ctx: PersonalContext) -> None:
        """Append the personal notes that fit this answer (in place)."""
        if answer.status != "answered" or top is None:
            return
        cites = _Cites(self._docs(), start=len(answer.citations))
        notes: list[str] = []
        if top.doc_type == "service_guide" and ("materials" in fields or "申请材料" in answer.text):
            reuse = self._material_notes(top, ctx)
            if reuse:
                notes.extend(reuse)
                answer.personal.append("materials")
        if self._touches_history(top, ctx):
            steps, cites = self._next_step_lines(ctx, cites, about=top)
            if steps:
                notes.extend(steps)
                answer.personal.append("next_steps")
        if notes:
            answer.text += "\n\n【个性化提示】\n" + "\n".join(notes)
            answer.citations.extend(cites.citations)

    def suggestion_answer(self, question: str, ctx: PersonalContext,
                          retrieve: Callable[[str], DocMeta | None]) -> Answer | None:
        """Items and policies for the user's identity tags, found in the corpus and marked as suggestions."""
        cites = _Cites(self._docs())
        lines = []
        for tag in ctx.tags:
            found = []
            for query in self.tag_queries.get(tag, []):
                doc = retrieve(query)
                if doc is not None and doc.doc_id not in cites._by_doc:
                    found.append(f"「{doc.title}」{cites.mark(doc.doc_id, '')}")
            if found:
                lines.append(f"作为{tag}，您可能关注：" + "、".join(found[:3]) + "。")
        if not lines:
            return None
        text = "以下是根据您的身份标签推荐的事项和政策，仅供参考，是否适用请以办事指南和主管部门答复为准：\n" + "\n".join(lines)
        return Answer(question=question, text=text, status="answered", citations=cites.citations,
                      reason="personal_suggestions", personal=["suggestions"])

    # -- helpers -------------------------------------------------------------------------------------------
    def _next_step_lines(self, ctx: PersonalContext, cites: _Cites,
                         about: DocMeta | None = None) -> tuple[list[str], _Cites]:
        """"您已办理…，下一步可办理…" lines; with ``about``, only for the events that item belongs to."""
        history = [(r.item_name, r.status) for r in ctx.records]
        name = normalize(about.extra.get("item_name") or about.title) if about else ""
        lines = []
        for step in self.life_events.next_steps(history) if history else []:
            if about and not any(normalize(d) in name or name in normalize(d) for d in step.done):
                continue
            done = "、".join(f"「{d}」" for d in step.done[-2:])
            mark = cites.mark(self._local(step.doc_ids, ctx.region), "")
            lead = f"您已办理{done}，" if done else ""
            lines.append(f"{lead}下一步可办理「{step.next}」{mark}（{step.event}）。")
        return lines, cites

    def _local(self, doc_ids: list[str], region: str | None) -> str | None:
        """Of a step's documents, the one of the user's own region if there is one."""
        if not doc_ids:
            return None
        docs = self._docs()
        wanted = canonical_region(region) if region else None
        return next((d for d in doc_ids if wanted and d in docs and docs[d].region == wanted), doc_ids[0])

    def _material_notes(self, top: DocMeta, ctx: PersonalContext) -> list[str]:
        wanted = _materials_of(self.store, top.doc_id)
        notes = []
        for material in wanted:
            for r in ctx.records:
                if r.doc_id == top.doc_id or r.item_name == top.extra.get("item_name") or r.status == "rejected":
                    continue
                if any(_same_material(material, m) for m in r.materials):
                    when = f"{r.submitted_at.year}年" if r.submitted_at else ""
                    notes.append(f"您曾在{when}办理「{r.item_name}」时提交过“{material}”，是否可复用以窗口要求为准。")
                    break
        return notes[:5]

    def _touches_history(self, top: DocMeta, ctx: PersonalContext) -> bool:
        name = normalize(top.extra.get("item_name") or top.title)
        return any(r.doc_id == top.doc_id or normalize(r.item_name) in name or name in normalize(r.item_name)
                   for r in ctx.records)


class _Cites:
    """Citations for personal notes, numbered after the answer's own."""

    def __init__(self, docs: dict[str, DocMeta], start: int = 0) -> None:
        self._docs = docs
        self._start = start
        self._by_doc: dict[str, int] = {}
        self.citations: list[Citation] = []

    def mark(self, doc_id: str | None, section: str) -> str:
        doc = self._docs.get(doc_id or "")
        if doc is None:
            return ""
        if doc_id not in self._by_doc:
            n = self._start + len(self.citations) + 1
            self._by_doc[doc_id] = n
            label = section or ("办事指南" if doc.doc_type == "service_guide" else "")
            self.citations.append(Citation(n, doc.doc_id, doc.title, label, doc.source_url, "",
                                           doc.region, doc.doc_type, doc.updated))
        return f"[{self._by_doc[doc_id]}]"

    def by_title(self, item_name: str) -> str | None:
        """A record imported without a known 事项编码: its guide by exact name, if the corpus has one."""
        wanted = normalize(item_name)
        for doc in self._docs.values():
            if doc.doc_type == "service_guide" and normalize(doc.extra.get("item_name") or doc.title) == wanted:
                return doc.doc_id
        return None


def _matching(question: str, records: list[ServiceRecordData]) -> list[ServiceRecordData]:
    text = normalize(question)
    out = []
    for r in records:
        name = normalize(r.item_name)
        # "居住证" in "我的居住证办到哪一步了" names 居住证签注 / 居住证申领; two characters in a row suffice.
        if name in text or any(name[i:i + 3] in text for i in range(max(1, len(name) - 2))):
            out.append(r)
    return out


def _materials_of(store: ChunkStore, doc_id: str) -> list[str]:
    chunk = next((c for c in store.chunks_of(doc_id) if c.field == "materials"), None)
    if chunk is None:
        return []
    out = []
    for line in chunk.text.splitlines():
        match = _MATERIAL_LINE.match(line)
        if match:
            out.append(match.group(1).rstrip("；;。"))
    return out


def _same_material(a: str, b: str) -> bool:
    """"居民身份证原件" ~ "身份证": containment after dropping 原件/复印件 and brackets."""
    def core(s: str) -> str:
        s = re.sub(r"[（(][^）)]*[）)]", "", normalize(s))
        return re.sub(r"原件|复印件|扫描件|电子版|一份|及|和|的", "", s)

    x, y = core(a), core(b)
    return len(min(x, y, key=len)) >= 3 and (x in y or y in x)


def load_personaliser(corpus_dir: Path, store: ChunkStore, docs, hotline: str) -> Personaliser:
    """The personaliser over the corpus's data files (a corpus without them still answers status questions)."""
    from zhengwu.personal.life_events import LifeEvents, load_life_events

    folder = corpus_dir / "life_events"
    events = load_life_events(folder) if folder.is_dir() else LifeEvents(events=[])
    tags_file = corpus_dir / "personalisation" / "tags.yaml"
    tags = yaml.safe_load(tags_file.read_text(encoding="utf-8")) if tags_file.exists() else {}
    return Personaliser(events, store, docs,
                        {str(k): [str(q) for q in v or []] for k, v in (tags or {}).items()}, hotline=hotline)

"""A document as the Markdown file a corpus folder would hold (docs/corpus-format.md): what staff download,
what version diffs compare, and the service-guide form's view of its sections."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace

import yaml

from zhengwu.documents import Document
from zhengwu.documents.guide_fields import GUIDE_FIELDS

_FIELDS = ("doc_id", "title", "doc_type", "region", "department", "updated", "source_url", "status")


def document_markdown(doc: Document) -> str:
    """Front matter then body: loading the result with the Markdown loader gives the same document back."""
    front: dict[str, object] = {name: getattr(doc, name) for name in _FIELDS}
    front.update({k: v for k, v in doc.extra.items() if k not in front})
    header = yaml.safe_dump(front, allow_unicode=True, sort_keys=False, width=1000).strip()
    return f"---\n{header}\n---\n\n{doc.body.strip()}\n"


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "same", "added", "removed", "skip" (a run of unchanged lines left out)
    text: str


def diff(before: Document | None, after: Document, *, context: int = 3) -> list[DiffLine]:
    """What changed from ``before`` to ``after``, line by line (front matter included)."""
    old = document_markdown(before).splitlines() if before is not None else []
    new = document_markdown(after).splitlines()
    lines: list[DiffLine] = []
    for group in difflib.SequenceMatcher(None, old, new, autojunk=False).get_grouped_opcodes(context):
        if lines:
            lines.append(DiffLine("skip", "…"))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines.extend(DiffLine("same", text) for text in old[i1:i2])
                continue
            lines.extend(DiffLine("removed", text) for text in old[i1:i2])
            lines.extend(DiffLine("added", text) for text in new[j1:j2])
    return lines


# -- the service-guide form ---------------------------------------------------------------------------------------
# A guide's body is "# title" then "## 申请材料"-style sections (guide_fields). Facts of 基本信息 (事项名称,
# 实施主体, 服务对象) are "- 事项名称：…" lines. The form edits those facts and the sections' text.

BASIC_FACTS = ("事项名称", "实施主体", "服务对象")
SECTION_HEADINGS = tuple(f.heading for f in GUIDE_FIELDS if f.heading and f.heading != "基本信息")
_SECTION = re.compile(r"^##[ \t]+(.+?)[ \t]*$", re.MULTILINE)


def _sections(body: str) -> tuple[str, list[tuple[str, str]]]:
    """(text before the first ``##``, [(heading, text)])."""
    marks = list(_SECTION.finditer(body))
    head = body[: marks[0].start()] if marks else body
    out = []
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(body)
        out.append((mark.group(1).strip(), body[mark.end() : end].strip("\n")))
    return head, out


def guide_form(doc: Document) -> dict[str, str]:
    """The form's values: each basic fact and each section heading -> its text."""
    _, sections = _sections(doc.body)
    values = {name: "" for name in (*BASIC_FACTS, *SECTION_HEADINGS)}
    for heading, text in sections:
        if heading == "基本信息":
            for line in text.splitlines():
                match = re.match(r"^\s*[-*]?\s*([^：:]{1,16})[：:]\s*(.*)$", line)
                if match and match.group(1).strip() in BASIC_FACTS:
                    values[match.group(1).strip()] = match.group(2).strip()
        elif heading in values:
            values[heading] = text.strip()
    if not values["事项名称"]:
        values["事项名称"] = str(doc.extra.get("item_name") or "")
    if not values["实施主体"]:
        values["实施主体"] = doc.department
    return values


def with_guide_form(doc: Document, values: dict[str, str]) -> Document:
    """The document with the form's values written into its body (other sections and lines kept as they
    were) and ``item_name`` / ``department`` following the form."""
    head, sections = _sections(doc.body)
    given = {k: _clean(v) for k, v in values.items() if k in (*BASIC_FACTS, *SECTION_HEADINGS)}
    by_heading = dict(sections)
    basic = by_heading.get("基本信息", "")
    basic_lines = [line for line in basic.splitlines()
                   if not any(re.match(rf"^\s*[-*]?\s*{fact}\s*[：:]", line) for fact in BASIC_FACTS)]
    facts = [f"- {fact}：{given[fact]}" for fact in BASIC_FACTS if given.get(fact)]
    by_heading["基本信息"] = "\n".join([*facts, *[line for line in basic_lines if line.strip()]])
    for heading in SECTION_HEADINGS:
        if heading in given:
            by_heading[heading] = given[heading]
    order = [h for h, _ in sections]
    for heading in ("基本信息", *SECTION_HEADINGS):
        if heading not in order:
            order.append(heading)
    parts = [head.strip() or f"# {doc.title}"]
    parts += [f"## {h}\n{by_heading[h].strip()}" for h in order if by_heading.get(h, "").strip()]
    extra = dict(doc.extra)
    if given.get("事项名称"):
        extra["item_name"] = given["事项名称"]
    return replace(doc, body="\n\n".join(parts) + "\n", extra=extra,
                   department=given.get("实施主体") or doc.department)


def _clean(text: str) -> str:
    return "\n".join(line.rstrip() for line in str(text).replace("\r\n", "\n").replace("\r", "\n").split("\n")).strip()

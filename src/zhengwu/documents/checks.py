"""What staff must fix in a document before it is published, and what they should know: one ``Problem`` each,
in Chinese.

A *blocking* problem stops publishing (no title, an id that cannot be stored, a status or expiry date the
assistant would misread); a warning is shown next to the preview (a service guide without 申请材料, no
source URL, sentences that the screen will cut). The guide fields are found as the chunker finds them: by the
Markdown headings of ``guide_fields.GUIDE_FIELDS``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from zhengwu.documents.document import DOC_TYPE_LABELS, DOC_TYPES, EXPIRES, NATIONAL, STATUSES, Document, expiry_date
from zhengwu.documents.guide_fields import KEY_FIELDS, KEY_OF_HEADING, LABELS
from zhengwu.documents.screen import strip_instructions

__all__ = ["MAX_DOC_ID_CHARS", "Problem", "document_problems", "safe_doc_id"]

MAX_DOC_ID_CHARS = 128
# ASCII letters and digits, CJK ideographs (basic, extension A, compatibility, extensions B-G), ". _ -".
_DOC_ID = re.compile(
    r"[0-9A-Za-z._\-\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]"
    + f"{{1,{MAX_DOC_ID_CHARS}}}"
)
# 2024-05-01, 2024/5/1, 2024.05, 2024年5月1日: the forms a 更新日期 is written in.
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*(?:[-/.月]\s*(?:(\d{1,2})\s*日?)?)?")
_ITEM_NAME_LINE = re.compile(r"^[ \t\u3000]*(?:[-*•·][ \t\u3000]*)?事项名称[ \t\u3000]*[：:][ \t\u3000]*(\S.*)$",
                             re.MULTILINE)
_BASIC = "basic"  # the 基本信息 section's key


@dataclass(frozen=True)
class Problem:
    code: str  # stable, for code and tests: "missing_item_name"
    zh: str  # what the staff member reads
    blocking: bool  # True: must be fixed before publishing


def document_problems(doc: Document, *, today: date | None = None) -> list[Problem]:
    """Every problem of ``doc``, blocking ones first (each group in a fixed order)."""
    problems = [*_identity_problems(doc), *_metadata_problems(doc, today or date.today())]
    if doc.doc_type == "service_guide":
        problems.extend(_guide_problems(doc))
    dropped = _sentences_cut(doc.body)
    if dropped:
        problems.append(Problem(
            "instructions",
            f"文中有 {dropped} 句疑似对助手下达指令的内容，发布时将被删除，请核对原文。",
            False,
        ))
    return sorted(problems, key=lambda p: not p.blocking)


def safe_doc_id(doc_id: str) -> bool:
    """An id that can be stored, cited (``<doc_id>#<part>``) and put in a URL or a file name as it is."""
    return bool(_DOC_ID.fullmatch(doc_id)) and doc_id.strip(".") != ""


# --- the checks ------------------------------------------------------------------------------------------------


def _identity_problems(doc: Document) -> Iterator[Problem]:
    if not doc.title.strip():
        yield Problem("empty_title", "标题为空，请填写标题后再发布。", True)
    if not doc.body.strip():
        yield Problem("empty_body", "正文为空，请填写正文后再发布。", True)
    if not safe_doc_id(doc.doc_id):
        shown = doc.doc_id if len(doc.doc_id) <= 40 else doc.doc_id[:40] + "…"
        yield Problem(
            "unsafe_doc_id",
            f"文档编号“{shown}”不可用：编号只能由字母、数字、汉字和 . _ - 组成，长度 1 到 {MAX_DOC_ID_CHARS} 个字符"
            "（不能含空格、斜杠等符号，也不能只有点）。请修改编号后再发布。",
            True,
        )
    if doc.doc_type not in DOC_TYPES:
        choices = "、".join(f"{DOC_TYPE_LABELS[t]}（{t}）" for t in DOC_TYPES)
        yield Problem("bad_doc_type", f"文档类型“{doc.doc_type}”无效，应为{choices}之一。", True)
    if doc.status not in STATUSES:
        yield Problem(
            "bad_status",
            f"状态“{doc.status}”无效，应为 active（有效）、repealed（已废止）、withdrawn（已停办）或 draft（草稿）。",
            True,
        )


def _metadata_problems(doc: Document, today: date) -> Iterator[Problem]:
    raw_expires = doc.extra.get(EXPIRES)
    if raw_expires not in (None, ""):
        until = expiry_date(doc.extra)  # the rule questions are answered by, so that a check never disagrees
        if until is None:
            yield Problem(
                "bad_expires",
                f"失效日期“{str(raw_expires)[:40]}”不是 YYYY-MM-DD 格式的日期（例如 2026-12-31）。"
                "日期读不出来，文档就永远不会失效，请改正后再发布。",
                True,
            )
        elif until <= today:
            yield Problem("expired", f"失效日期 {until.isoformat()} 已过，发布后这份文档不会再用于回答。", False)
    if not doc.region.strip():
        yield Problem("missing_region", "未填写适用地区（region），助手无法按提问者所在地区优先使用这份文档。", False)
    elif doc.doc_type == "service_guide" and doc.region.strip() == NATIONAL:
        yield Problem(
            "national_guide",
            f"办事指南的地区是“{NATIONAL}”。如果这是某个省、市的事项，请填写所属地区，否则会被当作全国通用的指南。",
            False,
        )
    if not doc.department.strip():
        yield Problem("missing_department", "未填写发布或实施部门（department）。", False)
    url = doc.source_url.strip()
    if not url:
        yield Problem("missing_source_url", "未填写原文网址（source_url），回答引用时无法给出原文链接。", False)
    elif not url.lower().startswith(("http://", "https://")):
        yield Problem("bad_source_url", f"原文网址“{url[:60]}”不是以 http:// 或 https:// 开头的网址。", False)
    updated = doc.updated.strip()
    if not updated:
        yield Problem("missing_updated", "未填写更新日期（updated），无法判断内容是否过时。", False)
    elif _parse_date(updated) is None:
        yield Problem(
            "bad_updated",
            f"更新日期“{updated[:40]}”不是日期，请写成 YYYY-MM-DD 格式（例如 2024-05-01）。",
            False,
        )


def _guide_problems(doc: Document) -> Iterator[Problem]:
    sections = _guide_sections(doc.body)
    named = str(doc.extra.get("item_name") or "").strip()
    if not named and not any(_ITEM_NAME_LINE.search(text) for text in sections.get(_BASIC, [])):
        yield Problem(
            "missing_item_name",
            "办事指南缺少「事项名称」，请填写后再发布。可以在元数据中填写 item_name，或在「基本信息」一节写一行“事项名称：…”。",
            True,
        )
    for key in KEY_FIELDS:
        label = LABELS[key]
        texts = sections.get(key)
        if texts is None:
            yield Problem(f"missing_{key}", f"办事指南缺少「{label}」一节（标题为“## {label}”），群众问到时助手将无法回答。", False)
        elif not any(text.strip() for text in texts):
            yield Problem(f"empty_{key}", f"办事指南的「{label}」一节是空的（标题下没有直接写内容），请补充。", False)


def _guide_sections(body: str) -> dict[str, list[str]]:
    """Field key -> the text written directly under each heading of that field, as ``chunking`` cuts a guide:
    up to the next heading of any level."""
    groups: dict[str, list[list[str]]] = {}
    lines: list[str] | None = None
    for line in body.splitlines():
        heading = _heading_text(line)
        if heading is None:
            if lines is not None:
                lines.append(line)
            continue
        key = KEY_OF_HEADING.get(heading)
        lines = [] if key is not None else None
        if key is not None and lines is not None:
            groups.setdefault(key, []).append(lines)
    return {key: ["\n".join(texts) for texts in found] for key, found in groups.items()}


def _heading_text(line: str) -> str | None:
    """The text of a Markdown heading line as ``chunking._HEADING`` reads it, or None. A plain scan: the
    pattern itself backtracks for minutes on a heading line with a long run of spaces."""
    rest = line.lstrip("#")
    marks = len(line) - len(rest)
    if not 1 <= marks <= 6 or not rest[:1].isspace():
        return None
    text = rest.strip()
    return text.rstrip("#").rstrip() or text or None


def _sentences_cut(body: str) -> int:
    _, dropped = strip_instructions(body)
    return dropped


def _parse_date(text: str) -> date | None:
    match = _DATE.fullmatch(text)
    if match is None:
        return None
    year, month, day = int(match.group(1)), int(match.group(2)), int(match.group(3) or 1)
    try:
        return date(year, month, day)
    except ValueError:
        return None

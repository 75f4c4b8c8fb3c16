"""JSONL knowledge bases: one ``{"id", "title", "text", "metadata"}`` record per line (eval/FORMAT.md)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from zhengwu.chinese import FULL_STOPS
from zhengwu.documents.document import DOC_TYPES, NATIONAL, STATUSES, Document, LoadError
from zhengwu.documents.loaders._common import LoadFailure, check_choice, clean_line, clean_text, decode_text

_TITLE_CHARS = 30
_RECORD_SHAPE_ZH = "每行必须是一个 JSON 对象，例如 {\"id\": \"1\", \"title\": \"…\", \"text\": \"…\"}。"
_MISSING_ID_ZH = "缺少编号（id 字段）。每条记录都需要一个不重复的 id。"
_SENTENCE_END = re.compile(rf"[{FULL_STOPS}\n]")  # the title is the first full sentence (or line)
# Metadata keys that become Document fields, with their defaults; all other keys go to ``extra``.
_FIELD_DEFAULTS = {
    "doc_type": "faq",
    "region": NATIONAL,
    "department": "",
    "source_url": "",
    "status": "active",
    "updated": "",
}


def load_jsonl(
    data: bytes, *, path_label: str, display: str, max_records: int | None = None, max_errors: int | None = None
) -> tuple[list[tuple[Document, str]], list[LoadError]]:
    """Return ((document, "file:LINE") pairs, per-line errors). A bad line never stops the others.

    Uploads bound the file: more than ``max_records`` records fail it as a whole, and past ``max_errors`` bad
    lines are only counted, in one closing error (a file of a million bad lines must not become a million
    error objects)."""
    text = decode_text(data)
    loaded: list[tuple[Document, str]] = []
    errors: list[LoadError] = []
    first_line_by_id: dict[str, int] = {}
    records = unlisted = 0
    # Split on \n only: U+2028 and friends are legal inside JSON strings and must not break a record.
    for line_number, line in enumerate(_lines(text.replace("\r\n", "\n")), start=1):
        if not line.strip():
            continue
        records += 1
        if max_records is not None and records > max_records:
            raise LoadFailure(
                f"more than {max_records} records in file",
                zh=f"文件中的记录超过 {max_records} 条上限。请拆分成几个较小的文件后分别上传。",
            )
        source = f"{path_label}:{line_number}"
        try:
            doc = _record_document(line, display=display)
        except LoadFailure as exc:
            error = LoadError(path=source, reason=exc.reason, zh=f"第 {line_number} 行：{exc.zh}")
        else:
            first = first_line_by_id.get(doc.doc_id)
            if first is None:
                first_line_by_id[doc.doc_id] = line_number
                loaded.append((doc, source))
                continue
            error = LoadError(
                path=source,
                reason=f"duplicate id '{doc.doc_id}' (first seen on line {first}); skipped",
                zh=f"第 {line_number} 行：编号“{doc.doc_id}”与第 {first} 行重复，本行未导入。请为每条记录使用不同的 id。",
            )
        if max_errors is not None and len(errors) >= max_errors:
            unlisted += 1
        else:
            errors.append(error)
    if not records:
        raise LoadFailure(
            "no records in file (empty JSONL)",
            zh="JSONL 文件是空的，没有任何记录。每行应是一条 JSON 记录，例如 {\"id\": \"1\", \"title\": \"…\", \"text\": \"…\"}。",
        )
    if unlisted:
        errors.append(LoadError(
            path=path_label,
            reason=f"and {unlisted} more bad record(s), not listed",
            zh=f"另有 {unlisted} 行有误，未逐一列出。请先改正上面列出的问题，再检查其余各行。",
        ))
    return loaded, errors


def _lines(text: str) -> Iterator[str]:
    """``text.split("\\n")``, one line at a time: a file of millions of short lines is not held as a list."""
    start = 0
    while (end := text.find("\n", start)) != -1:
        yield text[start:end]
        start = end + 1
    yield text[start:]


def _record_document(line: str, *, display: str) -> Document:
    try:
        record = json.loads(line, strict=False)  # strict=False: tolerate raw tabs inside strings
    except json.JSONDecodeError as exc:
        raise LoadFailure(
            f"line is not valid JSON: {exc.msg} (column {exc.colno})",
            zh=f"不是有效的 JSON（第 {exc.colno} 个字符附近）。常见原因：少了引号或逗号、用了中文引号“”。",
        ) from exc
    except RecursionError as exc:
        raise LoadFailure("line is not valid JSON: nested too deeply", zh="JSON 嵌套层数过多，无法读取。") from exc
    if not isinstance(record, dict):
        raise LoadFailure("line is not a JSON object", zh=_RECORD_SHAPE_ZH)

    doc_id = _record_id(record.get("id"))
    body = _record_text(record.get("text"))
    metadata = record.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise LoadFailure("'metadata' must be an object", zh="metadata 必须是一个 JSON 对象（{…}），不能是列表或文字。")
    title = record.get("title")
    title = clean_line(title) if isinstance(title, str) else ""
    fields = {key: _metadata_str(metadata, key, default) for key, default in _FIELD_DEFAULTS.items()}
    return Document(
        doc_id=doc_id,
        title=title or _first_sentence(body),
        body=body,
        doc_type=check_choice("doc_type", fields["doc_type"], DOC_TYPES),
        region=fields["region"],
        department=fields["department"],
        updated=fields["updated"],
        source_url=fields["source_url"],
        status=check_choice("status", fields["status"], STATUSES),
        path=display,
        extra={str(k): v for k, v in metadata.items() if k not in _FIELD_DEFAULTS},
    )


def _record_id(value: Any) -> str:
    # JSON integers are exact in Python, so a numeric id keeps its digits; booleans are not ids.
    if value is None:
        raise LoadFailure("missing 'id'", zh=_MISSING_ID_ZH)
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise LoadFailure("'id' must be a string", zh="id 必须是文字或整数。")
    doc_id = clean_line(str(value))
    if not doc_id:
        raise LoadFailure("missing 'id'", zh=_MISSING_ID_ZH)
    return doc_id


def _record_text(value: Any) -> str:
    if value is None:
        raise LoadFailure("missing 'text'", zh="缺少正文（text 字段）。")
    if not isinstance(value, str):
        raise LoadFailure("'text' must be a string", zh="正文（text 字段）必须是文字。")
    body = clean_text(value)
    if not body:
        raise LoadFailure("'text' is empty", zh="正文（text 字段）是空的。")
    return body


def _metadata_str(metadata: dict[str, Any], key: str, default: str) -> str:
    value = metadata.get(key)
    if value is None:
        return default
    return clean_line(str(value)) or default


def _first_sentence(text: str) -> str:
    for piece in _SENTENCE_END.split(text):
        piece = clean_line(piece)
        if piece:
            return piece[:_TITLE_CHARS]
    return ""

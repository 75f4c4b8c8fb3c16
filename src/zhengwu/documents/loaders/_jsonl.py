"""JSONL knowledge bases: one ``{"id", "title", "text", "metadata"}`` record per line (eval/FORMAT.md)."""

from __future__ import annotations

import json
import re
from typing import Any

from zhengwu.chinese import FULL_STOPS
from zhengwu.documents.document import DOC_TYPES, NATIONAL, STATUSES, Document, LoadError
from zhengwu.documents.loaders._common import LoadFailure, check_choice, clean_line, clean_text, decode_text

_TITLE_CHARS = 30
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


def load_jsonl(data: bytes, *, path_label: str, display: str) -> tuple[list[tuple[Document, str]], list[LoadError]]:
    """Return ((document, "file:LINE") pairs, per-line errors). A bad line never stops the others."""
    text = decode_text(data)
    loaded: list[tuple[Document, str]] = []
    errors: list[LoadError] = []
    first_line_by_id: dict[str, int] = {}
    any_record = False
    # Split on \n only: U+2028 and friends are legal inside JSON strings and must not break a record.
    for line_number, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        if not line.strip():
            continue
        any_record = True
        source = f"{path_label}:{line_number}"
        try:
            doc = _record_document(line, display=display)
        except LoadFailure as exc:
            errors.append(LoadError(path=source, reason=exc.reason))
            continue
        if doc.doc_id in first_line_by_id:
            reason = f"duplicate id '{doc.doc_id}' (first seen on line {first_line_by_id[doc.doc_id]}); skipped"
            errors.append(LoadError(path=source, reason=reason))
            continue
        first_line_by_id[doc.doc_id] = line_number
        loaded.append((doc, source))
    if not any_record:
        raise LoadFailure("no records in file (empty JSONL)")
    return loaded, errors


def _record_document(line: str, *, display: str) -> Document:
    try:
        record = json.loads(line, strict=False)  # strict=False: tolerate raw tabs inside strings
    except json.JSONDecodeError as exc:
        raise LoadFailure(f"line is not valid JSON: {exc.msg} (column {exc.colno})") from exc
    if not isinstance(record, dict):
        raise LoadFailure("line is not a JSON object")

    doc_id = _record_id(record.get("id"))
    body = _record_text(record.get("text"))
    metadata = record.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise LoadFailure("'metadata' must be an object")
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
        raise LoadFailure("missing 'id'")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise LoadFailure("'id' must be a string")
    doc_id = clean_line(str(value))
    if not doc_id:
        raise LoadFailure("missing 'id'")
    return doc_id


def _record_text(value: Any) -> str:
    if value is None:
        raise LoadFailure("missing 'text'")
    if not isinstance(value, str):
        raise LoadFailure("'text' must be a string")
    body = clean_text(value)
    if not body:
        raise LoadFailure("'text' is empty")
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

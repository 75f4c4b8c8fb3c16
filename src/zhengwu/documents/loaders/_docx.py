"""Word .docx files via python-docx: headings become Markdown ``#`` lines, table rows ``a | b | c``."""

from __future__ import annotations

import io
import re

import docx
from docx.table import Table
from docx.text.paragraph import Paragraph

from zhengwu.documents.document import Document
from zhengwu.documents.loaders._common import LoadFailure, clean_line, clean_text, require_body

# "Heading 2" (English Word), "标题 2" / "标题2" (Chinese Word, WPS); "Title" / "标题" is the document title.
_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*(\d)$", re.IGNORECASE)
_TITLE_STYLE = re.compile(r"^(?:title|标题)$", re.IGNORECASE)
_ZIP_MAGIC = b"PK\x03\x04"


def docx_document(data: bytes, *, stem: str, display: str, fallback_id: str) -> Document:
    if not data.startswith(_ZIP_MAGIC):
        raise LoadFailure("not a valid DOCX (not a ZIP archive; an old .doc file?)")
    try:
        document = docx.Document(io.BytesIO(data))
        lines: list[str] = []
        first_heading = ""
        for block in document.iter_inner_content():
            if isinstance(block, Paragraph):
                line, level = _paragraph_line(block)
                if level:
                    first_heading = first_heading or line[level + 1 :]
                    lines.append("")  # blank line before a heading, as in hand-written Markdown
                if line:
                    lines.append(line)
            elif isinstance(block, Table):
                lines.extend(_table_rows(block))
        core_title = document.core_properties.title or ""
    except Exception as exc:  # noqa: BLE001 - python-docx raises many types on damaged packages
        raise LoadFailure(f"unreadable DOCX: {type(exc).__name__}: {exc}") from exc

    body = require_body(clean_text("\n".join(lines)))
    title = clean_line(core_title) or first_heading or clean_line(stem)
    return Document(doc_id=fallback_id, title=title, body=body, path=display)


def _paragraph_line(paragraph: Paragraph) -> tuple[str, int]:
    """Return (line, heading level); level 0 means an ordinary paragraph."""
    text = clean_line(paragraph.text)
    if not text:
        return "", 0
    style_name = ((paragraph.style.name if paragraph.style is not None else "") or "").strip()
    if _TITLE_STYLE.match(style_name):
        level = 1
    elif match := _HEADING_STYLE.match(style_name):
        level = max(1, min(int(match.group(1)), 6))
    else:
        return text, 0
    return "#" * level + " " + text, level


def _table_rows(table: Table) -> list[str]:
    rows: list[str] = []
    for row in table.rows:
        cells: list[str] = []
        previous = None
        for cell in row.cells:
            # A horizontally merged cell is returned once per grid column; keep it once.
            if cell._tc is previous:
                continue
            previous = cell._tc
            text = clean_line(cell.text)
            if text:
                cells.append(text)
        if cells:
            rows.append(" | ".join(cells))
    return rows

"""PDF files via pypdf: the text of all pages, joined by blank lines."""

from __future__ import annotations

import io
import re

from pypdf import PasswordType, PdfReader

from zhengwu.documents.document import Document
from zhengwu.documents.loaders._common import LoadFailure, clean_line, clean_text

_HEADER_WINDOW = 1024  # PDF readers accept the %PDF header anywhere in the first KB
# Metadata titles that generators fill in by default and that say nothing about the document.
_WORD_EXPORT = re.compile(r"^Microsoft Word - (.*?)(?:\.docx?)?$", re.IGNORECASE)
_PLACEHOLDER_TITLES = frozenset({"untitled", "无标题", "title"})


def pdf_document(data: bytes, *, stem: str, display: str, fallback_id: str) -> Document:
    reader = _open(data)
    texts: list[str] = []
    failures: list[str] = []
    for page in reader.pages:
        try:
            texts.append((page.extract_text() or "").strip())
        except Exception as exc:  # noqa: BLE001 - pypdf raises many types on damaged pages
            failures.append(f"{type(exc).__name__}: {exc}")
    body = clean_text("\n\n".join(text for text in texts if text))
    if not body:
        if failures:
            raise LoadFailure(f"unreadable PDF: {failures[0]}")
        raise LoadFailure("no text could be extracted (scanned PDF?)")
    return Document(doc_id=fallback_id, title=_title(reader) or clean_line(stem), body=body, path=display)


def _open(data: bytes) -> PdfReader:
    if not data:
        raise LoadFailure("not a valid PDF (file is empty)")
    if b"%PDF" not in data[:_HEADER_WINDOW]:
        raise LoadFailure("not a valid PDF (file header is not %PDF)")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            # Owner-password-only PDFs (copy/print restrictions, common for official documents) open
            # with an empty user password, as in any viewer; anything else needs a password we do not have.
            raise LoadFailure("PDF is encrypted and needs a password")
        _ = len(reader.pages)  # parses the page tree now, so a damaged file fails here with a clear reason
    except LoadFailure:
        raise
    except Exception as exc:  # noqa: BLE001 - pypdf raises many types on damaged files
        raise LoadFailure(f"unreadable PDF: {type(exc).__name__}: {exc}") from exc
    return reader


def _title(reader: PdfReader) -> str:
    try:
        title = reader.metadata.title if reader.metadata else None
    except Exception:  # noqa: BLE001 - damaged metadata must not cost us the text
        return ""
    title = clean_line(_WORD_EXPORT.sub(r"\1", str(title or "")))
    return "" if title.lower() in _PLACEHOLDER_TITLES else title

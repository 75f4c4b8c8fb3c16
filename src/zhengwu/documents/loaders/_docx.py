"""Word .docx files via python-docx: headings become Markdown ``#`` lines, table rows ``a | b | c``."""

from __future__ import annotations

import io
import re
import zipfile

import docx
from docx.table import Table
from docx.text.paragraph import Paragraph

from zhengwu.documents.document import Document
from zhengwu.documents.loaders._common import LoadFailure, clean_line, clean_text, require_body

# "Heading 2" (English Word), "标题 2" / "标题2" (Chinese Word, WPS); "Title" / "标题" is the document title.
_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*(\d)$", re.IGNORECASE)
_TITLE_STYLE = re.compile(r"^(?:title|标题)$", re.IGNORECASE)
_ZIP_MAGIC = b"PK\x03\x04"
_CENTRAL_ENTRY = b"PK\x01\x02"  # one per member in the ZIP's central directory
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old .doc, and Word files with an open password
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")

# A .docx is a ZIP archive: its table of contents is checked before python-docx inflates anything, so that a
# ZIP bomb (a few KB that expand to gigabytes) is refused, not unpacked. Real documents stay far below these.
MAX_MEMBERS = 2000
MAX_UNCOMPRESSED_BYTES = 100 * 1024 * 1024
MAX_RATIO = 200  # uncompressed / compressed, for a member over RATIO_FLOOR_BYTES (XML is typically 5-20)
RATIO_FLOOR_BYTES = 1024 * 1024
# python-docx holds the XML parts as lxml trees, about ten times their size: uploads cap it.
UPLOAD_MAX_XML_BYTES = 16 * 1024 * 1024

_DAMAGED_ZH = "Word 文件已损坏，无法读取。请用 Word 或 WPS 打开，另存为 .docx 后重新上传。"
_BOMB_ZH = (
    "Word 文件解压后的体积大得异常（{detail}），可能是损坏或恶意构造的文件，为安全起见已拒绝读取。"
    "请用 Word 或 WPS 重新保存后再上传。"
)


def docx_document(
    data: bytes, *, stem: str, display: str, fallback_id: str, max_xml_bytes: int | None = None
) -> Document:
    """``max_xml_bytes``: the cap on the XML parts' total size (uploads), None for trusted files."""
    if not data.startswith(_ZIP_MAGIC):
        raise _not_a_zip(data)
    _check_archive(data, max_xml_bytes)
    try:
        document = docx.Document(io.BytesIO(data))
        styles = _StyleNames()
        lines: list[str] = []
        first_heading = ""
        for block in document.iter_inner_content():
            if isinstance(block, Paragraph):
                line, level = _paragraph_line(block, styles)
                if level:
                    first_heading = first_heading or line[level + 1 :]
                    lines.append("")  # blank line before a heading, as in hand-written Markdown
                if line:
                    lines.append(line)
            elif isinstance(block, Table):
                lines.extend(_table_rows(block))
        core_title = document.core_properties.title or ""
    except Exception as exc:  # noqa: BLE001 - python-docx raises many types on damaged packages
        raise LoadFailure(f"unreadable DOCX: {type(exc).__name__}: {exc}", zh=_DAMAGED_ZH) from exc

    body = require_body(
        clean_text("\n".join(lines)),
        zh="Word 文档里没有文字内容（可能只有图片或扫描件）。请检查文件，或改传带文字的版本。",
    )
    title = clean_line(core_title) or first_heading or clean_line(stem)
    return Document(doc_id=fallback_id, title=title, body=body, path=display)


def _not_a_zip(data: bytes) -> LoadFailure:
    reason = "not a valid DOCX (not a ZIP archive; an old .doc file?)"
    if data.startswith(_OLE_MAGIC):
        if _ENCRYPTED_PACKAGE in data[:1024 * 1024]:
            return LoadFailure(
                reason + ": an encrypted Word file",
                zh="Word 文件设置了打开密码（已加密），无法读取。请在 Word 中取消密码后另存为 .docx 再上传。",
            )
        return LoadFailure(
            reason,
            zh="这是旧版 Word 文档（.doc），系统只能读取 .docx。请在 Word 或 WPS 中“另存为”.docx 格式后重新上传。",
        )
    return LoadFailure(
        reason,
        zh="文件内容不是 Word（.docx）文档（可能是扩展名写错了，或文件已损坏）。请用 Word 打开确认后另存为 .docx 再上传。",
    )


def _check_archive(data: bytes, max_xml_bytes: int | None) -> None:
    # Counted in the raw bytes first: ZipFile builds an object per member, and a 20 MB archive can list 400,000.
    if data.count(_CENTRAL_ENTRY) > MAX_MEMBERS:
        raise _bomb(f"more than {MAX_MEMBERS} members", f"包含超过 {MAX_MEMBERS} 个内部文件")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except Exception as exc:  # noqa: BLE001 - BadZipFile, and odd headers (ValueError, OverflowError)
        raise LoadFailure(f"unreadable DOCX: {type(exc).__name__}: {exc}", zh=_DAMAGED_ZH) from exc
    if len(members) > MAX_MEMBERS:
        raise _bomb(f"more than {MAX_MEMBERS} members", f"包含超过 {MAX_MEMBERS} 个内部文件")
    total = sum(member.file_size for member in members)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise _bomb(f"expands to {_mb(total)} (at most {_mb(MAX_UNCOMPRESSED_BYTES)})",
                    f"解压后共 {_mb(total)}，上限 {_mb(MAX_UNCOMPRESSED_BYTES)}")
    for member in members:
        if member.file_size > RATIO_FLOOR_BYTES and member.file_size > MAX_RATIO * max(member.compress_size, 1):
            ratio = member.file_size // max(member.compress_size, 1)
            raise _bomb(f"member {member.filename!r} is compressed {ratio}:1 (at most {MAX_RATIO}:1)",
                        f"其中一个内部文件压缩比达 {ratio}:1")
    names = {member.filename for member in members}
    if not any(name.startswith("word/") for name in names):
        raise LoadFailure("not a valid DOCX (a ZIP archive without a Word document)", zh=_other_archive_zh(names))
    if max_xml_bytes is not None:
        xml = sum(m.file_size for m in members if m.filename.lower().endswith((".xml", ".rels")))
        if xml > max_xml_bytes:
            raise LoadFailure(
                f"DOCX text parts are {_mb(xml)} (at most {_mb(max_xml_bytes)})",
                zh=f"Word 文档的文字内容过多（解压后 {_mb(xml)}，上限 {_mb(max_xml_bytes)}）。请拆分成几个较小的文件后分别上传。",
            )


def _other_archive_zh(names: set[str]) -> str:
    if any(name.startswith("xl/") for name in names):
        kind = "Excel 表格（.xlsx）"
    elif any(name.startswith("ppt/") for name in names):
        kind = "PowerPoint 演示文稿（.pptx）"
    else:
        kind = "普通 ZIP 压缩包"
    return f"文件看起来是{kind}，不是 Word 文档。请上传 .docx 格式的 Word 文件（表格可另存为 PDF 后上传）。"


def _bomb(reason: str, detail: str) -> LoadFailure:
    return LoadFailure(f"refused DOCX: {reason} (a ZIP bomb?)", zh=_BOMB_ZH.format(detail=detail))


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


class _StyleNames:
    """Paragraph style names by style id. ``Paragraph.style`` looks up the default style by scanning every
    style each time (about a millisecond): on a long document that was minutes."""

    def __init__(self) -> None:
        self._names: dict[str | None, str] = {}

    def of(self, paragraph: Paragraph) -> str:
        style_id = paragraph._p.style
        name = self._names.get(style_id)
        if name is None:
            style = paragraph.style
            name = self._names[style_id] = ((style.name if style is not None else "") or "").strip()
        return name


def _paragraph_line(paragraph: Paragraph, styles: _StyleNames) -> tuple[str, int]:
    """Return (line, heading level); level 0 means an ordinary paragraph."""
    text = clean_line(paragraph.text)
    if not text:
        return "", 0
    style_name = styles.of(paragraph)
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

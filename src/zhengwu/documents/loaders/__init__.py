"""Stage 1 of the data path: turn files on disk into ``Document`` objects.

Document -> Chunk -> Index -> Retriever -> Answer -> Channel.

Supported inputs: Markdown with optional YAML front matter (docs/corpus-format.md), plain text, HTML, PDF,
DOCX, and JSONL knowledge bases (one ``{"id", "title", "text", "metadata"}`` record per line).

A bad file never stops a load: ``load_paths`` records a ``LoadError`` whose reason an operator can act on and
carries on with the next file. ``load_file`` raises ``LoadFailure`` instead, for callers handling one file.

``load_upload`` loads a file staff uploaded through the console, held in memory: the same parsers, with bounds
for a file nobody has vetted (size, pages, ZIP and decompression bombs, nesting, time). Every failure carries a
Chinese message for staff (``LoadFailure.zh``, ``LoadError.zh``) next to the English ``reason``.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from zhengwu.documents.document import Document, LoadError
from zhengwu.documents.loaders._common import (
    GENERIC_ZH,
    LoadFailure,
    clean_line,
    clean_text,
    decode_text,
    require_body,
)

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_UPLOAD_BYTES",
    "SUPPORTED_SUFFIXES",
    "LoadFailure",
    "LoadResult",
    "UploadResult",
    "load_file",
    "load_paths",
    "load_upload",
]

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
# An upload's JSONL knowledge base: records held at once, bad lines listed one by one.
MAX_UPLOAD_RECORDS = 50_000
MAX_UPLOAD_ERRORS = 100
_MAX_NAME_CHARS = 255

_MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
_HTML_SUFFIXES = frozenset({".html", ".htm"})
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(
    {*_MARKDOWN_SUFFIXES, *_HTML_SUFFIXES, ".txt", ".pdf", ".docx", ".jsonl"}
)

# Repository documentation that sits next to corpus files but is not itself a document (compared lower-case).
SKIPPED_FILE_NAMES = frozenset({"readme.md", "sources.md"})

_MAX_REASONS_IN_SUMMARY = 3


@dataclass
class LoadResult:
    documents: list[Document]
    errors: list[LoadError]
    files_seen: int


@dataclass
class UploadResult:
    """The documents in one uploaded file, and its bad records (only a JSONL file can be partly bad)."""

    documents: list[Document]
    errors: list[LoadError]


def load_paths(paths: Iterable[Path], *, root: Path | None = None) -> LoadResult:
    """Load every supported file under ``paths`` (files or directories), collecting errors instead of raising.

    Directories are walked recursively in sorted order, skipping hidden entries, README.md / SOURCES.md and
    unsupported suffixes. A file reached twice (a directory and a file inside it) is loaded once. When two
    documents share a ``doc_id`` the first wins and the later one is reported as an error.
    ``files_seen`` counts the supported files that were attempted, whether or not they loaded.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [Path(paths)]
    documents: list[Document] = []
    errors: list[LoadError] = []
    first_source_by_id: dict[str, str] = {}
    files_seen = 0

    for file_path, path_error in _iter_candidate_files(paths):
        if path_error is not None:
            errors.append(path_error)
            continue
        files_seen += 1
        try:
            loaded, record_errors = _load_one(file_path, root=root)
        except LoadFailure as exc:
            errors.append(LoadError(path=str(file_path), reason=exc.reason, zh=exc.zh))
            continue
        except Exception as exc:  # noqa: BLE001 - a parser bug on one file must not stop the whole ingest
            errors.append(LoadError(path=str(file_path), reason=_unexpected(exc).reason, zh=GENERIC_ZH))
            continue
        errors.extend(record_errors)
        for document, source in loaded:
            first = first_source_by_id.get(document.doc_id)
            if first is not None:
                reason = f"duplicate doc_id '{document.doc_id}' in {source}: already loaded from {first}; skipped"
                errors.append(LoadError(path=source, reason=reason))
                continue
            first_source_by_id[document.doc_id] = source
            documents.append(document)

    return LoadResult(documents=documents, errors=errors, files_seen=files_seen)


def load_file(path: Path, *, root: Path | None = None, errors: list[LoadError] | None = None) -> list[Document]:
    """Load one file; raise ``LoadFailure`` if it cannot be used.

    A JSONL knowledge base can be partly bad. If ``errors`` is given, its bad lines are appended there and the
    good records returned; otherwise any bad line raises ``LoadFailure``, so nothing is dropped silently.
    """
    loaded, record_errors = _load_one(Path(path), root=root)
    if record_errors:
        if errors is None:
            raise LoadFailure(_summarise_record_errors(record_errors), zh=_summarise_record_errors_zh(record_errors))
        errors.extend(record_errors)
    return [document for document, _source in loaded]


def load_upload(filename: str, data: bytes, *, max_bytes: int = MAX_UPLOAD_BYTES) -> UploadResult:
    """Load one uploaded file held in memory; raise ``LoadFailure`` (with ``zh`` for staff) if it cannot be used.

    The file name comes from the browser and is not trusted: only its suffix chooses the parser, its stem is
    at most a title, and a document without an id of its own gets the id ``load_paths`` would give a file of
    that (cleaned) name, so uploading the same file again yields the same id. Nothing is written anywhere.
    A JSONL file may be partly bad: its good records come back with one ``LoadError`` per bad line.
    Any other failure, a parser's own bug included, is a ``LoadFailure``.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, not {type(data).__name__}")
    size = len(data)
    if size > max_bytes:
        raise LoadFailure(
            f"file is larger than {_human_size(max_bytes)} ({_human_size(size)})",
            zh=f"文件大小 {_size_zh(size)}，超过上限 {_size_zh(max_bytes, exact=True)}。"
            "请拆分成几个较小的文件（或压缩其中的图片）后再上传。",
        )
    data = bytes(data)
    name = _upload_name(filename)
    suffix = _suffix(name)
    try:
        if suffix not in SUPPORTED_SUFFIXES:
            raise LoadFailure(_unsupported_reason(Path(name or "upload")), zh=_unsupported_zh(suffix))
        loaded, errors = _parse(
            data, suffix=suffix, stem=Path(name).stem, display=name, fallback_id=_name_doc_id(name),
            path_label=name, upload=True,
        )
    except LoadFailure as exc:
        raise _with_content_hint(exc, data, suffix) from exc.__cause__
    except Exception as exc:  # noqa: BLE001 - a parser's bug (or a MemoryError) is still a refused file
        raise _unexpected(exc) from exc
    return UploadResult(documents=[document for document, _source in loaded], errors=errors)


# --- walking ---------------------------------------------------------------------------------------------------


def _iter_candidate_files(paths: Iterable[Path]) -> Iterator[tuple[Path, LoadError | None]]:
    """Yield each file to load once, in a deterministic order, or an error for a path that cannot be used."""
    seen: set[str] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            candidates = _walk_directory(path)
        elif path.is_file():
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                # Named explicitly, so the operator expects it to load: say why it does not.
                yield path, LoadError(path=str(path), reason=_unsupported_reason(path))
                continue
            candidates = [path]
        else:
            yield path, LoadError(path=str(path), reason="path does not exist")
            continue
        for candidate in candidates:
            key = os.path.realpath(candidate)
            if key not in seen:
                seen.add(key)
                yield candidate, None


def _walk_directory(directory: Path) -> list[Path]:
    found: list[Path] = []
    visited: set[str] = set()

    def walk(current: Path) -> None:
        real = os.path.realpath(current)
        if real in visited:  # a symlink loop would otherwise recurse forever
            return
        visited.add(real)
        try:
            entries = sorted(current.iterdir(), key=lambda entry: entry.name)
        except OSError:
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir():
                walk(entry)
            elif _is_corpus_file(entry):
                found.append(entry)

    walk(directory)
    return found


def _is_corpus_file(path: Path) -> bool:
    return (
        path.is_file()
        and path.suffix.lower() in SUPPORTED_SUFFIXES
        and path.name.lower() not in SKIPPED_FILE_NAMES
    )


def _unsupported_reason(path: Path) -> str:
    return f"unsupported file type '{path.suffix or path.name}' (supported: {', '.join(sorted(SUPPORTED_SUFFIXES))})"


_SUPPORTED_ZH = "PDF（.pdf）、Word（.docx）、网页（.html / .htm）、Markdown（.md）、纯文本（.txt）或 JSONL（.jsonl）"


def _unsupported_zh(suffix: str) -> str:
    if not suffix:
        return f"无法识别文件类型：文件名没有扩展名。系统只能读取 {_SUPPORTED_ZH} 文件，请检查文件名后重新上传。"
    if suffix == ".doc":
        return "系统只能读取 .docx 格式的 Word 文件。请在 Word 或 WPS 中把这份 .doc 文件“另存为”.docx 后重新上传。"
    return f"不支持 {suffix[:20]} 类型的文件。系统只能读取 {_SUPPORTED_ZH} 文件。"


def _unexpected(exc: BaseException) -> LoadFailure:
    return LoadFailure(
        f"unexpected error: {type(exc).__name__}: {exc}",
        zh="文件无法读取：处理时出现意外错误。请确认文件能正常打开；如果问题仍然存在，请联系系统管理员。",
    )


# --- one file --------------------------------------------------------------------------------------------------


def _load_one(path: Path, *, root: Path | None) -> tuple[list[tuple[Document, str]], list[LoadError]]:
    """Return ((document, source label) pairs, per-record errors); raise ``LoadFailure`` for a bad file."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise LoadFailure(_unsupported_reason(path), zh=_unsupported_zh(suffix))
    data = _read_bytes(path)
    return _parse(
        data, suffix=suffix, stem=path.stem, display=_display_path(path, root), fallback_id=_path_doc_id(path, root),
        path_label=str(path), upload=False,
    )


def _parse(
    data: bytes, *, suffix: str, stem: str, display: str, fallback_id: str, path_label: str, upload: bool
) -> tuple[list[tuple[Document, str]], list[LoadError]]:
    """The one parsing path, for files on disk and uploads alike; ``upload`` adds the bounds for untrusted
    files (the format modules' ``UPLOAD_*`` limits)."""
    if suffix == ".jsonl":
        from zhengwu.documents.loaders._jsonl import load_jsonl

        if upload:
            return load_jsonl(data, path_label=path_label, display=display, max_records=MAX_UPLOAD_RECORDS,
                              max_errors=MAX_UPLOAD_ERRORS)
        return load_jsonl(data, path_label=path_label, display=display)

    # Format modules are imported on first use: pypdf, python-docx and bs4 cost start-up time.
    options = {"stem": stem, "display": display, "fallback_id": fallback_id}
    if suffix in _MARKDOWN_SUFFIXES:
        from zhengwu.documents.loaders._markdown import markdown_document

        document = markdown_document(decode_text(data), **options)
    elif suffix in _HTML_SUFFIXES:
        from zhengwu.documents.loaders import _html

        document = _html.html_document(
            decode_text(data), **options, max_elements=_html.UPLOAD_MAX_ELEMENTS if upload else None
        )
    elif suffix == ".pdf":
        from zhengwu.documents.loaders import _pdf

        document = _pdf.pdf_document(data, **options, limits=_pdf.UPLOAD_LIMITS if upload else None)
    elif suffix == ".docx":
        from zhengwu.documents.loaders import _docx

        document = _docx.docx_document(
            data, **options, max_xml_bytes=_docx.UPLOAD_MAX_XML_BYTES if upload else None
        )
    else:  # .txt
        body = require_body(
            clean_text(decode_text(data)),
            zh="文本文件里没有文字内容（可能是空文件）。请检查后重新上传。",
        )
        document = Document(doc_id=fallback_id, title=clean_line(stem), body=body, path=display)
    return [(document, path_label)], []


def _read_bytes(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        # Checked before reading, so a stray multi-GB dump never lands in memory.
        if size > MAX_FILE_BYTES:
            raise LoadFailure(
                f"file is larger than {_human_size(MAX_FILE_BYTES)} ({_human_size(size)})",
                zh=f"文件大小 {_size_zh(size)}，超过上限 {_size_zh(MAX_FILE_BYTES, exact=True)}。请拆分成几个较小的文件。",
            )
        return path.read_bytes()
    except OSError as exc:
        raise LoadFailure(
            f"could not read file: {exc.strerror or exc}", zh="文件无法打开（可能已被移走或没有读取权限）。"
        ) from exc


def _human_size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.3g} MB"
    if n >= 1024:
        return f"{n / 1024:.3g} KB"
    return f"{n} bytes"


def _size_zh(n: int, *, exact: bool = False) -> str:
    """``50.0 MB``; a limit reads ``20 MB`` (``exact``: no ``.0``)."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if n >= scale:
            text = f"{n / scale:.1f}"
            return f"{text[:-2] if exact and text.endswith('.0') else text} {unit}"
    return f"{n} 字节"


# --- uploads ---------------------------------------------------------------------------------------------------


def _upload_name(filename: object) -> str:
    """The base name of an uploaded file, safe to show and to key an id on: no directories (``../``, ``C:\\``),
    no control characters (NUL), no trailing dots or spaces, at most 255 characters with the suffix kept."""
    name = filename if isinstance(filename, str) else ""
    name = name.encode("utf-8", "replace").decode("utf-8")  # lone surrogates from a lenient decoder
    name = clean_line(unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1]))
    name = name.rstrip(" .")
    if len(name) > _MAX_NAME_CHARS:
        suffix = Path(name).suffix
        keep = suffix if len(suffix) <= 16 else ""
        name = name[: _MAX_NAME_CHARS - len(keep)].rstrip(" .") + keep
    return name


def _suffix(name: str) -> str:
    """The lower-case suffix; full-width letters (``.ＰＤＦ``) count as their ASCII selves."""
    return unicodedata.normalize("NFKC", Path(name).suffix).lower() if name else ""


def _name_doc_id(name: str) -> str:
    return "file-" + hashlib.sha1(name.encode("utf-8")).hexdigest()[:12]


# What a file's first bytes say it is, for a failure that may come from a wrong suffix: (magic, what staff are
# told it is, the suffixes it may rightly have, what to do).
_RENAME = "如果它确实是{label}，请把扩展名改为 {suffix} 后重新上传。"
_CONVERT = "请另存为 PDF 或 Word（.docx）后再上传。"
_PICTURE = "系统无法识别图片里的文字，请上传带文字的 PDF 或 Word 文件。"
_ARCHIVE = "请解压后分别上传其中的文件。"
_OFFICE = frozenset({".doc", ".docx", ".xls", ".ppt"})
_SNIFFED: tuple[tuple[bytes, str, frozenset[str], str], ...] = (
    (b"\xd0\xcf\x11\xe0", "旧版 Office 文件（.doc / .xls）或加了密码的 Word 文件", _OFFICE, _CONVERT),
    (b"\x89PNG", "PNG 图片", frozenset(), _PICTURE),
    (b"\xff\xd8\xff", "JPEG 图片", frozenset(), _PICTURE),
    (b"GIF8", "GIF 图片", frozenset(), _PICTURE),
    (b"Rar!", "RAR 压缩包", frozenset(), _ARCHIVE),
    (b"7z\xbc\xaf", "7z 压缩包", frozenset(), _ARCHIVE),
)


def _content_kind(data: bytes) -> tuple[str, frozenset[str], str] | None:
    head = data[:1024]
    if b"%PDF" in head:
        return "PDF 文件", frozenset({".pdf"}), _RENAME.format(label="PDF 文件", suffix=".pdf")
    for magic, label, suffixes, advice in _SNIFFED:
        if head.startswith(magic):
            return label, suffixes, advice
    if head.startswith(b"PK\x03\x04"):
        window = data[:65536]
        if b"word/" in window:
            return "Word 文件", frozenset({".docx"}), _RENAME.format(label="Word 文件", suffix=".docx")
        if b"xl/" in window:
            return "Excel 表格（.xlsx）", frozenset(), _CONVERT
        if b"ppt/" in window:
            return "PowerPoint 演示文稿（.pptx）", frozenset(), _CONVERT
        return "ZIP 压缩包", frozenset(), _ARCHIVE
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").lower().startswith((b"<!doctype html", b"<html")):
        return "网页（HTML）", _HTML_SUFFIXES, _RENAME.format(label="网页", suffix=".html")
    return None


def _with_content_hint(exc: LoadFailure, data: bytes, suffix: str) -> LoadFailure:
    """Add what the content looks like when it does not match the suffix (a PDF saved as ``.docx``)."""
    kind = _content_kind(data)
    if kind is None or suffix in kind[1]:
        return exc
    label, _suffixes, advice = kind
    shown = f"扩展名是 {suffix[:20]}" if suffix else "文件名没有扩展名"
    return LoadFailure(exc.reason, zh=f"{exc.zh}（文件内容看起来是{label}，但{shown}。{advice}）")


def _display_path(path: Path, root: Path | None) -> str:
    """``Document.path``: relative to ``root`` (POSIX separators) when possible, else the path as passed."""
    relative = _relative_to_root(path, root)
    return relative if relative is not None else str(path)


def _relative_to_root(path: Path, root: Path | None) -> str | None:
    if root is None:
        return None
    try:
        # abspath, not resolve(): a symlinked corpus file keeps its in-corpus name.
        return Path(os.path.abspath(path)).relative_to(os.path.abspath(root)).as_posix()
    except ValueError:
        return None


def _path_doc_id(path: Path, root: Path | None) -> str:
    """A stable id for a file that has none: unchanged across re-ingests while the file keeps its place."""
    relative = _relative_to_root(path, root)
    return _name_doc_id(relative if relative is not None else path.name)


def _summarise_record_errors(errors: list[LoadError]) -> str:
    shown = "; ".join(f"line {e.path.rsplit(':', 1)[-1]}: {e.reason}" for e in errors[:_MAX_REASONS_IN_SUMMARY])
    more = len(errors) - _MAX_REASONS_IN_SUMMARY
    return f"{len(errors)} bad record(s): {shown}" + (f"; and {more} more" if more > 0 else "")


def _summarise_record_errors_zh(errors: list[LoadError]) -> str:
    shown = "；".join(e.zh or e.reason for e in errors[:_MAX_REASONS_IN_SUMMARY])
    more = len(errors) - _MAX_REASONS_IN_SUMMARY
    return f"文件中有 {len(errors)} 条记录有误：{shown}" + (f"；另有 {more} 条未列出。" if more > 0 else "。")

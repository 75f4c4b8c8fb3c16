"""PDF files via pypdf: the text of all pages, joined by blank lines."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from functools import partial
from typing import Any

import pypdf
from pypdf import PageObject, PasswordType, PdfReader
from pypdf.errors import LimitReachedError
from pypdf.generic import EncodedStreamObject

from zhengwu.documents.document import Document
from zhengwu.documents.loaders._common import LoadFailure, clean_line, clean_text, fold_cjk_variants

_HEADER_WINDOW = 1024  # PDF readers accept the %PDF header anywhere in the first KB
# Metadata titles that generators fill in by default and that say nothing about the document.
_WORD_EXPORT = re.compile(r"^Microsoft Word - (.*?)(?:\.docx?)?$", re.IGNORECASE)
_PLACEHOLDER_TITLES = frozenset({"untitled", "无标题", "title"})

_DAMAGED_ZH = "PDF 文件已损坏，无法读取。请用 PDF 阅读器打开确认，或从原软件重新导出 PDF 后再上传。"
_BOMB_ZH = (
    "PDF 文件中的压缩数据或页面结构大得异常（可能是损坏或恶意构造的文件），为安全起见已拒绝读取。"
    "请从原软件重新导出 PDF 后再上传。"
)
_ENCRYPTED_ZH = "PDF 文件已加密，需要密码才能读取。请上传未加密的版本。"


@dataclass(frozen=True)
class PdfLimits:
    """Bounds for a PDF nobody has vetted (an upload): pages, time, and what one stream may expand to.

    pypdf's own defaults (75 MB per stream) are made for trusted files; here every decoded stream, every
    content stream's tokens and the page tree are kept small, so that a decompression bomb or a page of a
    million operators fails fast instead of taking minutes and gigabytes."""

    max_pages: int = 2000
    max_seconds: float = 45.0
    max_stream_bytes: int = 16 * 1024 * 1024
    max_content_tokens: int = 200_000
    # Decoded streams pypdf keeps cached (fonts, content) are dropped once they add up to this.
    max_cached_bytes: int = 64 * 1024 * 1024

    def pypdf_configuration(self) -> dict[str, Any]:
        size = self.max_stream_bytes
        return {
            "maximum_declared_stream_length": size,
            "array_based_stream_maximum_output_length": size,
            "jbig2_maximum_output_length": size,
            "lzw_maximum_output_length": size,
            "run_length_maximum_output_length": size,
            "zlib_maximum_output_length": size,
            "brotli_maximum_output_length": size,
            "image_maximum_buffer_size": size,
            "stream_decoding_work_maximum_length": 4 * size,
            "stream_parsing_work_maximum_count": self.max_content_tokens,
            "page_tree_maximum_entries": 4 * self.max_pages + 16,
            "page_tree_maximum_depth": 64,
            "page_tree_maximum_page_entries": 4 * self.max_pages + 16,
            "xform_maximum_invocations_per_extraction": 1000,
        }


UPLOAD_LIMITS = PdfLimits()


def pdf_document(
    data: bytes, *, stem: str, display: str, fallback_id: str, limits: PdfLimits | None = None
) -> Document:
    """``limits``: None for trusted files (pypdf's defaults, every page), ``UPLOAD_LIMITS`` for uploads."""
    configuration: AbstractContextManager[Any] = (
        pypdf.apply_configuration(**limits.pypdf_configuration()) if limits is not None else nullcontext()
    )
    with configuration:
        reader = _open(data, limits)
        texts: list[str] = []
        failures: list[Exception] = []
        for page in _pages(reader, limits):
            try:
                texts.append((page() or "").strip())
            except LoadFailure:
                raise
            except Exception as exc:  # noqa: BLE001 - pypdf raises many types on damaged pages
                failures.append(exc)
        title = _title(reader)
    body = clean_text(fold_cjk_variants("\n\n".join(text for text in texts if text)))
    if not body:
        if any(isinstance(exc, LimitReachedError) for exc in failures):
            raise LoadFailure(f"unreadable PDF: {_describe(failures[0])}", zh=_BOMB_ZH)
        if failures:
            raise LoadFailure(f"unreadable PDF: {_describe(failures[0])}", zh=_DAMAGED_ZH)
        raise LoadFailure(
            "no text could be extracted (scanned PDF?)",
            zh="PDF 中没有可提取的文字，可能是扫描件或纯图片。请上传带文字层的 PDF（例如由 Word、WPS 直接导出），"
            "或先用文字识别（OCR）处理后再上传。",
        )
    return Document(doc_id=fallback_id, title=title or clean_line(stem), body=body, path=display)


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"


def _open(data: bytes, limits: PdfLimits | None) -> PdfReader:
    if not data:
        raise LoadFailure("not a valid PDF (file is empty)", zh="PDF 文件是空的（0 字节）。请重新选择文件上传。")
    if b"%PDF" not in data[:_HEADER_WINDOW]:
        raise LoadFailure(
            "not a valid PDF (file header is not %PDF)",
            zh="文件内容不是 PDF（可能是扩展名写错了，或文件已损坏）。请确认文件能用 PDF 阅读器打开后再上传。",
        )
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                decrypted = reader.decrypt("")
            except Exception as exc:  # noqa: BLE001 - an unsupported or broken security handler
                raise LoadFailure(f"PDF is encrypted and cannot be opened: {_describe(exc)}", zh=_ENCRYPTED_ZH) from exc
            if decrypted == PasswordType.NOT_DECRYPTED:
                # Owner-password-only PDFs (copy/print restrictions, common for official documents) open
                # with an empty user password, as in any viewer; anything else needs a password we do not have.
                raise LoadFailure("PDF is encrypted and needs a password", zh=_ENCRYPTED_ZH)
        if limits is not None:
            _check_page_count(_declared_pages(reader), limits)
        pages = len(reader.pages)  # parses the page tree now, so a damaged file fails here with a clear reason
        if limits is not None:
            _check_page_count(pages, limits)
    except LoadFailure:
        raise
    except LimitReachedError as exc:
        raise LoadFailure(f"unreadable PDF: {_describe(exc)}", zh=_BOMB_ZH) from exc
    except Exception as exc:  # noqa: BLE001 - pypdf raises many types on damaged files
        raise LoadFailure(f"unreadable PDF: {_describe(exc)}", zh=_DAMAGED_ZH) from exc
    return reader


def _declared_pages(reader: PdfReader) -> int:
    """The page count the document claims (``/Root /Pages /Count``), read without walking the page tree."""
    try:
        root: Any = reader.trailer["/Root"]
        count = root["/Pages"]["/Count"]
        return int(count) if isinstance(count, int) else 0
    except Exception:  # noqa: BLE001 - a missing or odd count is for the page-tree walk to report
        return 0


def _check_page_count(pages: int, limits: PdfLimits) -> None:
    if pages > limits.max_pages:
        raise LoadFailure(
            f"PDF has {pages} pages (at most {limits.max_pages})",
            zh=f"PDF 共 {pages} 页，超过上限 {limits.max_pages} 页。请拆分成几个较小的文件后分别上传。",
        )


def _pages(reader: PdfReader, limits: PdfLimits | None) -> Iterator[Callable[[], str]]:
    """One callable per page that returns its text. Under ``limits`` the whole extraction runs against one
    clock, checked between content-stream operators too (a single page can take minutes otherwise)."""
    if limits is None:
        for page in reader.pages:
            yield page.extract_text
        return
    budget = _Budget(reader, limits)
    for number, page in enumerate(reader.pages, start=1):
        budget.check(number - 1)
        yield partial(budget.extract, page, number)
        budget.drop_cached_streams()


class _OutOfTime(Exception):
    pass


class _Budget:
    def __init__(self, reader: PdfReader, limits: PdfLimits) -> None:
        self.reader = reader
        self.limits = limits
        self.pages = len(reader.pages)
        self.deadline = time.monotonic() + limits.max_seconds
        self.operators = 0
        self.expired = False
        self.next_scan = 0.0

    def check(self, done: int) -> None:
        if self.expired or time.monotonic() > self.deadline:
            raise self._too_slow(done)

    def extract(self, page: PageObject, number: int) -> str:
        try:
            return page.extract_text(visitor_operand_before=self._on_operator)
        except _OutOfTime:
            raise self._too_slow(number - 1) from None

    def _on_operator(self, *_args: object) -> None:
        self.operators += 1
        # Sticky once expired: pypdf swallows errors inside form XObjects, the next operator outside raises again.
        if self.expired or (self.operators % 256 == 0 and time.monotonic() > self.deadline):
            self.expired = True
            raise _OutOfTime

    def drop_cached_streams(self) -> None:
        """pypdf keeps every stream it decoded (content, fonts) for the reader's lifetime: drop them once they
        add up. The scan walks every object read so far, so it is spaced out to cost at most a tenth of the time."""
        now = time.monotonic()
        if now < self.next_scan:
            return
        cached = [obj.decoded_self for obj in self.reader.resolved_objects.values()
                  if isinstance(obj, EncodedStreamObject) and obj.decoded_self is not None]
        if sum(len(decoded.get_data()) for decoded in cached) > self.limits.max_cached_bytes:
            for obj in self.reader.resolved_objects.values():
                if isinstance(obj, EncodedStreamObject):
                    obj.decoded_self = None
        self.next_scan = time.monotonic() + 9 * (time.monotonic() - now)

    def _too_slow(self, done: int) -> LoadFailure:
        self.expired = True
        seconds = f"{self.limits.max_seconds:g}"
        return LoadFailure(
            f"PDF text extraction took longer than {seconds} s ({done} of {self.pages} pages read)",
            zh=f"PDF 内容过多或结构异常，{seconds} 秒内未能读完（共 {self.pages} 页，已读 {done} 页）。"
            "请拆分成几个较小的文件，或从原软件重新导出后再上传。",
        )


def _title(reader: PdfReader) -> str:
    try:
        title = reader.metadata.title if reader.metadata else None
    except Exception:  # noqa: BLE001 - damaged metadata must not cost us the text
        return ""
    title = clean_line(_WORD_EXPORT.sub(r"\1", str(title or "")))
    return "" if title.lower() in _PLACEHOLDER_TITLES else title

"""Helpers shared by every format: the failure type, text decoding and clean-up."""

from __future__ import annotations

import re


class LoadFailure(Exception):
    """A file (or one JSONL record) that cannot become a document. ``reason`` is plain English for operators."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# C0/C1 control characters except \t and \n, plus stray BOMs inside text (from concatenated files).
_CONTROL_CHARS: dict[int, None] = {
    c: None for c in (*range(0x00, 0x20), *range(0x7F, 0xA0)) if c not in (0x09, 0x0A)
}
_CONTROL_CHARS[0xFEFF] = None
# Form feeds (PDF page breaks), vertical tabs and Unicode line separators are line breaks, not noise.
_LINE_BREAKS = re.compile(r"\r\n|[\r\f\v\x85\u2028\u2029]")
_BLANK_RUNS = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")


def decode_text(data: bytes) -> str:
    """UTF-8 (BOM optional), else GB18030, which many Chinese government files still use."""
    if data.startswith(_UTF16_BOMS):
        # Windows Notepad's "Unicode" encoding: cheap to support, and GB18030 would decode it as garbage.
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise LoadFailure("not UTF-8 or GB18030 text")


def normalize_text(text: str) -> str:
    """Normalise newlines to ``\\n`` and drop control characters; line numbers stay as in the file."""
    return _LINE_BREAKS.sub("\n", text).translate(_CONTROL_CHARS)


def clean_text(text: str) -> str:
    """``normalize_text``, then trim and squeeze runs of blank lines: the form bodies are stored in."""
    return _BLANK_RUNS.sub("\n\n", normalize_text(text)).strip()


def clean_line(text: str) -> str:
    """One-line values (titles, cells): every whitespace run, full-width spaces included, becomes one space."""
    return " ".join(text.translate(_CONTROL_CHARS).split())


def require_body(body: str, reason: str = "no text in file") -> str:
    """An empty document cannot answer anything; better to tell the operator than to index nothing."""
    if not body:
        raise LoadFailure(reason)
    return body


def check_choice(key: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise LoadFailure(f"{key} '{value}' is not one of {', '.join(allowed)}")
    return value

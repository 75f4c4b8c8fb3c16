"""Helpers shared by every format: the failure type, text decoding and clean-up."""

from __future__ import annotations

import re
import unicodedata

from zhengwu.documents.document import DOC_TYPE_LABELS

# What staff read when a file cannot be used and nothing more specific is known.
GENERIC_ZH = "文件无法读取：格式不正确或内容已损坏。请确认文件能正常打开后重新上传。"


class LoadFailure(Exception):
    """A file (or one JSONL record) that cannot become a document.

    ``reason`` is plain English for operators (logs, the CLI); ``zh`` is what a staff member reads in the
    console: what is wrong and what to do about it, in Chinese.
    """

    def __init__(self, reason: str, zh: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.zh = zh or GENERIC_ZH


# The statuses as staff know them (document.STATUSES).
STATUS_LABELS: dict[str, str] = {"active": "有效", "repealed": "已废止", "withdrawn": "已停办", "draft": "草稿"}
_CHOICE_LABELS: dict[str, tuple[str, dict[str, str]]] = {
    "doc_type": ("文档类型", DOC_TYPE_LABELS),
    "status": ("状态", STATUS_LABELS),
}

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# C0/C1 control characters except \t and \n, plus stray BOMs inside text (from concatenated files).
_CONTROL_CHARS: dict[int, None] = {
    c: None for c in (*range(0x00, 0x20), *range(0x7F, 0xA0)) if c not in (0x09, 0x0A)
}
_CONTROL_CHARS[0xFEFF] = None
# Form feeds (PDF page breaks), vertical tabs and Unicode line separators are line breaks, not noise.
_LINE_BREAKS = re.compile(r"\r\n|[\r\f\v\x85\u2028\u2029]")
_BLANK_RUNS = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
# A Markdown heading line ("## 申请材料"), and what in one makes heading regexes backtrack (see _tame_heading).
_HEADING_LINE = re.compile(r"^#{1,6}[^\S\n].*", re.MULTILINE)
_ODD_SPACE = re.compile(r"[^\S ]|  ")
MAX_HEADING_CHARS = 1000
# Kangxi radicals, CJK radicals and compatibility ideographs that PDF fonts map their glyphs to ("⽝" U+2F5D for
# 犬, "⼯" for 工: Chromium's and many Word exports look right on screen and extract so): folded to the unified
# ideograph a citizen types, or BM25 and the answer checks would never match them.
_CJK_FOLDS: dict[int, str] = {
    c: folded
    for c in (*range(0x2E80, 0x2EFF), *range(0x2F00, 0x2FD6), *range(0xF900, 0xFB00), *range(0x2F800, 0x2FA20))
    if (folded := unicodedata.normalize("NFKC", chr(c))) != chr(c) and len(folded) == 1
}


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
    raise LoadFailure(
        "not UTF-8 or GB18030 text",
        zh="文件的文字编码无法识别：只支持 UTF-8 或 GB18030（GBK）编码的文本，也可能这根本不是文本文件。"
        "请用记事本或 WPS 打开，“另存为”UTF-8 编码后重新上传。",
    )


def fold_cjk_variants(text: str) -> str:
    """Radical and compatibility code points replaced by the ideographs they stand for (``_CJK_FOLDS``)."""
    return text.translate(_CJK_FOLDS)


def normalize_text(text: str) -> str:
    """Normalise newlines to ``\\n`` and drop control characters; line numbers stay as in the file."""
    return _LINE_BREAKS.sub("\n", text).translate(_CONTROL_CHARS)


def clean_text(text: str) -> str:
    """``normalize_text``, then trim and squeeze runs of blank lines: the form bodies are stored in."""
    text = _BLANK_RUNS.sub("\n\n", normalize_text(text)).strip()
    return _HEADING_LINE.sub(_tame_heading, text) if "#" in text else text


def _tame_heading(match: re.Match[str]) -> str:
    """A heading line with a run of spaces inside, or thousands of characters long, makes the heading patterns
    of the chunker (``^(#{1,6})\\s+(.+?)\\s*#*\\s*$``) backtrack for minutes: its spaces are squeezed, and a line
    still too long to be a heading is escaped (``\\#``, Markdown for a literal ``#``). No real heading changes."""
    line = match.group(0)
    if len(line) <= MAX_HEADING_CHARS and not _ODD_SPACE.search(line):
        return line
    marks = len(line) - len(line.lstrip("#"))
    line = line[:marks] + " " + " ".join(line[marks:].split())
    return line if len(line) <= MAX_HEADING_CHARS else "\\" + line


def clean_line(text: str) -> str:
    """One-line values (titles, cells): every whitespace run, full-width spaces included, becomes one space."""
    return " ".join(text.translate(_CONTROL_CHARS).split())


def require_body(body: str, reason: str = "no text in file", zh: str = "") -> str:
    """An empty document cannot answer anything; better to tell the operator than to index nothing."""
    if not body:
        raise LoadFailure(reason, zh=zh or "文件里没有可用的文字内容（可能是空文件）。请检查后重新上传。")
    return body


def check_choice(key: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        label, meanings = _CHOICE_LABELS.get(key, (key, {}))
        choices = "、".join(f"{a}（{meanings[a]}）" if a in meanings else a for a in allowed)
        raise LoadFailure(
            f"{key} '{value}' is not one of {', '.join(allowed)}",
            zh=f"{label}（{key}）的值“{value}”无效，只能填写：{choices}。请改正后重新上传。",
        )
    return value

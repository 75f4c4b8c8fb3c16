"""HTML pages: visible text as Markdown-ish lines, so the chunker can split by headings."""

from __future__ import annotations

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import CData
from lxml import etree

from zhengwu.documents.document import Document
from zhengwu.documents.loaders._common import LoadFailure, clean_line, clean_text, require_body

_DROPPED = ("script", "style", "noscript", "template", "nav", "footer", "svg", "iframe", "head")
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4}
# Tags whose whole text is one line, unless they wrap block content or <br> (common in government pages:
# "<p>1. 身份证<br>2. 户口本</p>"), in which case they are walked so each part gets its own line.
_LINE_TAGS = frozenset({"p", "dt", "dd", "caption", "figcaption", "h5", "h6", "pre", "address"})
_NESTED_BLOCKS = ["table", "ul", "ol", "div", "p"]
_INLINE_TAGS = frozenset(
    {"a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "del", "dfn", "em", "font", "i", "ins", "kbd",
     "label", "mark", "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var", "wbr"}
)
# Raw-text elements whose content is never text to index; removed before html.parser sees the page.
_RAW_TEXT = ("script", "style", "noscript", "template", "iframe")
# The walk below recurses once per nesting level; real pages nest a few dozen levels.
MAX_DEPTH = 200
# Elements in an uploaded page: beautifulsoup costs about a kilobyte and 35 µs per element.
UPLOAD_MAX_ELEMENTS = 50_000

_NO_TEXT_ZH = "网页里没有可用的正文文字（可能只有图片、脚本或框架）。请上传包含文字内容的网页，或改传 PDF / Word 文件。"
_TOO_DEEP_ZH = (
    "网页的标签嵌套层数过深（超过 {limit} 层，可能是损坏或恶意构造的文件），无法读取。"
    "请在浏览器中打开后“另存为”网页，或改传 PDF / Word 文件。"
)


def html_document(
    text: str, *, stem: str, display: str, fallback_id: str, max_elements: int | None = None
) -> Document:
    """``max_elements``: the cap on elements for an upload, None for trusted files."""
    soup = BeautifulSoup(_well_formed(text, max_elements), "html.parser")
    title_tag = soup.find("title")
    title = _inline_text(title_tag) if title_tag else ""
    for tag in soup.find_all(_DROPPED):
        tag.decompose()
    if not title:
        h1 = soup.find("h1")
        title = _inline_text(h1) if h1 else ""

    walker = _HtmlLines()
    try:
        walker.visit(soup.body or soup)
    except RecursionError as exc:  # MAX_DEPTH already holds; this is for a caller deep in its own stack
        raise LoadFailure("HTML is nested too deeply", zh=_TOO_DEEP_ZH.format(limit=MAX_DEPTH)) from exc
    walker.flush()
    body = require_body(clean_text("\n".join(walker.lines)), zh=_NO_TEXT_ZH)
    return Document(doc_id=fallback_id, title=title or clean_line(stem), body=body, path=display)


def _well_formed(text: str, max_elements: int | None) -> str:
    """The page re-serialised by libxml2: closed tags, escaped stray ``<``, no scripts or comments.

    html.parser takes quadratic time on unclosed constructs (100 KB of ``<a<a<a`` took six seconds, 200 KB of
    ``<!--`` eighteen); libxml2 parses anything in linear time, recovering from errors as browsers do, and
    what it writes back html.parser reads in one pass. The page's depth and size are checked on the way."""
    if max_elements is not None and text.count("<") > 4 * max_elements:
        raise _too_many(max_elements)
    parser = etree.HTMLParser(recover=True, no_network=True, huge_tree=True, remove_comments=True,
                              remove_pis=True, encoding="utf-8")
    try:
        root = etree.fromstring(text.replace("\x00", "").encode("utf-8", "replace"), parser)
    except (etree.LxmlError, ValueError) as exc:
        raise LoadFailure(f"unreadable HTML: {type(exc).__name__}: {exc}", zh=_NO_TEXT_ZH) from exc
    if root is None:  # nothing but whitespace, comments or a doctype
        return ""
    etree.strip_elements(root, *_RAW_TEXT, with_tail=False)
    depth = elements = 0
    for event, _element in etree.iterwalk(root, events=("start", "end")):
        if event == "end":
            depth -= 1
            continue
        depth += 1
        elements += 1
        if depth > MAX_DEPTH:
            raise LoadFailure(f"HTML is nested more than {MAX_DEPTH} levels deep",
                              zh=_TOO_DEEP_ZH.format(limit=MAX_DEPTH))
        if max_elements is not None and elements > max_elements:
            raise _too_many(max_elements)
    return str(etree.tostring(root, encoding="unicode", method="html"))


def _too_many(limit: int) -> LoadFailure:
    return LoadFailure(
        f"HTML has more than {limit} elements",
        zh=f"网页结构过于复杂（超过 {limit} 个标签），无法读取。请只保存正文部分，或改传 PDF / Word 文件。",
    )


class _HtmlLines:
    """Flattens an HTML tree into lines: ``#`` headings, one line per paragraph, list item or table row."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._inline: list[str] = []

    def flush(self) -> None:
        line = clean_line("".join(self._inline))
        self._inline.clear()
        if line:
            self.lines.append(line)

    def emit(self, line: str) -> None:
        self.flush()
        if line:
            self.lines.append(line)

    def visit(self, element: Tag | BeautifulSoup) -> None:
        for child in element.children:
            if isinstance(child, Tag):
                self._visit_tag(child)
            # Comments, doctypes and processing instructions are NavigableString subclasses: skip them.
            elif type(child) in (NavigableString, CData):
                self._inline.append(str(child))

    def _visit_tag(self, tag: Tag) -> None:
        name = tag.name.lower()
        if name in _HEADINGS:
            text = _inline_text(tag)
            if text:
                # A blank line before each heading keeps heading-based chunking unambiguous.
                self.emit("")
                self.lines.extend(["", "#" * _HEADINGS[name] + " " + text])
        elif name == "br":
            self.flush()
        elif name == "tr":
            cells = [_inline_text(cell) for cell in tag.find_all(["td", "th"], recursive=False)]
            self.emit(" | ".join(cell for cell in cells if cell))
        elif name == "li" and not tag.find(_NESTED_BLOCKS):
            text = _inline_text(tag)
            self.emit(f"- {text}" if text else "")
        elif name in _LINE_TAGS and not tag.find([*_NESTED_BLOCKS, "br"]):
            self.emit(_inline_text(tag))
        elif name in _INLINE_TAGS:
            self.visit(tag)
        else:
            # Block containers (div, section, table, ul, an li with a nested list, ...) get their own lines.
            self.flush()
            self.visit(tag)
            self.flush()


def _inline_text(tag: Tag) -> str:
    """Text of ``tag`` on one line. Inline tags join without a space (``须<b>本人</b>到场`` stays one
    Chinese phrase); a ``<br>`` or block tag in between becomes a space."""
    parts: list[str] = []
    for node in tag.descendants:
        if isinstance(node, Tag):
            if node.name.lower() not in _INLINE_TAGS:
                parts.append(" ")
        elif type(node) in (NavigableString, CData):
            parts.append(str(node))
    return clean_line("".join(parts))

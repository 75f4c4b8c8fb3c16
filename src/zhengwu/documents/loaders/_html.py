"""HTML pages: visible text as Markdown-ish lines, so the chunker can split by headings."""

from __future__ import annotations

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import CData

from zhengwu.documents.document import Document
from zhengwu.documents.loaders._common import clean_line, clean_text, require_body

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


def html_document(text: str, *, stem: str, display: str, fallback_id: str) -> Document:
    soup = BeautifulSoup(text, "html.parser")
    title_tag = soup.find("title")
    title = _inline_text(title_tag) if title_tag else ""
    for tag in soup.find_all(_DROPPED):
        tag.decompose()
    if not title:
        h1 = soup.find("h1")
        title = _inline_text(h1) if h1 else ""

    walker = _HtmlLines()
    walker.visit(soup.body or soup)
    walker.flush()
    body = require_body(clean_text("\n".join(walker.lines)))
    return Document(doc_id=fallback_id, title=title or clean_line(stem), body=body, path=display)


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

"""Model text is plain text: markup in a reply is removed before it is verified and shown (issue 15).

The rule, as a browser's HTML tokenizer reads text — a ``<`` opens a tag only when a letter, ``/``, ``!`` or
``?`` follows it:

* every tag-shaped run, ``<`` + one of those up to the next ``>``, is removed (``<script>``, ``</p>``,
  ``<img src=x onerror=…>``, ``<!DOCTYPE …>``, ``<?xml …?>``): event-handler attributes and ``javascript:``
  links live inside tags and go with them; a whole HTML comment ``<!-- … -->`` is removed, and so is the
  content of ``<script>`` and ``<style>`` elements;
* one left open at the end of the text (no ``>``, no ``-->``, no closing ``</script>``) is removed to the end:
  a browser would swallow that text too, and the next text appended could otherwise close it;
* any other ``<`` is text and kept: "年龄<60岁", "a < b", "<一>" (a ``<`` at the very end is dropped, so that
  pieces joined later cannot form a tag across the join);
* ``javascript:`` / ``vbscript:`` / ``data:text/html`` left in the text are removed as well;
* nothing is decoded: ``&lt;script&gt;`` stays as written, so removing can never reveal a new tag; removal is
  repeated until nothing changes (``<<b>script>`` is a ``<script>`` once ``<b>`` is gone).

Chinese text, ``[1]`` citation markers, 《书名号》 and full-width ＜＞ are not markup and pass unchanged.
``MarkupStream`` applies the same rule to a streamed reply, holding back a construct until it is complete.
"""

from __future__ import annotations

import re

__all__ = ["MarkupStream", "strip_markup"]

# Where a browser would start a tag: "<" and a letter, "/", "!" or "?" — or "<" at the end, still undecided.
_OPEN = re.compile(r"<(?:[A-Za-z/!?]|$)")
_RAW_TEXT = re.compile(r"<(script|style)(?![A-Za-z0-9])", re.IGNORECASE)
_SCHEMES = re.compile(r"(?:java|vb)script\s*:|data\s*:\s*text/html", re.IGNORECASE)
# A trailing run of letters may be the start of "javascript:"; a stream holds it until the next chunk.
_TRAILING_WORD = re.compile(r"[A-Za-z]+\s*$")


def _construct_end(text: str, start: int) -> int | None:
    """The end of the markup construct that starts at ``start`` (a ``_OPEN`` match), or None if it is open."""
    if text.startswith("<!--", start):
        end = text.find("-->", start + 4)
        return None if end < 0 else end + 3
    close = text.find(">", start + 1)
    if close < 0:
        return None
    raw = _RAW_TEXT.match(text, start)
    if raw is None:
        return close + 1
    # <script>/<style>: their content is code, not text; the element ends with its closing tag.
    closing = re.compile(rf"</{raw.group(1)}[^>]*>", re.IGNORECASE).search(text, close + 1)
    return None if closing is None else closing.end()


def _strip_once(text: str) -> str:
    out: list[str] = []
    position = 0
    while match := _OPEN.search(text, position):
        out.append(text[position : match.start()])
        position = _construct_end(text, match.start()) or len(text)
    out.append(text[position:])
    return _SCHEMES.sub("", "".join(out))


def strip_markup(text: str) -> str:
    """``text`` without markup (the rule is in the module docstring)."""
    while "<" in text or _SCHEMES.search(text):
        stripped = _strip_once(text)
        if stripped == text:
            break
        text = stripped
    return text


def _open_from(text: str) -> int:
    """Where the first construct still open at the end of ``text`` starts (``len(text)`` if none is)."""
    position = 0
    while match := _OPEN.search(text, position):
        end = _construct_end(text, match.start())
        if end is None:
            return match.start()
        position = end
    return len(text)


class MarkupStream:
    """``strip_markup`` over a stream of chunks: ``feed`` returns the clean text that can be passed on now, and
    holds back an open construct (``<scr``, ``<a href="…``, ``<!-- …``, a ``<script>`` element without its
    end yet) and a trailing word, until later chunks complete it; ``flush`` ends the stream."""

    def __init__(self) -> None:
        self._pending = ""

    def feed(self, chunk: str) -> str:
        text = self._pending + chunk
        cut = _open_from(text)
        if cut == len(text) and (word := _TRAILING_WORD.search(text)):
            cut = word.start()
        self._pending = text[cut:]
        return strip_markup(text[:cut])

    def flush(self) -> str:
        text, self._pending = self._pending, ""
        return strip_markup(text)

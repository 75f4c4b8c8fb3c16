"""Converters that turn raw public government data into the default ``corpus/`` folder.

- ``gd_guides``: Guangdong 办事指南 records (one JSON object per line) -> service-guide Markdown.
- ``laws``: LawRefBook-style law Markdown files -> law Markdown, latest version only, repealed texts left out.
- ``build``: runs both, writes ``corpus/`` deterministically and exposes the ``zhengwu corpus build`` command.

The output format is described in docs/corpus-format.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

__all__ = ["GeneratedFile", "render_markdown", "safe_file_name"]


@dataclass(frozen=True)
class GeneratedFile:
    """One corpus document: where it goes (relative to the corpus folder) and what it says."""

    rel_path: str  # POSIX path, e.g. "laws/社会法/中华人民共和国劳动合同法.md"
    front: dict[str, Any]  # front matter, in the key order it is written
    body: str  # Markdown body without a trailing newline

    @property
    def doc_id(self) -> str:
        return str(self.front["doc_id"])

    def render(self) -> str:
        return render_markdown(self.front, self.body)


def render_markdown(front: dict[str, Any], body: str) -> str:
    # width: never fold a long title or URL over two lines, so a hand edit sees the whole value.
    yaml_text = yaml.safe_dump(front, allow_unicode=True, sort_keys=False, width=1_000_000, default_flow_style=False)
    return f"---\n{yaml_text}---\n\n{body.rstrip()}\n"


_UNSAFE_IN_FILE_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]')
# Most file systems cap a name at 255 bytes; a Chinese character is 3 bytes in UTF-8.
_MAX_NAME_BYTES = 200


def safe_file_name(name: str, *, fallback: str) -> str:
    """A file name (without suffix) that works on Linux, macOS and Windows; Chinese is kept as is."""
    cleaned = _UNSAFE_IN_FILE_NAME.sub("_", name).strip().strip(".")
    cleaned = re.sub(r"\s+", " ", cleaned)
    if not cleaned:
        return fallback
    if len(cleaned.encode("utf-8")) > _MAX_NAME_BYTES:
        cut = cleaned.encode("utf-8")[:_MAX_NAME_BYTES].decode("utf-8", errors="ignore")
        cleaned = f"{cut}_{fallback}"
    return cleaned

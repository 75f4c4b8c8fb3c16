"""Markdown with optional YAML front matter (docs/corpus-format.md)."""

from __future__ import annotations

import re
from typing import Any

import yaml

from zhengwu.documents.document import DOC_TYPES, EXPIRES, NATIONAL, STATUSES, Document, expiry_date
from zhengwu.documents.loaders._common import (
    LoadFailure,
    check_choice,
    clean_line,
    clean_text,
    normalize_text,
    require_body,
)

# Front-matter keys that map onto ``Document`` fields; every other key goes to ``Document.extra``.
_STR_FIELDS = ("doc_id", "title", "doc_type", "region", "department", "updated", "source_url", "status")
_REQUIRED = ("doc_id", "title")

_OPEN = re.compile(r"---[ \t]*")
_CLOSE = re.compile(r"(?:---|\.\.\.)[ \t]*")
_H1 = re.compile(r"^#[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)


class _FrontMatterLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that keeps what the author wrote where YAML 1.1 would silently rewrite it.

    ``updated: 2024-05-01`` stays the string "2024-05-01" (JSON-serialisable); ``code: 0123`` stays "0123"
    instead of octal 83; ``version: 1.10`` stays "1.10". Plain decimal numbers are still numbers.
    """


def _construct_number(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    if node.tag.endswith(":int"):
        value: Any = loader.construct_yaml_int(node)
    else:
        value = loader.construct_yaml_float(node)
    return value if str(value) == node.value else node.value


def _construct_raw(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
    return str(node.value)


_FrontMatterLoader.add_constructor("tag:yaml.org,2002:int", _construct_number)
_FrontMatterLoader.add_constructor("tag:yaml.org,2002:float", _construct_number)
_FrontMatterLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_raw)


def markdown_document(text: str, *, stem: str, display: str, fallback_id: str) -> Document:
    # Normalise first: CRLF files and stray control characters would otherwise confuse the YAML parser.
    text = normalize_text(text)
    split = _split_front_matter(text)
    if split is None:
        body = require_body(clean_text(text))
        heading = _H1.search(body)
        title = heading.group(1) if heading else stem
        return Document(doc_id=fallback_id, title=clean_line(title), body=body, path=display)

    yaml_text, raw_body = split
    values, raw_nodes = _parse_front_matter(yaml_text)
    fields = {key: _front_matter_str(key, raw_nodes) for key in _STR_FIELDS}
    missing = [key for key in _REQUIRED if not fields[key]]
    if missing:
        raise LoadFailure(f"front matter is missing required key(s): {', '.join(missing)}")
    extra = {str(key): _jsonable(value) for key, value in values.items() if str(key) not in _STR_FIELDS}
    if extra.get(EXPIRES) not in (None, "") and expiry_date(extra) is None:  # a typo must not keep it in force
        raise LoadFailure(f"front matter key {EXPIRES} must be a date YYYY-MM-DD, not {extra[EXPIRES]!r}")
    return Document(
        doc_id=fields["doc_id"],
        title=fields["title"],
        body=require_body(clean_text(raw_body), "no text after the front matter"),
        doc_type=check_choice("doc_type", fields["doc_type"] or "policy", DOC_TYPES),
        region=fields["region"] or NATIONAL,
        department=fields["department"],
        updated=fields["updated"],
        source_url=fields["source_url"],
        status=check_choice("status", fields["status"] or "active", STATUSES),
        path=display,
        extra=extra,
    )


def _split_front_matter(text: str) -> tuple[str, str] | None:
    """Return (yaml_text, body) when the file starts with a ``---`` line, else None."""
    lines = text.split("\n")
    if not _OPEN.fullmatch(lines[0]):
        return None
    for index in range(1, len(lines)):
        if _CLOSE.fullmatch(lines[index]):
            return "\n".join(lines[1:index]), "\n".join(lines[index + 1 :])
    raise LoadFailure("front matter opened with '---' on line 1 is never closed with a '---' line")


def _parse_front_matter(yaml_text: str) -> tuple[dict[Any, Any], dict[str, yaml.Node]]:
    """Parse front matter into values plus the raw top-level nodes (to read scalars exactly as written)."""
    loader = _FrontMatterLoader(yaml_text)
    try:
        node = loader.get_single_node()
        value = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        raise LoadFailure(f"malformed YAML front matter: {_yaml_error_text(exc)}") from exc
    except yaml.YAMLError as exc:
        raise LoadFailure(f"malformed YAML front matter: {exc}") from exc
    finally:
        loader.dispose()
    if not isinstance(value, dict) or not isinstance(node, yaml.MappingNode):
        raise LoadFailure("front matter must be a mapping")
    raw_nodes = {
        str(key_node.value): value_node
        for key_node, value_node in node.value
        if isinstance(key_node, yaml.ScalarNode)
    }
    return value, raw_nodes


def _yaml_error_text(exc: yaml.MarkedYAMLError) -> str:
    message = "; ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
    mark = exc.problem_mark or exc.context_mark
    if mark is None:
        return message
    # +2: marks are 0-based inside the YAML, which starts after the opening '---' on file line 1.
    return f"{message}, line {mark.line + 2}"


def _front_matter_str(key: str, raw_nodes: dict[str, yaml.Node]) -> str:
    """The scalar exactly as written, so a long numeric 事项编码 or ``0012`` keeps every digit."""
    node = raw_nodes.get(key)
    if node is None:
        return ""
    if not isinstance(node, yaml.ScalarNode):
        raise LoadFailure(f"front matter key '{key}' must be a single value, not a list or mapping")
    if node.tag == "tag:yaml.org,2002:null":
        return ""
    return clean_line(str(node.value))


def _jsonable(value: Any) -> Any:
    """Extras end up in JSON stores; YAML can also produce sets and bytes, which JSON cannot hold."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_jsonable(v) for v in value), key=str)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)

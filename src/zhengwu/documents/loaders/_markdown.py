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
_CLOSE = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)  # a whole line
_H1 = re.compile(r"^#[ \t]+\S", re.MULTILINE)
# Front matter is a few lines of metadata; PyYAML is pure Python here, and YAML aliases can make a small text
# stand for a huge structure ("billion laughs"): both are bounded.
MAX_FRONT_MATTER_CHARS = 256 * 1024
_MAX_EXTRA_VALUES = 10_000
_MAX_EXTRA_DEPTH = 32
_FIX_FRONT_MATTER = "请修改文件开头两行 --- 之间的元数据（front matter）后重新上传。"
_KEY_LABELS = {"doc_id": "文档编号", "title": "标题"}


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
        return Document(doc_id=fallback_id, title=clean_line(_first_h1(body) or stem), body=body, path=display)

    yaml_text, raw_body = split
    values, raw_nodes = _parse_front_matter(yaml_text)
    fields = {key: _front_matter_str(key, raw_nodes) for key in _STR_FIELDS}
    missing = [key for key in _REQUIRED if not fields[key]]
    if missing:
        named = "、".join(f"{key}（{_KEY_LABELS[key]}）" for key in missing)
        raise LoadFailure(
            f"front matter is missing required key(s): {', '.join(missing)}",
            zh=f"元数据缺少必填项：{named}。{_FIX_FRONT_MATTER}",
        )
    budget = [_MAX_EXTRA_VALUES]
    extra = {str(key): _jsonable(value, budget) for key, value in values.items() if str(key) not in _STR_FIELDS}
    if extra.get(EXPIRES) not in (None, "") and expiry_date(extra) is None:  # a typo must not keep it in force
        raise LoadFailure(
            f"front matter key {EXPIRES} must be a date YYYY-MM-DD, not {extra[EXPIRES]!r}",
            zh=f"元数据中的失效日期（{EXPIRES}）必须写成 YYYY-MM-DD 格式，例如 2026-12-31，"
            f"现在是“{str(extra[EXPIRES])[:50]}”。{_FIX_FRONT_MATTER}",
        )
    return Document(
        doc_id=fields["doc_id"],
        title=fields["title"],
        body=require_body(
            clean_text(raw_body),
            "no text after the front matter",
            zh="元数据（front matter）之后没有正文内容。请在第二个 --- 之后写入正文再上传。",
        ),
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
    """Return (yaml_text, body) when the file starts with a ``---`` line, else None.

    Searched, not split into lines: an upload of millions of short lines must not become a list of them."""
    first, newline, rest = text.partition("\n")
    if not _OPEN.fullmatch(first):
        return None
    close = _CLOSE.search(rest) if newline else None
    if close is not None:
        return rest[: max(close.start() - 1, 0)], rest[close.end() + 1 :]
    raise LoadFailure(
        "front matter opened with '---' on line 1 is never closed with a '---' line",
        zh="文件第 1 行的 --- 开始了元数据（front matter），但后面没有单独一行 --- 把它结束。"
        "请在元数据的最后一项之后补上一行 ---（正文写在它下面）后重新上传。",
    )


def _parse_front_matter(yaml_text: str) -> tuple[dict[Any, Any], dict[str, yaml.Node]]:
    """Parse front matter into values plus the raw top-level nodes (to read scalars exactly as written)."""
    if len(yaml_text) > MAX_FRONT_MATTER_CHARS:
        raise LoadFailure(
            f"front matter is longer than {MAX_FRONT_MATTER_CHARS // 1024} KB",
            zh=f"文件开头的元数据（front matter）超过 {MAX_FRONT_MATTER_CHARS // 1024} KB，太长了，"
            "可能是结束的 --- 放错了位置。元数据只应有几行「键: 值」。" + _FIX_FRONT_MATTER,
        )
    loader = _FrontMatterLoader(yaml_text)
    try:
        node = loader.get_single_node()
        value = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        message, line = _yaml_error_text(exc)
        where = f"第 {line} 行附近" if line is not None else ""
        raise LoadFailure(
            f"malformed YAML front matter: {message}" + (f", line {line}" if line is not None else ""),
            zh=f"文件开头的元数据（front matter）{where}格式有误，无法解析。常见原因：值里有英文冒号“: ”或 # "
            "却没有加引号、用了 Tab 键缩进或缩进不一致、引号没有成对。" + _FIX_FRONT_MATTER,
        ) from exc
    except yaml.YAMLError as exc:
        raise LoadFailure(
            f"malformed YAML front matter: {exc}",
            zh="文件开头的元数据（front matter）格式有误，无法解析。" + _FIX_FRONT_MATTER,
        ) from exc
    except RecursionError as exc:
        raise LoadFailure(
            "malformed YAML front matter: nested too deeply",
            zh="文件开头的元数据（front matter）嵌套层数过多，无法解析。" + _FIX_FRONT_MATTER,
        ) from exc
    finally:
        loader.dispose()
    if not isinstance(value, dict) or not isinstance(node, yaml.MappingNode):
        shape = "一个列表" if isinstance(node, yaml.SequenceNode) else "一段文字" if node is not None else "空的"
        raise LoadFailure(
            "front matter must be a mapping",
            zh=f"文件开头的元数据（front matter）必须是一行一项的「键: 值」（例如 title: 某某事项办事指南），"
            f"现在却是{shape}。" + _FIX_FRONT_MATTER,
        )
    raw_nodes = {
        str(key_node.value): value_node
        for key_node, value_node in node.value
        if isinstance(key_node, yaml.ScalarNode)
    }
    return value, raw_nodes


def _yaml_error_text(exc: yaml.MarkedYAMLError) -> tuple[str, int | None]:
    """The error, and the line of the file it is on (None when YAML does not say)."""
    message = "; ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
    mark = exc.problem_mark or exc.context_mark
    # +2: marks are 0-based inside the YAML, which starts after the opening '---' on file line 1.
    return message, (mark.line + 2 if mark is not None else None)


def _front_matter_str(key: str, raw_nodes: dict[str, yaml.Node]) -> str:
    """The scalar exactly as written, so a long numeric 事项编码 or ``0012`` keeps every digit."""
    node = raw_nodes.get(key)
    if node is None:
        return ""
    if not isinstance(node, yaml.ScalarNode):
        raise LoadFailure(
            f"front matter key '{key}' must be a single value, not a list or mapping",
            zh=f"元数据中的 {key} 只能填写一个值（写在冒号后面的同一行），不能是列表或多层结构。"
            + _FIX_FRONT_MATTER,
        )
    if node.tag == "tag:yaml.org,2002:null":
        return ""
    return clean_line(str(node.value))


def _first_h1(body: str) -> str:
    """The text of the first ``# heading`` line, without a closing ``#`` sequence ("" if there is none).

    A plain loop, not one pattern: ``^#[ \t]+(.+?)[ \t]*#*[ \t]*$`` backtracks for minutes on a line with a long
    run of spaces or ``#`` inside."""
    match = _H1.search(body)
    if match is None:
        return ""
    line = body[match.start() : body.find("\n", match.start()) % (len(body) + 1)]
    text = line[1:].strip(" \t")
    return text.rstrip("#").rstrip(" \t") or text


def _jsonable(value: Any, budget: list[int], depth: int = 0) -> Any:
    """Extras end up in JSON stores; YAML can also produce sets and bytes, which JSON cannot hold.

    ``budget`` (one counter shared by all extras) bounds the values copied: a few aliases can stand for
    billions of them."""
    budget[0] -= 1
    if budget[0] < 0 or depth > _MAX_EXTRA_DEPTH:
        raise LoadFailure(
            "front matter is too large or too deeply nested",
            zh="文件开头的元数据（front matter）内容过多或嵌套过深（可能使用了大量 YAML 引用 & / *）。"
            "元数据只应有几行「键: 值」。" + _FIX_FRONT_MATTER,
        )
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v, budget, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, budget, depth + 1) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_jsonable(v, budget, depth + 1) for v in value), key=str)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)

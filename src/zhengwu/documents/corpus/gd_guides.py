"""Guangdong 办事指南 records (``gd_service_guides/policy.json``) -> service-guide Markdown.

One JSON object per line, as exported from the portal's MongoDB (fields in ``data_model.json``). Every field a
citizen can use is written out; nothing is paraphrased. Values the source leaves empty become ``无`` so that a
missing field reads as "the guide says nothing" rather than disappearing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from zhengwu.documents.corpus import GeneratedFile, safe_file_name

__all__ = [
    "EMPTY",
    "GuideDataError",
    "PORTAL_HOME",
    "convert_guide",
    "format_time_limit",
    "iter_guide_records",
    "region_of",
]

EMPTY = "无"
# Some records (items with no online service) carry no URL; a citizen can still look the item up by its
# 事项编码 on the provincial portal, so the front matter points there instead of inventing a deep link.
PORTAL_HOME = "https://www.gdzwfw.gov.cn/"
PROVINCE = "广东省"

_WHITESPACE_RUN = re.compile(r"\s+")
_TIME_LIMIT = re.compile(r"(\d+)\s*[(（]\s*(工作日|自然日)\s*[)）]")
_LOCATION_PREFIX = re.compile(r"^办理地点\s*[:：]\s*")


class GuideDataError(ValueError):
    """A record that cannot be converted; the message names the line so an operator can find it."""


def iter_guide_records(path: Path) -> Iterator[dict[str, Any]]:
    """Yield each record of a one-object-per-line JSON file, skipping blank lines."""
    with path.open(encoding="utf-8-sig") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise GuideDataError(f"{path}, line {line_number}: not valid JSON ({exc.msg})") from exc
            if not isinstance(record, dict):
                raise GuideDataError(f"{path}, line {line_number}: expected a JSON object")
            if not text(record.get("TASK_CODE")) or not text(record.get("TASK_NAME")):
                raise GuideDataError(f"{path}, line {line_number}: record has no TASK_CODE or TASK_NAME")
            yield record


def text(value: Any) -> str:
    """A source value as one clean line: None -> "", whitespace runs (line breaks, 全角 spaces) -> one space."""
    if value is None:
        return ""
    return _WHITESPACE_RUN.sub(" ", str(value)).strip()


def or_empty(value: Any) -> str:
    return text(value) or EMPTY


def joined(values: Any) -> str:
    """A list field (服务对象, 主题分类) joined with 、; a plain string is taken as one item."""
    items = values if isinstance(values, list) else [values]
    return "、".join(item for item in (text(v) for v in items) if item) or EMPTY


def format_time_limit(value: Any) -> str:
    """``30(工作日)`` / ``30（工作日）`` -> ``30个工作日``; anything else (``无``) is kept verbatim."""
    cleaned = text(value)
    match = _TIME_LIMIT.fullmatch(cleaned)
    if match:
        return f"{match.group(1)}个{match.group(2)}"
    return cleaned or EMPTY


def region_of(area_text: Any) -> str:
    """``广东省广州市`` -> ``广州市``; ``广东省`` -> ``广东省``: the most specific level is the region."""
    area = text(area_text)
    if area.startswith(PROVINCE) and len(area) > len(PROVINCE):
        return area[len(PROVINCE) :]
    return area or PROVINCE


def object_id_date(record: dict[str, Any]) -> str:
    """The UTC date a MongoDB ObjectId was created: its first 8 hex digits are unix seconds."""
    raw = record.get("_id")
    oid = raw.get("$oid") if isinstance(raw, dict) else raw
    if not isinstance(oid, str) or not re.fullmatch(r"[0-9a-fA-F]{24}", oid):
        return ""
    return datetime.fromtimestamp(int(oid[:8], 16), tz=UTC).date().isoformat()


def _materials(value: Any) -> str:
    items = value if isinstance(value, list) else [value]
    names = [name for name in (text(v) for v in items) if name and name != EMPTY]
    if not names:
        return EMPTY
    return "\n".join(f"{number}. {name}" for number, name in enumerate(names, start=1))


def _location(value: Any) -> str:
    return _LOCATION_PREFIX.sub("", text(value)).strip() or EMPTY


def _visits(value: Any) -> str:
    count = text(value)
    if not count:
        return EMPTY
    return f"{count}次" if count.isdigit() else count


def guide_body(record: dict[str, Any]) -> str:
    """The Markdown body, section by section, exactly as docs/corpus-format.md lists them."""
    sections = [
        f"# {text(record.get('TASK_NAME'))}",
        "## 基本信息\n"
        f"- 事项名称：{or_empty(record.get('matter_name'))}\n"
        f"- 事项类型：{or_empty(record.get('TASK_TYPE_TEXT'))}\n"
        f"- 实施主体：{or_empty(record.get('DEPT_NAME'))}\n"
        f"- 服务对象：{joined(record.get('service_object_name'))}\n"
        f"- 主题分类：{joined(record.get('theme_category'))}\n"
        f"- 事项层级：{or_empty(record.get('matter_level'))}\n"
        f"- 联办机构：{or_empty(record.get('co_department'))}",
        f"## 受理条件\n{or_empty(record.get('accept_standard'))}",
        f"## 申请材料\n{_materials(record.get('material_intro'))}",
        "## 办理时限\n"
        f"- 法定办结时限：{format_time_limit(record.get('handle_time'))}\n"
        f"- 承诺办结时限：{format_time_limit(record.get('handle_time_limit'))}",
        f"## 办理地点\n{_location(record.get('handle_location'))}",
        f"## 到现场次数\n{_visits(record.get('visit_number'))}",
        f"## 咨询电话\n{or_empty(record.get('consult_phone'))}",
        f"## 投诉电话\n{or_empty(record.get('complain_phone'))}",
        "## 网上办理\n"
        f"- 办理平台：{or_empty(record.get('bear_paltform'))}\n"
        f"- 网上预约：{or_empty(record.get('online_book'))}\n"
        f"- 预约地址：{or_empty(record.get('online_book_addr'))}\n"
        f"- 快递送达：{or_empty(record.get('courier_service'))}\n"
        f"- 办事指南链接：{or_empty(record.get('URL'))}",
    ]
    return "\n\n".join(sections)


def guide_front_matter(record: dict[str, Any]) -> dict[str, Any]:
    code = text(record.get("TASK_CODE"))
    title = text(record.get("TASK_NAME"))
    front: dict[str, Any] = {
        "doc_id": code,
        "title": title,
        "doc_type": "service_guide",
        "region": region_of(record.get("AREA_CODE_TEXT")),
        "department": text(record.get("DEPT_NAME")),
        "updated": object_id_date(record),
        "source_url": text(record.get("URL")) or PORTAL_HOME,
        "status": "active",
        "item_name": or_empty(record.get("matter_name")),
        "item_code": code,
    }
    catalog = text(record.get("CATANAME"))
    if catalog and catalog != title:
        front["catalog_name"] = catalog
    short = text(record.get("matter_short"))
    if short and short != EMPTY:
        front["matter_short"] = short
    return front


def convert_guide(record: dict[str, Any]) -> GeneratedFile:
    front = guide_front_matter(record)
    folder = safe_file_name(front["region"], fallback=PROVINCE)
    name = safe_file_name(front["doc_id"], fallback="guide")
    return GeneratedFile(
        rel_path=f"service_guides/{folder}/{name}.md",
        front=front,
        body=guide_body(record),
    )

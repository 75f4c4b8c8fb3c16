"""The fields of a 办事指南 (service guide): one key per field, with the section heading a guide file uses for
it and the label an answer uses (docs/corpus-format.md).

Chunking reads the headings, question analysis asks which keys a question wants, the composer labels what it
quotes, corpus health checks the key fields: all of them through this table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class GuideField:
    key: str  # what code and answers use: "phone"
    label: str  # what a citizen reads: 咨询电话
    heading: str | None  # the guide's section heading, or None for a fact read inside 基本信息


GUIDE_FIELDS: tuple[GuideField, ...] = (
    GuideField("basic", "基本信息", "基本信息"),
    GuideField("conditions", "受理条件", "受理条件"),
    GuideField("materials", "申请材料", "申请材料"),
    GuideField("time_limit", "办理时限", "办理时限"),
    GuideField("location", "办理地点", "办理地点"),
    GuideField("visits", "到现场次数", "到现场次数"),
    GuideField("phone", "咨询电话", "咨询电话"),
    GuideField("complaint", "投诉电话", "投诉电话"),
    GuideField("online", "网上办理", "网上办理"),
    GuideField("fee", "收费标准", "收费标准"),
    GuideField("process", "办理流程", "办理流程"),
    GuideField("department", "实施主体", None),  # 基本信息: 实施主体
    GuideField("objects", "服务对象", None),  # 基本信息: 服务对象
)

# Section heading -> field key (chunking).
KEY_OF_HEADING: dict[str, str] = {f.heading: f.key for f in GUIDE_FIELDS if f.heading}
# Field key -> label (answers, reports).
LABELS: dict[str, str] = {f.key: f.label for f in GUIDE_FIELDS}
# The fields every guide should fill in: corpus health reports guides without them.
KEY_FIELDS: tuple[str, ...] = ("materials", "phone", "time_limit")

_HEADINGS = sorted((f.heading for f in GUIDE_FIELDS if f.heading), key=len, reverse=True)
# "申请材料", "三、办理时限：", "（二）咨询电话", "4. 办理地点": a line that is only a field's heading.
_HEADING_LINE = re.compile(
    r"^[ \t]*(?:[一二三四五六七八九十]+[、.．]|\d{1,2}[、.．)）]|[（(][一二三四五六七八九十\d]{1,3}[)）])?[ \t]*"
    r"(" + "|".join(map(re.escape, _HEADINGS)) + r")[ \t]*(?:[：:](.*))?$",
    re.MULTILINE,
)


def mark_guide_headings(body: str) -> str:
    """The plain text of a guide (a PDF, a Word file without heading styles) with each line that is only a
    field's heading made a Markdown ``##`` heading ("办理时限：5个工作日" becomes the heading and its value), so
    that the guide is cut into its fields as a guide file is."""
    def heading(match: re.Match[str]) -> str:
        value = (match.group(2) or "").strip()
        return f"## {match.group(1)}" + (f"\n{value}" if value else "")

    return _HEADING_LINE.sub(heading, body)

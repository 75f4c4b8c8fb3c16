"""The console's Jinja templates and the filters that show stored values (statuses, reasons, ratings, roles,
channels, provenance, times) in Chinese, from each vocabulary's one home."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from zhengwu.answering.answer import Provenance
from zhengwu.answering.vocabulary import CHANNEL_LABELS, HANDOFF_CATEGORY_LABELS, REASON_LABELS, STATUS_LABELS
from zhengwu.documents import DOC_TYPE_LABELS
from zhengwu.review import CHINA_TIME, RATING_LABELS, REVIEW_REASON_LABELS, ROLE_LABELS, SATISFACTION_LABELS

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _china_time(moment: datetime | None, with_seconds: bool = False) -> str:
    if moment is None:
        return ""
    return moment.astimezone(CHINA_TIME).strftime("%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M")


def _path_label(path: str) -> str:
    """What wrote an answer (its stored provenance label), as staff call it."""
    if not path:
        return ""
    provenance = Provenance.parse(path)
    if provenance.kind == "curated":
        return f"标准答案 第{provenance.version}版"
    if provenance.kind == "llm":
        return "大模型生成"
    return "资料摘录" if path == "composer" else path


def _actor_label(actor: str | None) -> str:
    """Audit names as staff know them: "console:wang" -> wang, the admin token and the command line by name."""
    if not actor:
        return ""
    if actor == "admin-token":
        return "管理令牌"
    if actor.startswith("console:"):
        return actor.removeprefix("console:")
    if actor.startswith("cli:"):
        return f"{actor.removeprefix('cli:')}（命令行）"
    return actor


def environment() -> Environment:
    """The console's templates, with the filters that label values in Chinese."""
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(
        china_time=_china_time, path_label=_path_label, actor_label=_actor_label,
        status_label=lambda s: STATUS_LABELS.get(s, s), reason_label=lambda s: REASON_LABELS.get(s, s),
        rating_label=lambda s: RATING_LABELS.get(s, s), review_reason_label=lambda s: REVIEW_REASON_LABELS.get(s, s),
        role_label=lambda s: ROLE_LABELS.get(s, s), channel_label=lambda s: CHANNEL_LABELS.get(s, s),
        kind_label=lambda s: HANDOFF_CATEGORY_LABELS.get(s, s),
        satisfaction_label=lambda level: SATISFACTION_LABELS.get(level, str(level)),
        doc_type_label=lambda s: DOC_TYPE_LABELS.get(s, s), source_value=lambda s: json.dumps(
            {"doc_id": s.doc_id, "section": s.section}, ensure_ascii=False),
    )
    return env



"""Stage 1 of the data path: the ``Document``, whatever file it came from.

Document -> Chunk -> Index -> Retriever -> Answer -> Channel.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Literal

DocType = Literal["service_guide", "law", "policy", "faq"]
DOC_TYPES: tuple[str, ...] = ("service_guide", "law", "policy", "faq")
DOC_TYPE_LABELS: dict[str, str] = {"service_guide": "办事指南", "law": "法律法规", "policy": "政策文件", "faq": "问答"}
# "active": in force / in service. "repealed" (a law or policy) and "withdrawn" (a service item no longer
# offered): kept for reference, never used to answer. "draft": not yet published.
STATUSES: tuple[str, ...] = ("active", "repealed", "withdrawn", "draft")
# Front matter ``expires: YYYY-MM-DD`` (失效日期): from that day on the document is not answered from, whatever
# its status says; checked when a question is asked, so no re-index is needed on the day.
EXPIRES = "expires"


def expiry_date(extra: Mapping[str, Any]) -> date | None:
    """The day a document stops applying (``extra["expires"]``), or None when it has none or it is unreadable."""
    value = str(extra.get(EXPIRES) or "").strip()
    try:
        return date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def expired(extra: Mapping[str, Any], today: date) -> bool:
    until = expiry_date(extra)
    return until is not None and until <= today

NATIONAL = "全国"


@dataclass(frozen=True)
class Document:
    doc_id: str
    title: str
    body: str
    doc_type: str = "policy"
    region: str = NATIONAL
    department: str = ""
    updated: str = ""
    source_url: str = ""
    status: str = "active"
    path: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def content_hash(self) -> str:
        """Changes whenever anything that reaches the index changes (not the file path)."""
        payload = asdict(self)
        payload.pop("path")
        blob = json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class LoadError:
    """A file that could not be turned into documents; reported by name and reason, never fatal.

    ``reason`` is English for operators; ``zh``, when set, says the same to staff in Chinese (the console)."""

    path: str
    reason: str
    zh: str = ""

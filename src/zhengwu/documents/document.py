"""Stage 1 of the data path: the ``Document``, whatever file it came from.

Document -> Chunk -> Index -> Retriever -> Answer -> Channel.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

DocType = Literal["service_guide", "law", "policy", "faq"]
DOC_TYPES: tuple[str, ...] = ("service_guide", "law", "policy", "faq")
DOC_TYPE_LABELS: dict[str, str] = {"service_guide": "办事指南", "law": "法律法规", "policy": "政策文件", "faq": "问答"}
# "active": in force / in service. "repealed": kept for reference, never used to answer.
STATUSES: tuple[str, ...] = ("active", "repealed", "draft")

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
    """A file that could not be turned into documents; reported by name and reason, never fatal."""

    path: str
    reason: str

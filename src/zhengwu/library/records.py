"""Plain values of the document library (never ORM objects) and its vocabulary, with the Chinese labels staff
read in the console."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from zhengwu.documents import Document
from zhengwu.documents.checks import Problem

# How a version came to be.
ORIGINS = ("upload", "form", "rollback", "withdraw", "disk", "keep")
ORIGIN_LABELS = {
    "upload": "上传", "form": "表单编辑", "rollback": "回滚", "withdraw": "撤销/废止", "disk": "采用磁盘文件",
    "keep": "保留控制台版本",
}
# What the audit trail records.
ACTIONS = ("upload", "edit", "publish", "withdraw", "rollback", "release", "discard", "take_disk", "keep")
ACTION_LABELS = {
    "upload": "上传草稿", "edit": "编辑草稿", "publish": "发布", "withdraw": "撤销/废止", "rollback": "回滚",
    "release": "交还磁盘文件", "discard": "放弃草稿", "take_disk": "采用磁盘版本", "keep": "保留控制台版本",
}
JOB_STATES = ("queued", "running", "done", "failed")
JOB_STATE_LABELS = {"queued": "排队中", "running": "进行中", "done": "已完成", "failed": "失败"}
# Front-matter keys beyond the Document fields, as staff read them (others are shown as written).
EXTRA_LABELS = {
    "item_name": "事项名称", "item_code": "事项编码", "catalog_name": "目录名称", "expires": "失效日期",
    "ends_as": "到期后", "withdrawn_on": "撤销/废止日期",
}
STATUS_LABELS = {"active": "有效", "repealed": "已废止", "withdrawn": "已撤销", "draft": "草稿"}


def problem_of(value: dict[str, Any] | Problem) -> Problem:
    """A stored problem (``document_versions.problems``) as the checks made it."""
    if isinstance(value, Problem):
        return value
    return Problem(str(value.get("code", "")), str(value.get("zh", "")), bool(value.get("blocking")))


def problem_dict(problem: Problem) -> dict[str, Any]:
    return {"code": problem.code, "zh": problem.zh, "blocking": problem.blocking}


@dataclass(frozen=True)
class VersionData:
    doc_id: str
    version: int
    document: Document
    content_hash: str
    origin: str
    filename: str
    problems: list[Problem]
    based_on: int | None
    disk_hash: str | None
    note: str
    created_by: str
    created_at: datetime

    @property
    def blocking(self) -> list[Problem]:
        return [p for p in self.problems if p.blocking]


@dataclass(frozen=True)
class EntryData:
    """A console-managed document: its newest version and the one citizens are answered from."""

    doc_id: str
    latest: VersionData
    published_version: int | None
    published_by: str | None
    published_at: datetime | None
    updated_at: datetime

    @property
    def published(self) -> bool:
        return self.published_version is not None

    @property
    def has_draft(self) -> bool:
        """A version newer than the published one (or any version, when none is published)."""
        return self.published_version is None or self.latest.version > self.published_version


@dataclass(frozen=True)
class EventData:
    id: int
    doc_id: str
    action: str
    version: int | None
    actor: str
    at: datetime
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    detail: str


@dataclass(frozen=True)
class JobData:
    id: int
    kind: str
    state: str
    total: int
    done: int
    message: str
    report: dict[str, Any] | None
    actor: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")

    @property
    def percent(self) -> int:
        if self.state == "done":
            return 100
        return int(100 * self.done / self.total) if self.total else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "kind": self.kind, "state": self.state, "state_label": JOB_STATE_LABELS[self.state],
            "total": self.total, "done": self.done, "percent": self.percent, "message": self.message,
            "report": self.report, "actor": self.actor, "created_at": self.created_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


@dataclass(frozen=True)
class DocumentRow:
    """One line of the console's document list: a document citizens may be answered from (from a file or the
    console) or a console draft not yet published."""

    doc_id: str
    title: str
    doc_type: str
    region: str
    department: str
    updated: str
    status: str
    origin: str  # "console" or "file"
    expires: str = ""
    entry: EntryData | None = None
    conflict: bool = False
    flags: list[str] = field(default_factory=list)

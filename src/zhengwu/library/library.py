"""``Library``: the knowledge base as staff manage it in the console and through ``/api/v1/admin/documents``.

Documents come from two places: files (the corpus folder, ``zhengwu ingest PATH``) and the console (uploads,
the form, roll-backs), whose versions live in the database. **The console wins**: once a document is published
from the console, the file with the same ``doc_id`` is not applied; it is kept as a shadow, and a change to
the file since the console took over shows as a conflict, for staff to take the file's version or keep the
console's. Handing a document back to its file ends the console's hold.

Every change is a new version (nothing is edited in place) and a line in the audit trail. Publishing,
withdrawing, rolling back and handing back re-index in the background (``Publisher``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from zhengwu.config import Settings
from zhengwu.documents import EXPIRES, Document, expired
from zhengwu.documents.checks import document_problems
from zhengwu.documents.guide_fields import mark_guide_headings
from zhengwu.documents.loaders import LoadFailure, load_file, load_upload
from zhengwu.index import CONSOLE_SOURCE, Index, Shadow
from zhengwu.index.chunking import Chunk, chunk_document
from zhengwu.index.index import screen
from zhengwu.library.publisher import Publisher
from zhengwu.library.records import DocumentRow, EntryData, JobData, Problem, VersionData
from zhengwu.library.store import LibraryStore

# Formats without front matter take the upload form's defaults (type, region, department, source URL).
_PLAIN_FORMATS = (".pdf", ".docx", ".html", ".htm", ".txt")
WITHDRAWN_ON = "withdrawn_on"  # extra: the day a withdrawal or repeal took effect
ENDS_AS = "ends_as"  # extra: what a document with an ``expires`` date becomes (withdrawn / repealed)


class Refused(ValueError):
    """An operation staff asked for that cannot be done; ``zh`` says why, in Chinese."""

    def __init__(self, zh: str, detail: str = "") -> None:
        super().__init__(detail or zh)
        self.zh = zh


@dataclass
class UploadOutcome:
    versions: list[VersionData] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # Chinese, one per record that could not be used


@dataclass(frozen=True)
class Preview:
    version: VersionData
    chunks: list[Chunk]
    problems: list[Problem]
    held_file: bool  # a file with this doc_id exists: publishing puts the console's version in its place


@dataclass(frozen=True)
class Filters:
    doc_type: str = ""
    region: str = ""
    department: str = ""
    status: str = ""  # a status, or "expired", "draft", "conflict"
    updated_since: str = ""  # YYYY-MM-DD
    origin: str = ""  # "console" or "file"
    search: str = ""

    @classmethod
    def of(cls, query: Mapping[str, str]) -> Filters:
        return cls(**{name: str(query.get(name) or "").strip()[:100] for name in cls.__dataclass_fields__})

    def matches(self, row: DocumentRow) -> bool:
        if self.doc_type and row.doc_type != self.doc_type:
            return False
        if self.region and self.region not in row.region:
            return False
        if self.department and self.department not in row.department:
            return False
        if self.origin and row.origin != self.origin:
            return False
        if self.status:
            if self.status in ("expired", "draft", "conflict"):
                if self.status not in row.flags and not (self.status == "draft" and row.status == "draft"):
                    return False
            elif row.status != self.status:
                return False
        if self.updated_since and (not row.updated or row.updated[:10] < self.updated_since):
            return False
        if self.search:
            needle = re.sub(r"\s+", "", self.search).lower()
            if needle not in row.title.replace(" ", "").lower() and needle not in row.doc_id.lower():
                return False
        return True


class Library:
    def __init__(self, store: LibraryStore, index: Index, settings: Settings) -> None:
        self.store = store
        self.index = index
        self.settings = settings
        self.publisher = Publisher(store, index, settings)

    # -- reads --------------------------------------------------------------------------------------------------

    def rows(self, filters: Filters = Filters(), today: date | None = None) -> list[DocumentRow]:
        """Every document: indexed ones (from files or the console) and console drafts never published."""
        today = today or date.today()
        entries = self.store.entries()
        states = self.index.store.doc_states()
        shadows = self.index.store.shadows()
        rows: list[DocumentRow] = []
        for doc_id, meta in self.index.documents().items():
            entry = entries.get(doc_id)
            from_console = states.get(doc_id, ("", ""))[1] == CONSOLE_SOURCE
            rows.append(self._row(doc_id, meta.title, meta.doc_type, meta.region, meta.department, meta.updated,
                                  meta.status, meta.extra, "console" if from_console else "file", entry,
                                  self._conflict(entry, shadows.get(doc_id)), today))
        for doc_id, entry in entries.items():
            if doc_id in states:
                continue
            doc = entry.latest.document
            rows.append(self._row(doc_id, doc.title, doc.doc_type, doc.region, doc.department, doc.updated,
                                  "draft", doc.extra, "console", entry, False, today))
        return sorted((r for r in rows if filters.matches(r)), key=lambda r: (r.origin != "console", r.doc_id))

    @staticmethod
    def _row(doc_id: str, title: str, doc_type: str, region: str, department: str, updated: str, status: str,
             extra: Mapping[str, Any], origin: str, entry: EntryData | None, conflict: bool,
             today: date) -> DocumentRow:
        flags = []
        if expired(extra, today):
            flags.append("expired")
        if entry is not None and entry.has_draft and status != "draft":
            flags.append("draft")
        if conflict:
            flags.append("conflict")
        return DocumentRow(doc_id=doc_id, title=title, doc_type=doc_type, region=region, department=department,
                           updated=updated, status=status, origin=origin, expires=str(extra.get(EXPIRES) or ""),
                           entry=entry, conflict=conflict, flags=flags)

    def _conflict(self, entry: EntryData | None, shadow: Shadow | None) -> bool:
        """The file changed since the published version was made from (or over) it. A draft taken from the file
        does not end the conflict; publishing it does."""
        if entry is None or entry.published_version is None or shadow is None:
            return False
        published = (entry.latest if entry.latest.version == entry.published_version
                     else self.store.version(entry.doc_id, entry.published_version))
        return published is not None and shadow.hash != published.disk_hash

    def document(self, doc_id: str) -> Document | None:
        """What citizens are answered from now: the console's published version, else the indexed file."""
        entry = self.store.entry(doc_id)
        if entry is not None and entry.published_version is not None:
            version = self.store.version(doc_id, entry.published_version)
            return version.document if version is not None else None
        return None

    def shadow(self, doc_id: str) -> Shadow | None:
        return self.index.store.shadow(doc_id)

    def conflict(self, doc_id: str) -> Shadow | None:
        shadow = self.shadow(doc_id)
        return shadow if self._conflict(self.store.entry(doc_id), shadow) else None

    def preview(self, version: VersionData) -> Preview:
        doc, _ = screen(version.document)
        chunks = chunk_document(doc, dense_scope=self.settings.dense_scope)
        store = self.index.store
        held = store.state_of(version.doc_id) is not None or store.shadow(version.doc_id) is not None
        return Preview(version=version, chunks=chunks, problems=version.problems, held_file=held)

    # -- writes -------------------------------------------------------------------------------------------------

    def upload(self, filename: str, data: bytes, actor: str, defaults: Mapping[str, str] | None = None
               ) -> UploadOutcome:
        """Parse an uploaded file into drafts (one per document; a JSONL file may hold many). Nothing is
        published: staff preview the chunks and problems first."""
        try:
            loaded = load_upload(filename, data, max_bytes=self.settings.max_upload_mb * 1024 * 1024)
        except LoadFailure as exc:
            raise Refused(exc.zh or "文件无法读取。", exc.reason) from exc
        outcome = UploadOutcome(errors=[e.zh or e.reason for e in loaded.errors])
        plain = filename.lower().endswith(_PLAIN_FORMATS)
        for doc in loaded.documents:
            if plain and defaults:
                doc = _with_defaults(doc, defaults)
            outcome.versions.append(self._add(doc, origin="upload", actor=actor, filename=filename,
                                              action="upload"))
        if not outcome.versions and not outcome.errors:
            outcome.errors.append("文件中没有可用的文档。")
        return outcome

    def edit(self, doc_id: str, document: Document, actor: str, *, based_on: int | None = None,
             note: str = "") -> VersionData:
        """A new draft from the form. A draft never published may take a new ``doc_id`` (a PDF's generated id
        replaced by the 事项编码); a published document keeps its id. A document from a file is taken over:
        its first console version (the file stays as it is, and waits as a shadow once this is published)."""
        entry = self.store.entry(doc_id)
        if entry is None:
            if doc_id not in self.index.documents():
                raise Refused("没有这份文档。")
            if document.doc_id != doc_id:
                raise Refused("从磁盘文件接管的文档不能更改编号。")
            return self._add(document, origin="form", actor=actor, note=note or "从磁盘文件接管并编辑")
        if document.doc_id != doc_id:
            if entry.published:
                raise Refused("已发布的文档不能更改编号；请另行上传新文档。")
            if self.store.entry(document.doc_id) is not None or self.index.store.state_of(document.doc_id) is not None:
                raise Refused(f"编号 {document.doc_id} 已被其他文档使用。")
        version = self._add(document, origin="form", actor=actor, based_on=based_on or entry.latest.version,
                            note=note)
        if document.doc_id != doc_id:
            self.store.discard(doc_id, actor)
        return version

    def publish(self, doc_id: str, number: int, actor: str) -> JobData:
        version = self.store.version(doc_id, number)
        if version is None:
            raise Refused("没有这个版本。")
        if version.blocking:
            raise Refused("此版本还有必须修改的问题，不能发布：" + "；".join(p.zh for p in version.blocking))
        self.store.set_published(doc_id, number, actor, action="publish")
        return self.publisher.request("publish", actor)

    def publish_drafts(self, actor: str) -> tuple[int, int, JobData | None]:
        """Publish the newest version of every document with an unpublished draft (a JSONL knowledge base of
        hundreds of records), except those with a problem that blocks publishing; one re-index for all.
        Returns (published, held back, the job)."""
        published = held = 0
        for entry in self.store.entries().values():
            if not entry.has_draft:
                continue
            if entry.latest.blocking:
                held += 1
                continue
            self.store.set_published(entry.doc_id, entry.latest.version, actor, action="publish",
                                     detail="批量发布草稿")
            published += 1
        return published, held, self.publisher.request("publish", actor) if published else None

    def withdraw(self, doc_id: str, status: str, effective: date, actor: str, note: str = "",
                 today: date | None = None) -> JobData:
        """Withdraw (a service item no longer offered) or repeal (a law or policy) from ``effective``: on and
        after that day the document is not answered from. A document from a file is taken over by the console
        for this (the file stays as it is)."""
        if status not in ("withdrawn", "repealed"):
            raise Refused("请选择“撤销”或“废止”。")
        today = today or date.today()
        current = self.current(doc_id)
        extra = {k: v for k, v in current.extra.items() if k not in (EXPIRES, ENDS_AS, WITHDRAWN_ON)}
        if effective <= today:
            doc = replace(current, status=status, extra={**extra, WITHDRAWN_ON: effective.isoformat()})
        else:
            doc = replace(current, status="active", extra={**extra, EXPIRES: effective.isoformat(), ENDS_AS: status})
        label = "撤销" if status == "withdrawn" else "废止"
        version = self._add(doc, origin="withdraw", actor=actor, action="withdraw",
                            note=note or f"{label}，{effective.isoformat()} 起不再作答")
        self.store.set_published(version.doc_id, version.version, actor, action="withdraw", detail=version.note)
        return self.publisher.request("publish", actor)

    def rollback(self, doc_id: str, number: int, actor: str) -> JobData:
        """Publish again what version ``number`` said, as a new version (history is never rewritten)."""
        old = self.store.version(doc_id, number)
        if old is None:
            raise Refused("没有这个版本。")
        blocking = [p for p in document_problems(old.document) if p.blocking]  # by today's checks
        if blocking:
            raise Refused("该版本有必须修改的问题，不能回滚到它：" + "；".join(p.zh for p in blocking))
        version = self._add(old.document, origin="rollback", actor=actor, action="rollback", based_on=number,
                            note=f"回滚到第 {number} 版")
        self.store.set_published(doc_id, version.version, actor, action="publish", detail=version.note)
        return self.publisher.request("publish", actor)

    def release(self, doc_id: str, actor: str) -> JobData:
        """Stop publishing the console's version: the file's version (if any) answers again."""
        entry = self.store.entry(doc_id)
        if entry is None or not entry.published:
            raise Refused("这份文档没有由审核台发布的版本。")
        self.store.set_published(doc_id, None, actor, action="release")
        return self.publisher.request("publish", actor)

    def take_disk(self, doc_id: str, actor: str) -> VersionData:
        """A conflict resolved for the file: its current text becomes a new draft, to preview and publish."""
        shadow = self.shadow(doc_id)
        if shadow is None or shadow.document is None:
            raise Refused("没有可采用的磁盘文件版本（请先重新读取语料文件夹）。")
        return self._add(shadow.document, origin="disk", actor=actor, action="take_disk",
                         note=f"采用磁盘文件 {shadow.document.path or shadow.source}")

    def keep(self, doc_id: str, actor: str) -> JobData:
        """A conflict resolved for the console: the published text stays, the file's change is acknowledged."""
        entry = self.store.entry(doc_id)
        shadow = self.shadow(doc_id)
        if entry is None or entry.published_version is None or shadow is None:
            raise Refused("这份文档没有需要处理的冲突。")
        published = self.store.version(doc_id, entry.published_version)
        assert published is not None
        version = self.store.add_version(published.document, origin="keep", actor=actor, action="keep",
                                         problems=published.problems, based_on=published.version,
                                         disk_hash=shadow.hash, note="磁盘文件已更改，保留审核台版本")
        self.store.set_published(doc_id, version.version, actor, action="publish", detail=version.note)
        return self.publisher.request("publish", actor)

    def discard(self, doc_id: str, actor: str) -> None:
        try:
            self.store.discard(doc_id, actor)
        except LookupError as exc:
            raise Refused("没有这份文档。") from exc
        except ValueError as exc:
            raise Refused("已发布的文档不能放弃；请撤销或交还磁盘文件。") from exc

    def reindex_folder(self, actor: str) -> JobData:
        return self.publisher.request("reindex", actor)

    def sync(self) -> JobData:
        """Re-apply the console's published documents (at start: the index may have been rebuilt)."""
        return self.publisher.request("publish", "system")

    # -- helpers ------------------------------------------------------------------------------------------------

    def current(self, doc_id: str) -> Document:
        """What citizens are answered from: the console's published version, else the file's document."""
        published = self.document(doc_id)
        if published is not None:
            return published
        shadow = self.shadow(doc_id)
        if shadow is not None and shadow.document is not None:
            return shadow.document
        file_doc = self._file_document(doc_id)
        if file_doc is None:
            raise Refused("没有这份已发布的文档。")
        return file_doc

    def _file_document(self, doc_id: str) -> Document | None:
        """A file's document, read again from its file (or, when the file is gone, rebuilt from the index)."""
        meta = self.index.documents().get(doc_id)
        origin = self.index.store.origin_of(doc_id)
        if meta is None or origin is None:
            return None
        source, relative = Path(origin[0]), origin[1]
        root = source if source.is_dir() else source.parent
        candidate = root / relative if relative and not Path(relative).is_absolute() else Path(relative or source)
        try:
            found = [d for d in load_file(candidate, root=root, errors=[]) if d.doc_id == doc_id]
        except (LoadFailure, OSError):
            found = []
        if found:
            return found[0]
        chunks = self.index.store.chunks_of(doc_id)
        body = _body_of(meta.title, [(c.section, c.text, c.kind) for c in chunks])
        return Document(doc_id=doc_id, title=meta.title, body=body, doc_type=meta.doc_type, region=meta.region,
                        department=meta.department, updated=meta.updated, source_url=meta.source_url,
                        status=meta.status, extra=dict(meta.extra))

    def _add(self, doc: Document, *, origin: str, actor: str, filename: str = "", action: str = "edit",
             based_on: int | None = None, note: str = "") -> VersionData:
        problems = document_problems(doc)
        return self.store.add_version(doc, origin=origin, actor=actor, filename=filename, problems=problems,
                                      based_on=based_on, disk_hash=self._disk_hash(doc.doc_id), note=note,
                                      action=action)

    def _disk_hash(self, doc_id: str) -> str | None:
        shadow = self.shadow(doc_id)
        if shadow is not None:
            return shadow.hash
        state = self.index.store.state_of(doc_id)
        return state[0] if state is not None and state[1] != CONSOLE_SOURCE else None


def _with_defaults(doc: Document, defaults: Mapping[str, str]) -> Document:
    values = {k: str(v).strip() for k, v in defaults.items() if str(v or "").strip()}
    changes: dict[str, Any] = {k: values[k] for k in ("doc_type", "region", "department", "source_url", "updated")
                               if k in values}
    extra = dict(doc.extra)
    if values.get("item_name"):
        extra["item_name"] = values["item_name"]
    doc = replace(doc, **changes, extra=extra)
    # A guide from a PDF or Word file: its heading lines ("申请材料", "三、办理时限：") cut it into fields.
    return replace(doc, body=mark_guide_headings(doc.body)) if doc.doc_type == "service_guide" else doc


def _body_of(title: str, chunks: Iterable[tuple[str, str, str]]) -> str:
    """A body from stored chunks: one ``##`` section per distinct section, its texts in order."""
    parts = [f"# {title}"]
    current = None
    for section, text, _kind in chunks:
        heading = section.split(" > ")[-1].strip() if section else ""
        if heading and heading != current and heading != title:
            parts.append(f"## {heading}")
            current = heading
        parts.append(text.strip())
    return "\n\n".join(p for p in parts if p)

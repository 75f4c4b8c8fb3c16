"""The knowledge base as staff manage it: documents uploaded, edited, published, withdrawn and rolled back in
the review console (``zhengwu.web.console.routes.documents``) and ``/api/v1/admin/documents``.

Modules: ``store`` (the tables: versions, published state, audit trail, jobs), ``records`` (plain values and
their Chinese labels), ``markdown`` (a document as a corpus file, diffs, the service-guide form), ``publisher``
(background re-indexing with progress), ``library`` (``Library``, the operations). Outside this package, use
the names below.
"""

from zhengwu.library.library import Filters, Library, Preview, Refused, UploadOutcome
from zhengwu.library.markdown import (
    BASIC_FACTS,
    SECTION_HEADINGS,
    DiffLine,
    diff,
    document_markdown,
    guide_form,
    with_guide_form,
)
from zhengwu.library.publisher import sync_console
from zhengwu.library.records import (
    ACTION_LABELS,
    EXTRA_LABELS,
    JOB_STATE_LABELS,
    ORIGIN_LABELS,
    STATUS_LABELS,
    DocumentRow,
    EntryData,
    EventData,
    JobData,
    Problem,
    VersionData,
)
from zhengwu.library.store import LibraryStore

__all__ = [
    "ACTION_LABELS",
    "EXTRA_LABELS",
    "BASIC_FACTS",
    "JOB_STATE_LABELS",
    "ORIGIN_LABELS",
    "SECTION_HEADINGS",
    "STATUS_LABELS",
    "DiffLine",
    "DocumentRow",
    "EntryData",
    "EventData",
    "Filters",
    "JobData",
    "Library",
    "LibraryStore",
    "Preview",
    "Problem",
    "Refused",
    "UploadOutcome",
    "VersionData",
    "diff",
    "document_markdown",
    "guide_form",
    "sync_console",
    "with_guide_form",
]

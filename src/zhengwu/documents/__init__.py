"""Stage 1 of the data path: the ``Document``, whatever file it came from.

Document -> Chunk -> Index -> Retriever -> Answer -> Channel.

``loaders`` turns files (Markdown, TXT, HTML, PDF, DOCX, JSONL) into documents, ``screen`` cuts sentences that
address the assistant, ``corpus`` regenerates the bundled ``corpus/`` from raw public data.
"""

from zhengwu.documents.document import (
    DOC_TYPE_LABELS,
    DOC_TYPES,
    EXPIRES,
    NATIONAL,
    STATUSES,
    Document,
    LoadError,
    expired,
    expiry_date,
)

__all__ = [
    "DOC_TYPES",
    "DOC_TYPE_LABELS",
    "EXPIRES",
    "NATIONAL",
    "STATUSES",
    "Document",
    "LoadError",
    "expired",
    "expiry_date",
]

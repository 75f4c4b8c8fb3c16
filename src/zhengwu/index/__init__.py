"""Stages 2 and 3: documents are cut into chunks (``chunking``) and indexed: the chunk store (SQLite, the source
of truth), BM25 over jieba tokens (``sparse``, ``analyzer``) and dense vectors in Chroma (``dense``,
``embeddings``). ``Index`` holds them together and ingests incrementally.
"""

from zhengwu.index.index import CONSOLE_SOURCE, Index, IngestReport
from zhengwu.index.store import Shadow

__all__ = ["CONSOLE_SOURCE", "Index", "IngestReport", "Shadow"]

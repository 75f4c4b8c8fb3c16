"""Stages 2 and 3: documents are cut into chunks (``chunking``) and indexed: the chunk store (SQLite, the source
of truth), BM25 over jieba tokens (``sparse``, ``analyzer``) and dense vectors in Chroma (``dense``,
``embeddings``). ``Index`` holds them together and ingests incrementally.
"""

from zhengwu.index.index import Index, IngestReport

__all__ = ["Index", "IngestReport"]

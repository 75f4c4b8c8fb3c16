"""Dense vectors in Chroma: an embedded ``PersistentClient`` by default, an ``HttpClient`` for a Chroma server.

Vectors are always computed by our own ``Embedder`` and passed in; Chroma's default embedding function
(which would download a model) is never used.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from zhengwu.errors import OperatorError


class DenseIndexError(OperatorError, RuntimeError):
    pass


def _client(chroma_dir: Path, chroma_url: str | None):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if chroma_url:
        url = urlparse(chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise DenseIndexError(f"ZHENGWU_CHROMA_URL must look like http://host:port, got {chroma_url!r}")
        try:
            return chromadb.HttpClient(
                host=url.hostname,
                port=url.port or (443 if url.scheme == "https" else 80),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
        except Exception as exc:  # noqa: BLE001
            raise DenseIndexError(f"cannot reach the Chroma server at {chroma_url}: {exc}") from exc
    chroma_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(chroma_dir), settings=chroma_settings)


class DenseIndex:
    def __init__(self, chroma_dir: Path, chroma_url: str | None, collection: str, embedder_name: str) -> None:
        self._client = _client(chroma_dir, chroma_url)
        # One collection per embedding model: vectors of two models never mix in one space.
        suffix = hashlib.sha1(embedder_name.encode("utf-8")).hexdigest()[:8]
        self.name = f"{collection}-{suffix}"
        self._count, self._counted_at = 0, float("-inf")
        self._collection = self._client.get_or_create_collection(
            name=self.name,
            metadata={"hnsw:space": "cosine", "embedder": embedder_name},
            embedding_function=None,
        )

    def ids(self) -> set[str]:
        out: set[str] = set()
        offset = 0
        while True:
            batch = self._collection.get(include=[], limit=5000, offset=offset)["ids"]
            out.update(batch)
            if len(batch) < 5000:
                return out
            offset += len(batch)

    def upsert(self, ids: Sequence[str], vectors: np.ndarray, metadatas: Sequence[dict]) -> None:
        self._counted_at = float("-inf")
        for start in range(0, len(ids), 1000):
            self._collection.upsert(
                ids=list(ids[start : start + 1000]),
                embeddings=vectors[start : start + 1000].tolist(),
                metadatas=list(metadatas[start : start + 1000]),
            )

    def delete(self, ids: Sequence[str]) -> None:
        self._counted_at = float("-inf")
        for start in range(0, len(ids), 1000):
            self._collection.delete(ids=list(ids[start : start + 1000]))

    def drop(self) -> None:
        """Delete the whole collection (used for throwaway evaluation indexes)."""
        self._client.delete_collection(self.name)

    def count(self) -> int:
        return self._collection.count()

    def _cached_count(self) -> int:
        # Asked before every query (Chroma rejects n_results above the count); refreshed every few seconds
        # because other workers may write to a shared server.
        now = time.monotonic()
        if now - self._counted_at > 5:
            self._count, self._counted_at = self.count(), now
        return self._count

    def query(self, vector: np.ndarray, k: int, where: dict | None = None) -> list[tuple[str, float]]:
        """(chunk_id, cosine similarity) of the k nearest vectors that pass the metadata filter."""
        total = self._cached_count()
        if total == 0:
            return []
        result = self._collection.query(
            query_embeddings=[vector.tolist()],
            n_results=min(k, total),
            where=where or None,
            include=["distances"],
        )
        return [(cid, 1.0 - float(dist)) for cid, dist in zip(result["ids"][0], result["distances"][0], strict=True)]

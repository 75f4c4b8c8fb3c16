"""Stage 3: the Index. Chunks go into the chunk store (SQLite), BM25 (bm25s) and, where worth it, Chroma.

``Index.ingest`` is incremental: unchanged documents are skipped, changed ones replaced, removed ones deleted.
Dense vectors come through the embedding cache, so re-embedding only happens for text never seen before.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from zhengwu.config import Settings
from zhengwu.documents.document import Document, LoadError
from zhengwu.documents.screen import strip_instructions
from zhengwu.index.adapter import AdaptedEmbedder, QueryAdapter
from zhengwu.index.analyzer import Analyzer, default_analyzer
from zhengwu.index.chunking import Chunk, chunk_document, embed_text
from zhengwu.index.dense import DenseIndex
from zhengwu.index.embeddings import Embedder, EmbeddingCache, embed_with_cache, make_embedder
from zhengwu.index.sparse import SparseIndex
from zhengwu.index.store import ChunkStore, DocMeta, Shadow, StoredChunk
from zhengwu.index.vector_pack import VectorPack, pack_path

# The source name of documents published from the review console (``zhengwu.library``).
CONSOLE_SOURCE = "console"
ProgressFactory = Callable[[str, int], Callable[[int], None]]
BATCH_DOCS = 100
_Prepared = tuple[Document, list[Chunk], list[list[str]]]


def no_progress(_label: str, _total: int) -> Callable[[int], None]:
    return lambda _n: None


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    chunks_written: int = 0
    vectors_embedded: int = 0
    seconds: float = 0.0
    errors: list[LoadError] = field(default_factory=list)
    # Documents that addressed the assistant ("忽略之前的指令…"): the sentences were cut, the rest indexed.
    warnings: list[LoadError] = field(default_factory=list)
    # Documents of this (file) source not applied because the review console publishes its own version.
    held_by_console: list[str] = field(default_factory=list)
    # Handed back by the console: restored from their file's last read, or to re-read from their source.
    restored: list[str] = field(default_factory=list)
    to_restore: dict[str, str] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.restored)


class Index:
    def __init__(self, settings: Settings, *, embedder: Embedder | None = None, analyzer: Analyzer | None = None):
        self.settings = settings
        settings.index_dir.mkdir(parents=True, exist_ok=True)
        self.analyzer = analyzer or default_analyzer()
        self.embedder = embedder or make_embedder(
            settings.embedder, settings.embedding_model, settings.embed_max_chars, settings.embed_threads
        )
        if settings.query_adapter is not None:
            self.embedder = AdaptedEmbedder(self.embedder, QueryAdapter.load(settings.query_adapter))
        # The dense index first: an unreachable Chroma server must fail before any SQLite file is opened.
        self.dense = DenseIndex(settings.chroma_dir, settings.chroma_url, settings.collection, self.embedder.name)
        self.store = ChunkStore(settings.index_dir / "chunks.sqlite3")
        self.cache = EmbeddingCache(settings.cache_path)
        self._sparse: SparseIndex | None = None
        self._docs: dict[str, DocMeta] | None = None
        self._regions: frozenset[str] | None = None
        self._pack: VectorPack | None | bool = False  # False: not looked for yet
        # Bumped whenever documents or the BM25 index change: caches built on them (the retriever's filter
        # masks) compare it instead of guessing from sizes.
        self.version = 0
        self._generation = self.store.get_meta("generation")
        self._ingesting = threading.Lock()

    # -- ingest --------------------------------------------------------------------------------------------
    def ingest(
        self,
        documents: Sequence[Document],
        source: str,
        *,
        prune: bool = True,
        progress: ProgressFactory = no_progress,
        errors: Sequence[LoadError] = (),
    ) -> IngestReport:
        """Bring the index in line with ``documents`` loaded from ``source``.

        With ``prune``, documents previously ingested from the same source and absent now are deleted. A source
        whose files all failed to load is never pruned: a broken disk must not empty the index.

        The review console (source ``CONSOLE_SOURCE``) wins over files: a file whose ``doc_id`` the console
        publishes is not applied but kept as a ``Shadow`` (the console shows it as a conflict when the file
        changed), and a document the console stops publishing goes back to its file's version.

        Ingests in one process run one at a time (the console's background publishing, the admin re-index).
        """
        with self._ingesting:
            return self._ingest(documents, source, prune=prune, progress=progress, errors=errors)

    def _ingest(self, documents: Sequence[Document], source: str, *, prune: bool, progress: ProgressFactory,
                errors: Sequence[LoadError]) -> IngestReport:
        started = time.perf_counter()
        report = IngestReport(errors=list(errors))
        states = self.store.doc_states()
        if states and self.store.get_meta("analyzer") != self.analyzer.fingerprint:
            self.retokenize(progress)
        shadows = self.store.shadows()
        new_shadows: list[Shadow] = []
        todo: list[tuple[Document, str]] = []
        for doc in documents:
            old = states.get(doc.doc_id)
            if source != CONSOLE_SOURCE and old is not None and old[1] == CONSOLE_SOURCE:
                report.held_by_console.append(doc.doc_id)
                new_shadows.append(Shadow(doc.doc_id, source, doc.content_hash(), doc))
                continue
            if source == CONSOLE_SOURCE and old is not None and old[1] != CONSOLE_SOURCE:
                new_shadows.append(Shadow(doc.doc_id, old[1], old[0]))  # the file's text arrives on its next read
            if old is None:
                report.added += 1
                todo.append((doc, source))
            elif old[0] != doc.content_hash() or old[1] != source:
                report.updated += 1
                todo.append((doc, source))
            else:
                report.unchanged += 1

        incoming = {d.doc_id for d in documents}
        listing_complete = prune and bool(documents or not errors)
        removed = [d for d, (_, src) in states.items() if src == source and d not in incoming]
        # Shadows to forget: files applied again, files gone from a complete listing of their source.
        cleared = [d.doc_id for d, _ in todo if source != CONSOLE_SOURCE and d.doc_id in shadows]
        if listing_complete and source != CONSOLE_SOURCE:
            cleared += [d for d, sh in shadows.items() if sh.source == source and d not in incoming]
        if listing_complete and removed:
            self.dense.delete(self.store.chunk_ids(removed))
            self.store.delete_documents(removed)
            report.removed = len(removed)
            if source == CONSOLE_SOURCE:  # handed back by the console: the file's version answers again
                for doc_id in removed:
                    shadow = shadows.get(doc_id)
                    if shadow is None:
                        continue
                    if shadow.document is not None:
                        todo.append((shadow.document, shadow.source))
                        report.restored.append(doc_id)
                        cleared.append(doc_id)
                    else:
                        report.to_restore[doc_id] = shadow.source
        if new_shadows or cleared:
            self.store.set_shadows(new_shadows, clear=cleared)

        # Documents are processed in batches: chunk and tokenise, embed (through the cache), then write.
        # Memory stays bounded and an interruption loses at most the batches in flight. Embedding runs in C
        # without the GIL, so batch N is embedded in a worker thread while batch N+1 is tokenised here.
        sources = {doc.doc_id: src for doc, src in todo}
        tick = progress("索引 indexing", len(todo))
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed") as pool:
            pending: tuple[list[_Prepared], Future] | None = None
            for start in range(0, len(todo) + BATCH_DOCS, BATCH_DOCS):
                batch = [self._screen(doc, report) for doc, _ in todo[start : start + BATCH_DOCS]]
                prepared = [self._prepare(doc) for doc in batch]
                future = pool.submit(self._embed, prepared) if prepared else None
                if pending is not None:
                    done, vectors = pending[0], pending[1].result()
                    report.vectors_embedded += vectors[1]
                    report.chunks_written += self._write(done, vectors[0], sources)
                    tick(len(done))
                pending = (prepared, future) if future is not None else None

        self.store.set_meta("analyzer", self.analyzer.fingerprint)
        self._reconcile_dense(progress)
        if report.changed or self.store.get_meta("sparse_stale") == "1" or not self._sparse_dir().exists():
            self.rebuild_sparse()
        self._docs = None
        self._regions = None
        self.version += 1
        if report.changed:
            self._announce()
        report.seconds = time.perf_counter() - started
        return report

    def _announce(self) -> None:
        """Tell the other processes on this index (the other workers) that it changed: ``follow``."""
        self._generation = uuid.uuid4().hex
        self.store.set_meta("generation", self._generation)

    def follow(self) -> bool:
        """Pick up what another process ingested (an administrator published in another worker): reload BM25
        and the document list when the index's generation changed. Cheap enough to ask on every question."""
        generation = self.store.get_meta("generation")
        if generation == self._generation:
            return False
        loaded = SparseIndex.load(self._sparse_dir())
        if loaded is None:  # the other process is swapping the files in: try again on the next question
            return False
        self._generation = generation
        self._sparse = loaded
        self._docs = None
        self._regions = None
        self.version += 1
        return True

    @staticmethod
    def _screen(doc: Document, report: IngestReport) -> Document:
        screened, dropped = screen(doc)
        if dropped:
            report.warnings.append(LoadError(doc.path or doc.doc_id, f"{dropped} sentence(s) addressed to the "
                                             "assistant were removed (possible prompt injection); check the source"))
        return screened

    def vectors_of(self, chunks: Sequence[Chunk], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Vectors of stored chunks, as ingest made them: embedding cache, then the pack, then the embedder."""
        texts = [embed_text(c, self.settings.embed_max_chars) for c in chunks]
        vectors, _ = embed_with_cache(self.embedder, self.cache, texts, pack=self.pack, progress=progress)
        return vectors

    def embedded_chunks(self) -> list[Chunk]:
        """Every stored chunk that has a vector."""
        ids = [cid for cid, _ in self.store.embedded_chunks()]
        stored = self.store.get_chunks(ids)
        return [_as_chunk(stored[cid]) for cid in ids if cid in stored]

    def _prepare(self, doc: Document) -> _Prepared:
        chunks = chunk_document(doc, dense_scope=self.settings.dense_scope)
        return doc, chunks, [self.analyzer.chunk_tokens(c.context, c.body_text) for c in chunks]

    def _embed(self, prepared: list[_Prepared]) -> tuple[np.ndarray, int]:
        texts = [embed_text(c, self.settings.embed_max_chars) for _, chunks, _ in prepared for c in chunks if c.embed]
        return embed_with_cache(self.embedder, self.cache, texts, pack=self.pack)

    @property
    def pack(self) -> VectorPack | None:
        """The shipped vectors of this embedder (read on first need: a warm index never loads them)."""
        if self._pack is False:
            self._pack = VectorPack.load(pack_path(self.settings.vector_pack_dir, self.embedder.name),
                                         self.embedder.name, self.embedder.dim)
        return self._pack if isinstance(self._pack, VectorPack) else None

    def _write(self, prepared: list[_Prepared], vectors: np.ndarray, sources: dict[str, str]) -> int:
        """Store one batch of new or changed documents; returns the number of chunks written."""
        dense = [(doc, c) for doc, chunks, _ in prepared for c in chunks if c.embed]
        old_ids = set(self.store.chunk_ids(doc.doc_id for doc, _, _ in prepared))
        # Vectors first, then the store: the store is what queries trust, and it changes atomically.
        self.dense.upsert([c.chunk_id for _, c in dense], vectors, [_chroma_meta(doc, c) for doc, c in dense])
        self.store.replace_documents([(doc, sources[doc.doc_id], chunks, tokens) for doc, chunks, tokens in prepared])
        new_ids = {c.chunk_id for _, chunks, _ in prepared for c in chunks}
        self.dense.delete(sorted(old_ids - new_ids))
        return len(new_ids)

    def repair_dense(self, progress: ProgressFactory = no_progress) -> None:
        """Bring the vectors in line with the chunk store (after a lost Chroma folder, a restore, a new server)."""
        self._reconcile_dense(progress)

    def _reconcile_dense(self, progress: ProgressFactory) -> None:
        """Repair what an interrupted run or a model change left behind: missing or orphan vectors."""
        expected = dict(self.store.embedded_chunks())
        present = self.dense.ids()
        orphans = sorted(present - expected.keys())
        if orphans:
            self.dense.delete(orphans)
        missing = sorted(expected.keys() - present)
        if not missing:
            return
        docs = self.documents()
        stored = self.store.get_chunks(missing)
        chunks = [_as_chunk(stored[cid]) for cid in missing if cid in stored]
        vectors = self.vectors_of(chunks, progress("补全向量 embedding", len(chunks)))
        self.dense.upsert(
            [c.chunk_id for c in chunks], vectors, [_chroma_meta(docs[c.doc_id], c) for c in chunks]
        )

    def retokenize(self, progress: ProgressFactory = no_progress) -> None:
        """The dictionary, synonyms or stopwords changed: re-tokenise every stored chunk and rebuild BM25.

        Vectors do not depend on tokens, so nothing is re-embedded."""
        rows = self.store.search_texts()
        tick = progress("重新分词 re-tokenising", len(rows))
        updates = []
        for chunk_id, context, body in rows:
            updates.append((chunk_id, " ".join(self.analyzer.chunk_tokens(context, body))))
            tick(1)
        self.store.set_tokens(updates)
        self.store.set_meta("analyzer", self.analyzer.fingerprint)
        self.rebuild_sparse()
        self._announce()

    def _sparse_dir(self) -> Path:
        return self.settings.index_dir / "bm25"

    def rebuild_sparse(self) -> None:
        index = SparseIndex.build(self.store.sparse_rows())
        index.save(self._sparse_dir())
        self.store.set_meta("sparse_stale", "0")
        self._sparse = index
        self.version += 1

    # -- reads ---------------------------------------------------------------------------------------------
    @property
    def sparse(self) -> SparseIndex:
        if self._sparse is None:
            loaded = SparseIndex.load(self._sparse_dir())
            if loaded is None or self.store.get_meta("sparse_stale") == "1":
                self.rebuild_sparse()
            else:
                self._sparse = loaded
        assert self._sparse is not None
        return self._sparse

    def documents(self) -> dict[str, DocMeta]:
        if self._docs is None:
            self._docs = self.store.documents()
        return self._docs

    def regions(self) -> frozenset[str]:
        """The regions the indexed documents speak for (asked on every question, so kept)."""
        if self._regions is None:
            self._regions = frozenset(d.region for d in self.documents().values())
        return self._regions

    def is_empty(self) -> bool:
        return self.store.count()[0] == 0

    def close(self) -> None:
        self.store.close()
        self.cache.close()


def screen(doc: Document) -> tuple[Document, int]:
    """The document without sentences addressed to the assistant, and how many were cut (what is indexed and
    what the vector pack is built from)."""
    body, dropped = strip_instructions(doc.body)
    return (replace(doc, body=body) if dropped else doc), dropped


def dense_texts(doc: Document, dense_scope: str, max_chars: int) -> list[str]:
    """The texts of a (screened) document that get a vector."""
    return [embed_text(c, max_chars) for c in chunk_document(doc, dense_scope=dense_scope) if c.embed]


def _chroma_meta(doc: Document | DocMeta, chunk: Chunk) -> dict:
    return {
        "doc_id": doc.doc_id,
        "doc_type": doc.doc_type,
        "region": doc.region,
        "status": doc.status,
        "kind": chunk.kind,
    }


def _as_chunk(stored: StoredChunk) -> Chunk:
    return Chunk(
        chunk_id=stored.chunk_id,
        doc_id=stored.doc_id,
        ordinal=stored.ordinal,
        section=stored.section,
        text=stored.text,
        kind=stored.kind,
        field=stored.field,
        embed=True,
        context=stored.context,
    )

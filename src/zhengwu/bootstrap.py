"""The composition root: the one place that builds the index and the assistant and plugs in its seams.

The command line, the HTTP service and the Telegram launcher all start here:

    ensure_index(settings)          the index, built from the bundled corpus on first use and repaired where it can be
    ingest_paths(settings, paths)   load and ingest folders or files (``zhengwu ingest``, ``zhengwu eval --kb``)
    reindex(index, settings)        re-ingest the configured corpus folder (the admin API)
    apply_console_documents(...)    re-apply what staff published in the review console (``zhengwu serve``)
    build_assistant(settings, ...)  the ``Assistant`` with what the settings ask for: an LLM generator, a
                                    cross-encoder, the personaliser, curated answers, the turn log
    open_services(settings)         everything a long-running service holds: index, people store, review
                                    store, database sessions, assistant

Failures an operator can fix raise ``OperatorError`` subclasses with a message saying how; the callers turn them
into a clean error line (the CLI in one place, ``zhengwu.cli.main``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import cast

from zhengwu.answering.assistant import Assistant
from zhengwu.answering.seams import Personaliser
from zhengwu.answering.sessions import SessionStore
from zhengwu.config import Settings
from zhengwu.documents.loaders import load_paths
from zhengwu.errors import OperatorError
from zhengwu.index import Index, IngestReport
from zhengwu.index.embeddings import EmbeddingCache, embed_with_cache, make_embedder
from zhengwu.index.index import ProgressFactory, dense_texts, no_progress, screen
from zhengwu.index.vector_pack import pack_path, write_pack
from zhengwu.library import Library, LibraryStore, sync_console
from zhengwu.ops.observability import DEPENDENCY_UP
from zhengwu.personal import DbSessionStore, PeopleStore, load_personaliser, open_people_store
from zhengwu.review import CuratedAnswers, ReviewStore

log = logging.getLogger("zhengwu.bootstrap")

Say = Callable[[str], None]


class IndexMissing(OperatorError):
    """The index is empty and there is no corpus folder to build it from."""


def _log_line(message: str) -> None:
    log.info("%s", message)


def ingest_paths(
    settings: Settings, paths: Sequence[Path], *, progress: ProgressFactory = no_progress, prune: bool = True,
    index: Index | None = None,
) -> tuple[Index, list[tuple[Path, IngestReport]]]:
    """Load and ingest each path as one source (a folder or a file); returns the index and one report per path."""
    index = index or Index(settings)
    reports = []
    for path in paths:
        root = path if path.is_dir() else path.parent
        loaded = load_paths([path], root=root)
        report = index.ingest(loaded.documents, str(path.resolve()), prune=prune, progress=progress,
                              errors=loaded.errors)
        reports.append((path, report))
    return index, reports


def report_line(path: Path, report: IngestReport) -> str:
    """What an operator reads about one ingested source."""
    return (f"{path}: {report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
            f"{report.removed} removed; {report.chunks_written} chunks written, "
            f"{report.vectors_embedded} vectors embedded, {report.seconds:.1f}s")


def ensure_index(settings: Settings, *, progress: ProgressFactory = no_progress, say: Say = _log_line) -> Index:
    """The assistant's index, built from the bundled corpus on first use, checked and repaired where it can be
    (missing BM25 files or vectors are rebuilt from the chunk store and the embedding cache).

    Raises ``IndexDamaged`` when the chunk store cannot be read, ``IndexMissing`` when it is empty and there is
    no corpus folder."""
    index = Index(settings)
    if not index.is_empty():
        missing = len(index.store.embedded_chunks()) - index.dense.count()
        if missing:
            say(f"The vector index does not match the chunk store ({missing:+d} vectors): repairing from the "
                "embedding cache...")
            index.repair_dense(progress)
        return index
    if not settings.corpus_dir.exists():
        index.close()
        raise IndexMissing(
            f"the index is empty and the corpus folder {settings.corpus_dir} does not exist. "
            "Run `zhengwu ingest PATH` or set ZHENGWU_CORPUS_DIR."
        )
    say(f"First run: building the index from {settings.corpus_dir} (later runs reuse it)...")
    index, reports = ingest_paths(settings, [settings.corpus_dir], progress=progress, index=index)
    for path, report in reports:
        say(report_line(path, report))
        for error in report.errors:
            say(f"  skipped {error.path}: {error.reason}")
    return index


def reindex(index: Index, settings: Settings) -> IngestReport:
    """Re-ingest the configured corpus folder into a running index (incremental)."""
    loaded = load_paths([settings.corpus_dir], root=settings.corpus_dir)
    return index.ingest(loaded.documents, str(settings.corpus_dir.resolve()), errors=loaded.errors)


def apply_console_documents(settings: Settings, index: Index, *, say: Say = _log_line) -> None:
    """Re-apply the documents published in the review console (their versions are in the database; the index
    may have been rebuilt from files since). Incremental: nothing is re-indexed when they are in place."""
    try:
        people = open_people_store(settings)
    except Exception as exc:  # noqa: BLE001 - files still answer; the console documents return on the next publish
        say(f"console documents not applied: the database cannot be reached ({type(exc).__name__})")
        return
    try:
        store = LibraryStore(people.engine)
        # Jobs a stopped service left behind; recent ones may belong to another pod that is still running.
        store.abandon_unfinished_jobs(before=datetime.now(UTC) - timedelta(minutes=30))
        report = sync_console(index, store)
        if report.changed:
            say(f"console documents: {report.added} added, {report.updated} updated, {report.removed} removed")
    finally:
        people.engine.dispose()


@dataclass(frozen=True)
class PackReport:
    path: Path
    vectors: int
    embedded: int
    size: int
    seconds: float

    def summary(self) -> str:
        return (f"{self.path}: {self.vectors} vectors ({self.embedded} embedded now, the rest from the embedding "
                f"cache), {self.size / 1e6:.1f} MB, {self.seconds:.0f}s")


def build_vector_pack(
    settings: Settings, paths: Sequence[Path], out_dir: Path, *, progress: ProgressFactory = no_progress,
    batch_size: int = 64,
) -> PackReport:
    """Embed every chunk of ``paths`` that gets a vector and write the pack for the configured embedder.

    Vectors go through the embedding cache batch by batch, so an interrupted run resumes where it stopped;
    the pack file itself is replaced only at the end, atomically."""
    started = time.perf_counter()
    embedder = make_embedder(settings.embedder, settings.embedding_model, settings.embed_max_chars,
                             settings.embed_threads)
    texts: list[str] = []
    for path in paths:
        loaded = load_paths([path], root=path if path.is_dir() else path.parent)
        for doc in loaded.documents:
            texts.extend(dense_texts(screen(doc)[0], settings.dense_scope, settings.embed_max_chars))
    texts = list(dict.fromkeys(texts))
    cache = EmbeddingCache(settings.cache_path)
    try:
        vectors, embedded = embed_with_cache(embedder, cache, texts, batch_size=batch_size,
                                             progress=progress("向量 embedding", len(texts)))
    finally:
        cache.close()
    target = pack_path(out_dir, embedder.name)
    size = write_pack(target, embedder.name, texts, vectors)
    return PackReport(target, len(texts), embedded, size, time.perf_counter() - started)


def _dense_health(ok: bool) -> None:
    DEPENDENCY_UP.labels("chroma").set(1 if ok else 0)


def build_assistant(
    settings: Settings,
    index: Index,
    *,
    sessions: SessionStore | None = None,
    people: PeopleStore | None = None,
    reviews: ReviewStore | None = None,
    log_turns: bool = True,
) -> Assistant:
    """The assistant as the settings describe it.

    ``people``: the people store; conversation turns are logged there (masked) unless ``log_turns`` is off.
    ``reviews``: the review store; staff-curated answers are then preferred for the questions they answer.
    An LLM generator when ``ZHENGWU_LLM_BASE_URL`` is set; a cross-encoder when ``ZHENGWU_RERANKER_MODEL`` is."""
    generator = None
    if settings.llm_base_url:
        from zhengwu.answering.llm import LLMGenerator  # langchain-openai loads only when an LLM is configured

        generator = LLMGenerator(settings)
    reranker = None
    if settings.reranker_model:
        from zhengwu.retrieval.rerank import CrossEncoderReranker  # torch loads only for a cross-encoder

        reranker = CrossEncoderReranker(settings.reranker_model)
    return Assistant(
        settings,
        index=index,
        sessions=sessions,
        turns=people if log_turns else None,
        curated=CuratedAnswers(reviews, index) if reviews is not None else None,
        generator=generator,
        # The personaliser reads the records of the contexts it is handed back: those the personal-data package
        # built (``zhengwu.personal.PersonalContext``), which is all a ``UserContext.personal`` ever holds.
        personaliser=cast(Personaliser, load_personaliser(settings.corpus_dir, index.store, index.documents,
                                                          settings.hotline)),
        reranker=reranker,
        on_dense_health=_dense_health,
        # One commit per answer: the session and the transcript row together, when they share a database.
        turn_sessions=sessions if (log_turns and people is not None and isinstance(sessions, DbSessionStore)
                                   and sessions.engine is people.engine) else None,
    )


@dataclass
class Services:
    """What a long-running service holds for its lifetime. Without a people store (an embedding that serves
    anonymous chat only, tests) ``people`` and ``reviews`` are None and the routes that need them say so."""

    settings: Settings
    assistant: Assistant
    people: PeopleStore | None = None
    reviews: ReviewStore | None = None

    @property
    def index(self) -> Index:
        return self.assistant.index

    @cached_property
    def library(self) -> Library | None:
        """The documents staff manage in the console (None without a people store: its tables live there)."""
        if self.people is None:
            return None
        return Library(LibraryStore(self.people.engine), self.index, self.settings)

    @classmethod
    def around(cls, assistant: Assistant, people: PeopleStore | None = None) -> Services:
        """The services of an assistant built elsewhere (tests, embedding applications)."""
        return cls(assistant.settings, assistant, people, ReviewStore.of(people) if people is not None else None)

    def close(self) -> None:
        self.index.close()
        if self.people is not None:
            self.people.engine.dispose()


def open_services(settings: Settings, *, build: bool = False, progress: ProgressFactory = no_progress,
                  say: Say = _log_line) -> Services:
    """Open the people store (migrated to head), its review tables and database sessions, the index, and the
    assistant over them. ``build``: build or repair the index first (``ensure_index``); otherwise the index is
    opened as it is (``zhengwu serve`` builds it once before starting its workers)."""
    people = open_people_store(settings)
    sessions = DbSessionStore(people.engine, ttl=settings.session_ttl_seconds)
    reviews = ReviewStore.of(people)
    index = ensure_index(settings, progress=progress, say=say) if build else Index(settings)
    assistant = build_assistant(settings, index, sessions=sessions, people=people, reviews=reviews)
    return Services(settings, assistant, people, reviews)


def open_reviews(settings: Settings) -> ReviewStore | None:
    """The review store of the configured database, for a one-off command that gives staff-curated answers
    (``zhengwu ask``); None, with a warning, when the database cannot be reached."""
    try:
        return ReviewStore.of(open_people_store(settings))
    except Exception as exc:  # noqa: BLE001 - the answer from the index is still worth giving
        log.warning("curated answers unavailable (%s): answering from the index alone", type(exc).__name__)
        return None

"""Helpers shared by the tests: fixture paths, settings, a built fixture index, an assistant wired as the
service wires it, an app over it, and a uvicorn server in a thread. Test modules import from here (never from
each other, nor from conftest)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from zhengwu.answering.assistant import Assistant
from zhengwu.answering.sessions import SessionStore
from zhengwu.bootstrap import Services, build_assistant
from zhengwu.config import Settings
from zhengwu.documents import Document
from zhengwu.documents.loaders import load_paths
from zhengwu.index import Index
from zhengwu.index.analyzer import default_analyzer
from zhengwu.index.chunking import chunk_document
from zhengwu.index.store import ChunkStore
from zhengwu.personal import PeopleStore
from zhengwu.review import ReviewStore

TESTS = Path(__file__).resolve().parents[1]
REPO_ROOT = TESTS.parent
ARTIFACTS = TESTS / "artifacts"  # screenshots and logs the browser tests leave for people to look at
FIXTURES = TESTS / "fixtures"
FIXTURE_CORPUS = FIXTURES / "corpus"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(app) -> Iterator[str]:
    """An ASGI app under uvicorn in a thread on 127.0.0.1: yields its base URL, stops it afterwards."""
    import threading
    import time

    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def make_settings(data_dir: Path, **overrides) -> Settings:
    return Settings(data_dir=data_dir, **({"corpus_dir": FIXTURE_CORPUS} | overrides))


def store_documents(store: ChunkStore, documents: list[Document]) -> None:
    """Chunk the documents and write them, with their BM25 tokens, into a chunk store (no index, no vectors)."""
    analyzer = default_analyzer()
    items = []
    for doc in documents:
        chunks = chunk_document(doc)
        items.append((doc, "test", chunks, [analyzer.chunk_tokens(c.context, c.body_text) for c in chunks]))
    store.replace_documents(items)


def build_index(settings: Settings, corpus: Path = FIXTURE_CORPUS) -> Index:
    index = Index(settings)
    loaded = load_paths([corpus], root=corpus)
    index.ingest(loaded.documents, str(corpus.resolve()), errors=loaded.errors)
    return index




def make_assistant(settings: Settings, index: Index, *, sessions: SessionStore | None = None,
                   people: PeopleStore | None = None) -> Assistant:
    """The assistant as the service builds it: turns logged to ``people`` and curated answers from its review
    tables when a people store is given; LLM, cross-encoder and personaliser as the settings say."""
    reviews = ReviewStore.of(people) if people is not None else None
    return build_assistant(settings, index, sessions=sessions, people=people, reviews=reviews)


def app_for(settings: Settings, assistant: Assistant, people: PeopleStore | None = None):
    """The HTTP app over an assistant built by the test (its people store: ``people``, else its turn log)."""
    from zhengwu.web.app import create_app

    if people is None and isinstance(assistant.turns, PeopleStore):
        people = assistant.turns
    return create_app(settings, Services.around(assistant, people))

"""The chunk store: SQLite tables of documents and chunks, the index's source of truth.

Chroma holds vectors and the BM25 files hold term statistics, but what a chunk says, which document it belongs
to and whether that document changed is read from here. Writes for one batch of documents happen in one
transaction, so an interrupted ingest leaves every document either fully old or fully new.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from zhengwu.documents.document import Document
from zhengwu.errors import OperatorError
from zhengwu.index.chunking import Chunk

CHUNK_CACHE_SIZE = 20_000  # chunks kept in memory per process (~10 MB of text)

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY, source TEXT NOT NULL, hash TEXT NOT NULL, title TEXT NOT NULL,
    doc_type TEXT NOT NULL, region TEXT NOT NULL, department TEXT NOT NULL, updated TEXT NOT NULL,
    source_url TEXT NOT NULL, status TEXT NOT NULL, path TEXT NOT NULL, extra TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id TEXT PRIMARY KEY, doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL, section TEXT NOT NULL, text TEXT NOT NULL, kind TEXT NOT NULL,
    field TEXT NOT NULL, context TEXT NOT NULL, embed INTEGER NOT NULL, tokens TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS shadowed (
    doc_id TEXT PRIMARY KEY, source TEXT NOT NULL, hash TEXT NOT NULL, document TEXT
);
"""


@dataclass(frozen=True)
class DocMeta:
    """What retrieval and citations need to know about a document, without its body."""

    doc_id: str
    title: str
    doc_type: str
    region: str
    department: str
    updated: str
    source_url: str
    status: str
    extra: dict


@dataclass(frozen=True)
class StoredChunk:
    chunk_id: str
    doc_id: str
    ordinal: int
    section: str
    text: str
    kind: str
    field: str
    context: str


@dataclass(frozen=True)
class Shadow:
    """A document from a file source (a corpus folder) that is not indexed because the review console holds
    its own version of the same ``doc_id``: ``hash`` tells whether the file changed since the console took it
    over; ``document`` (when the file was read since) restores it when the console hands it back."""

    doc_id: str
    source: str
    hash: str
    document: Document | None = None


def _document(blob: str | None) -> Document | None:
    return Document(**json.loads(blob)) if blob else None


class IndexDamaged(OperatorError, RuntimeError):
    """The chunk store cannot be read; the message tells the operator how to recover."""


class ChunkStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(SCHEMA)
            self._db.execute("SELECT COUNT(*) FROM documents").fetchone()
        except sqlite3.DatabaseError as exc:
            raise IndexDamaged(
                f"the index at {path} is damaged ({exc}). Rebuild it with `zhengwu ingest --rebuild`, "
                "or restore a backup with `zhengwu restore FILE`."
            ) from exc
        self._lock = threading.RLock()
        # Read-mostly data asked for on every answer — the guide fields each document states, recently read
        # chunks — cached until the store changes, by this connection (``_changed``) or another process
        # (SQLite's ``data_version``, ``_follow_other_writers``).
        self._fields: dict[str, set[str]] = {}
        self._chunks: OrderedDict[str, StoredChunk] = OrderedDict()
        self._data_version: int | None = None

    def _changed(self) -> None:
        self._fields.clear()
        self._chunks.clear()

    def _follow_other_writers(self) -> None:
        version = self._db.execute("PRAGMA data_version").fetchone()[0]
        if version != self._data_version:
            self._data_version = version
            self._changed()

    # -- reads ---------------------------------------------------------------------------------------------
    def doc_states(self) -> dict[str, tuple[str, str]]:
        """doc_id -> (content hash, source)."""
        with self._lock:
            return {d: (h, s) for d, h, s in self._db.execute("SELECT doc_id, hash, source FROM documents")}

    def documents(self) -> dict[str, DocMeta]:
        with self._lock:
            rows = self._db.execute(
                "SELECT doc_id, title, doc_type, region, department, updated, source_url, status, extra FROM documents"
            ).fetchall()
        return {
            r[0]: DocMeta(doc_id=r[0], title=r[1], doc_type=r[2], region=r[3], department=r[4], updated=r[5],
                          source_url=r[6], status=r[7], extra=json.loads(r[8]))
            for r in rows
        }

    def chunk_ids(self, doc_ids: Iterable[str]) -> list[str]:
        ids = list(doc_ids)
        out: list[str] = []
        with self._lock:
            for start in range(0, len(ids), 500):
                batch = ids[start : start + 500]
                marks = ",".join("?" * len(batch))
                out += [r[0] for r in self._db.execute(f"SELECT chunk_id FROM chunks WHERE doc_id IN ({marks})", batch)]
        return out

    def sparse_rows(self) -> list[tuple[str, str]]:
        """(chunk_id, space-joined tokens) for every chunk, in a stable order."""
        with self._lock:
            return self._db.execute("SELECT chunk_id, tokens FROM chunks ORDER BY chunk_id").fetchall()

    def search_texts(self) -> list[tuple[str, str, str]]:
        """(chunk_id, context, body) for every chunk: what BM25 tokenises (see ``Chunk.search_text``)."""
        with self._lock:
            rows = self._db.execute("SELECT chunk_id, context, section, text FROM chunks").fetchall()
        return [(cid, context, f"{section}\n{text}") for cid, context, section, text in rows]

    def embedded_chunks(self) -> list[tuple[str, str]]:
        """(chunk_id, doc_id) of chunks that should have a dense vector."""
        with self._lock:
            return self._db.execute("SELECT chunk_id, doc_id FROM chunks WHERE embed = 1").fetchall()

    def get_chunks(self, chunk_ids: Sequence[str]) -> dict[str, StoredChunk]:
        """The stored chunks of these ids (unknown ids are left out). Recently read chunks are kept in memory
        until the store changes: composing an answer reads the same articles again and again."""
        with self._lock:
            self._follow_other_writers()
            if len(chunk_ids) > CHUNK_CACHE_SIZE // 10:  # a bulk read (re-index, repair): not worth keeping
                return self._read_chunks(chunk_ids)
            fetched = self._read_chunks([c for c in dict.fromkeys(chunk_ids) if c not in self._chunks])
            out: dict[str, StoredChunk] = {}
            for chunk_id in chunk_ids:
                found = self._chunks.get(chunk_id) or fetched.get(chunk_id)
                if found is not None:
                    self._chunks[chunk_id] = found
                    self._chunks.move_to_end(chunk_id)
                    out[chunk_id] = found
            while len(self._chunks) > CHUNK_CACHE_SIZE:
                self._chunks.popitem(last=False)
            return out

    def _read_chunks(self, chunk_ids: Sequence[str]) -> dict[str, StoredChunk]:
        out: dict[str, StoredChunk] = {}
        with self._lock:
            for start in range(0, len(chunk_ids), 500):
                batch = list(chunk_ids[start : start + 500])
                marks = ",".join("?" * len(batch))
                for row in self._db.execute(
                    f"SELECT chunk_id, doc_id, ordinal, section, text, kind, field, context FROM chunks "
                    f"WHERE chunk_id IN ({marks})",
                    batch,
                ):
                    out[row[0]] = StoredChunk(*row)
        return out

    def fields_of(self, doc_ids: Sequence[str]) -> dict[str, set[str]]:
        """The guide fields each document states (a field whose text is only "无" or empty does not count)."""
        with self._lock:
            self._follow_other_writers()
            missing = [d for d in dict.fromkeys(doc_ids) if d not in self._fields]
            if missing:
                self._fields.update(self._read_fields(missing))
            return {d: set(self._fields[d]) for d in doc_ids}

    def _read_fields(self, doc_ids: Sequence[str]) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {d: set() for d in doc_ids}
        with self._lock:
            for start in range(0, len(doc_ids), 500):
                batch = list(doc_ids[start : start + 500])
                marks = ",".join("?" * len(batch))
                for doc_id, key, text in self._db.execute(
                    f"SELECT doc_id, field, text FROM chunks WHERE kind = 'field' AND field != '' "
                    f"AND doc_id IN ({marks})", batch,
                ):
                    if text.strip().strip("-：: ").strip() not in ("", "无", "暂无", "—"):
                        out[doc_id].add(key)
        return out

    def chunks_of(self, doc_id: str) -> list[StoredChunk]:
        with self._lock:
            rows = self._db.execute(
                "SELECT chunk_id, doc_id, ordinal, section, text, kind, field, context FROM chunks WHERE doc_id = ? "
                "ORDER BY ordinal",
                (doc_id,),
            ).fetchall()
        return [StoredChunk(*r) for r in rows]

    def origin_of(self, doc_id: str) -> tuple[str, str] | None:
        """(source, path) of an indexed document: the folder or file it was ingested from, and its file."""
        with self._lock:
            row = self._db.execute("SELECT source, path FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        return (row[0], row[1]) if row else None

    def state_of(self, doc_id: str) -> tuple[str, str] | None:
        """(content hash, source) of one indexed document (``doc_states`` for one id)."""
        with self._lock:
            row = self._db.execute("SELECT hash, source FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        return (row[0], row[1]) if row else None

    def shadow(self, doc_id: str) -> Shadow | None:
        """One document's shadow (``shadows`` for one id)."""
        with self._lock:
            row = self._db.execute("SELECT doc_id, source, hash, document FROM shadowed WHERE doc_id = ?",
                                   (doc_id,)).fetchone()
        return Shadow(row[0], row[1], row[2], _document(row[3])) if row else None

    def shadows(self) -> dict[str, Shadow]:
        """Documents of a file source held back because the console publishes its own version of them."""
        with self._lock:
            rows = self._db.execute("SELECT doc_id, source, hash, document FROM shadowed").fetchall()
        return {r[0]: Shadow(r[0], r[1], r[2], _document(r[3])) for r in rows}

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def count(self) -> tuple[int, int]:
        with self._lock:
            docs = self._db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
            chunks = self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        return docs, chunks

    # -- writes --------------------------------------------------------------------------------------------
    def replace_documents(self, items: Sequence[tuple[Document, str, list[Chunk], list[list[str]]]]) -> None:
        """Atomically replace documents with their new chunks: (document, source, chunks, tokens per chunk)."""
        with self._lock, self._db:
            self._changed()
            for doc, source, chunks, tokens in items:
                self._db.execute("DELETE FROM chunks WHERE doc_id = ?", (doc.doc_id,))
                self._db.execute(
                    "INSERT OR REPLACE INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        doc.doc_id, source, doc.content_hash(), doc.title, doc.doc_type, doc.region,
                        doc.department, doc.updated, doc.source_url, doc.status, doc.path,
                        json.dumps(doc.extra, ensure_ascii=False, default=str),
                    ),
                )
                self._db.executemany(
                    "INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?,?,?)",
                    [
                        (c.chunk_id, c.doc_id, c.ordinal, c.section, c.text, c.kind, c.field, c.context,
                         int(c.embed), " ".join(t))
                        for c, t in zip(chunks, tokens, strict=True)
                    ],
                )
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('sparse_stale', '1')")

    def set_tokens(self, rows: Sequence[tuple[str, str]]) -> None:
        with self._lock, self._db:
            self._changed()
            self._db.executemany("UPDATE chunks SET tokens = ? WHERE chunk_id = ?", [(t, c) for c, t in rows])
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('sparse_stale', '1')")

    def delete_documents(self, doc_ids: Sequence[str]) -> None:
        with self._lock, self._db:
            self._changed()
            for doc_id in doc_ids:
                self._db.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
                self._db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))
            if doc_ids:
                self._db.execute("INSERT OR REPLACE INTO meta VALUES ('sparse_stale', '1')")

    def set_shadows(self, shadows: Sequence[Shadow], *, clear: Sequence[str] = ()) -> None:
        """Record (replace) shadowed documents and forget those of ``clear`` (doc ids applied again)."""
        with self._lock, self._db:
            self._db.executemany("DELETE FROM shadowed WHERE doc_id = ?", [(d,) for d in clear])
            self._db.executemany(
                "INSERT OR REPLACE INTO shadowed VALUES (?,?,?,?)",
                [(s.doc_id, s.source, s.hash,
                  json.dumps(asdict(s.document), ensure_ascii=False, default=str) if s.document else None)
                 for s in shadows],
            )

    def set_meta(self, key: str, value: str) -> None:
        with self._lock, self._db:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def close(self) -> None:
        self._db.close()

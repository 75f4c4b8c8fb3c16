"""``zhengwu backup`` / ``zhengwu restore``: the index and the personal-data store in one archive.

What goes in:
- the chunk store (the index's source of truth) and the embedding cache, copied with SQLite's online backup API,
  so a running service can be backed up;
- the personal-data store as one JSON-lines file per table, read through SQLAlchemy, so a backup taken from
  SQLite restores into PostgreSQL and back (and a schema migration never has to read a binary dump).

What does not: the BM25 files and the Chroma vectors. Both are derived from the chunk store and rebuilt on
restore (the vectors from the embedding cache, so nothing is re-embedded), which also makes a restore into a
different Chroma (embedded or server) work. The archive holds personal data: ID numbers stay encrypted (keep
``ZHENGWU_DATA_KEY`` with the backups, separately), transcripts stay masked; store it as you store the database.
So the archive is written 0600 (a directory made for it 0700), and what a restore writes is the owner's only too.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import sqlite3
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from zhengwu.config import Settings
from zhengwu.errors import OperatorError

FORMAT = "zhengwu-backup/1"


@dataclass
class BackupReport:
    path: Path
    documents: int
    chunks: int
    tables: dict[str, int]


class BackupError(OperatorError, RuntimeError):
    pass


def backup(settings: Settings, out: Path) -> BackupReport:
    from zhengwu.db.engine import database_url, make_engine, upgrade
    from zhengwu.db.models import Base

    store_file = settings.index_dir / "chunks.sqlite3"
    if not store_file.exists():
        raise BackupError(f"no index at {settings.index_dir}: nothing to back up (run `zhengwu ingest` first)")
    engine = make_engine(database_url(settings))
    upgrade(engine)
    tables: dict[str, int] = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        _private_file(out) as raw,
        tarfile.open(fileobj=raw, mode="w:gz") as archive,
    ):
        for name, source in (("index/chunks.sqlite3", store_file), ("index/embedding_cache.sqlite3", settings.cache_path)):
            if source.exists():
                copy = Path(tmp) / Path(name).name
                _sqlite_copy(source, copy)
                archive.add(copy, arcname=name, filter=_private_member)
        with engine.connect() as connection:
            for table in Base.metadata.sorted_tables:
                rows = [dict(r._mapping) for r in connection.execute(sa.select(table))]
                tables[table.name] = len(rows)
                _add_bytes(archive, f"database/{table.name}.jsonl",
                           "".join(json.dumps(r, ensure_ascii=False, default=_jsonable) + "\n" for r in rows).encode())
        with sqlite3.connect(store_file) as db:
            documents = db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
            chunks = db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        manifest = {"format": FORMAT, "created": dt.datetime.now(dt.UTC).isoformat(), "documents": documents,
                    "chunks": chunks, "tables": tables, "database": engine.url.get_backend_name()}
        _add_bytes(archive, "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1).encode())
    engine.dispose()
    return BackupReport(out, documents, chunks, tables)


def restore(settings: Settings, archive_path: Path, progress=None) -> BackupReport:
    """Replace the index and the personal-data store with the archive's. Stop the service first."""
    from zhengwu.db.engine import database_url, make_engine, private_dir, upgrade
    from zhengwu.db.models import Base
    from zhengwu.index.index import Index

    with tarfile.open(archive_path, "r:gz") as archive:
        names = set(archive.getnames())
        if "manifest.json" not in names:
            raise BackupError(f"{archive_path} is not a zhengwu backup (no manifest.json)")
        manifest = json.loads(archive.extractfile("manifest.json").read())
        if manifest.get("format") != FORMAT:
            raise BackupError(f"{archive_path}: unsupported backup format {manifest.get('format')!r}")
        private_dir(settings.data_dir)
        private_dir(settings.index_dir)
        for name, target in (("index/chunks.sqlite3", settings.index_dir / "chunks.sqlite3"),
                             ("index/embedding_cache.sqlite3", settings.cache_path)):
            if name in names:
                with tempfile.TemporaryDirectory() as tmp:
                    archive.extract(name, tmp, filter="data")
                    for suffix in ("-wal", "-shm"):
                        Path(f"{target}{suffix}").unlink(missing_ok=True)
                    _sqlite_copy(Path(tmp) / name, target)
        engine = make_engine(database_url(settings))
        upgrade(engine)
        tables: dict[str, int] = {}
        with engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())
            for table in Base.metadata.sorted_tables:
                member = f"database/{table.name}.jsonl"
                rows = []
                if member in names:
                    for line in archive.extractfile(member).read().decode("utf-8").splitlines():
                        if line.strip():
                            rows.append(_typed(table, json.loads(line)))
                if rows:
                    connection.execute(table.insert(), rows)
                tables[table.name] = len(rows)
            if engine.url.get_backend_name() == "postgresql":
                _reset_sequences(connection, Base.metadata.sorted_tables)
        engine.dispose()
    # Derived data: BM25 from the chunk store, vectors from the embedding cache (no re-embedding).
    import shutil

    shutil.rmtree(settings.index_dir / "bm25", ignore_errors=True)
    _forget_cached_chroma(settings)
    stale = Index(settings)
    stale.dense.drop()  # vectors of another index may sit in a shared Chroma server under the same ids
    stale.close()
    index = Index(settings)
    index.rebuild_sparse()
    if progress:
        index.repair_dense(progress)
    else:
        index.repair_dense()
    index.close()
    return BackupReport(archive_path, manifest.get("documents", 0), manifest.get("chunks", 0), tables)


def _forget_cached_chroma(settings: Settings) -> None:
    """Chroma caches one client per folder and process; one created before the folder was replaced would
    write to deleted files. Only this folder's entry is dropped: other live clients keep working."""
    from chromadb.api.shared_system_client import SharedSystemClient

    for key in (str(settings.chroma_dir), str(settings.chroma_dir.resolve())):
        SharedSystemClient._identifier_to_system.pop(key, None)
        SharedSystemClient._identifier_to_refcount.pop(key, None)


def _private_file(path: Path) -> io.BufferedWriter:
    """``path`` opened for writing, created 0600 (an existing file is made 0600 before anything is written), its
    directory created 0700 if it is missing."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    return os.fdopen(descriptor, "wb")


def _private_member(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mode = 0o600  # recorded in the archive: an extraction by hand stays private too
    return info


def _sqlite_copy(source: Path, target: Path) -> None:
    from zhengwu.db.engine import restrict_sqlite_file

    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Created 0600 before SQLite opens it: sqlite3 would create it world-readable under the default umask.
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT, 0o600))
    restrict_sqlite_file(target)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = _private_member(tarfile.TarInfo(name))
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


def _jsonable(value):
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return str(value)


def _typed(table: sa.Table, row: dict) -> dict:
    """JSON back into column types: dates and datetimes were written as ISO strings."""
    out = {}
    for key, value in row.items():
        column = table.c.get(key)
        if column is None:
            continue  # a column dropped since the backup was taken
        kind = _python_type(column)
        if isinstance(value, str) and kind is dt.datetime:
            value = dt.datetime.fromisoformat(value)
        elif isinstance(value, str) and kind is dt.date:
            value = dt.date.fromisoformat(value)
        out[key] = value
    return out


def _python_type(column: sa.Column):
    kind = getattr(column.type, "impl_instance", column.type)  # TypeDecorators (UTC datetimes): their impl
    if isinstance(kind, sa.DateTime):
        return dt.datetime
    if isinstance(kind, sa.Date):
        return dt.date
    return None


def _reset_sequences(connection, tables) -> None:
    for table in tables:
        for column in table.primary_key.columns:
            if isinstance(column.type, sa.Integer) and column.autoincrement is not False:
                connection.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "
                    f"COALESCE((SELECT MAX({column.name}) FROM {table.name}), 0) + 1, false)"
                )

"""Connecting to the personal-data store and bringing its schema up to date.

SQLite (one file under the data directory) serves a single machine; PostgreSQL (``ZHENGWU_DATABASE_URL``)
serves several. The schema is owned by the Alembic migrations shipped in this package, run from code at
start-up, so a deployment needs no alembic.ini and no separate migration step.

The data directory and the SQLite files hold personal data: they are the owner's only (directories 0700,
files 0600), for new files and, when the store is opened, for those an older version left readable.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url

from zhengwu.config import Settings

log = logging.getLogger("zhengwu.db")

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_SECONDS = 30
# Any constant: PostgreSQL serialises concurrent upgrades (several workers starting at once) on this lock.
_PG_MIGRATION_LOCK = 0x7A68656E67


SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
_GROUP_AND_OTHERS = stat.S_IRWXG | stat.S_IRWXO
_secured: set[Path] = set()


def database_url(settings: Settings) -> str:
    """The configured URL, else SQLite at DATA_DIR/zhengwu.sqlite3 (the directory is created). Either way the
    data directory is made the owner's only (``secure_data_dir``)."""
    if settings.database_url:
        if settings.data_dir.is_dir():
            secure_data_dir(settings)
        return settings.database_url
    secure_data_dir(settings)
    return f"sqlite:///{settings.data_dir / 'zhengwu.sqlite3'}"


def private_dir(path: Path) -> Path:
    """``path`` created if missing (its missing parents as usual) and made the owner's only: 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    _restrict(path)
    return path


def restrict_sqlite_file(path: Path) -> None:
    """Make a SQLite database and its WAL, shared-memory and journal files the owner's only (0600). SQLite
    creates those with the database file's permissions, so later ones follow."""
    for each in (path, *(Path(f"{path}{suffix}") for suffix in SQLITE_SIDE_FILES)):
        _restrict(each)


def secure_data_dir(settings: Settings) -> None:
    """The data directory 0700 and what this product keeps in it (the store, the index, the vectors, the embedding
    cache, the metrics) without group or other permissions: deployments of earlier versions left them 0644/0755.

    Only these entries are touched, never the rest of a directory a deployment may share with other software;
    the trees are walked once per process (then new files are private by the directory and the umask)."""
    data_dir = private_dir(settings.data_dir)
    restrict_sqlite_file(data_dir / "zhengwu.sqlite3")
    restrict_sqlite_file(settings.cache_path)
    if data_dir in _secured:
        return
    _secured.add(data_dir)
    for tree in (settings.index_dir, settings.chroma_dir, data_dir / "metrics"):
        if not tree.is_dir():
            continue
        _restrict(tree)
        for root, dirs, files in os.walk(tree):
            for name in (*dirs, *files):
                _restrict(Path(root) / name)


def _restrict(path: Path) -> None:
    """Drop the group and other permission bits of ``path`` (0644 -> 0600, 0755 -> 0700); missing is fine."""
    try:
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode) or not mode & _GROUP_AND_OTHERS:
            return
        path.chmod(stat.S_IMODE(mode) & ~_GROUP_AND_OTHERS)
    except FileNotFoundError:
        return
    except PermissionError:
        # e.g. a file left by another account (root): the service still works; the operator should fix it.
        log.warning("cannot restrict the permissions of %s (not its owner?): chmod go-rwx it", path)


def _sqlite_file(url: URL) -> Path | None:
    """The file of a SQLite URL; None for an in-memory database."""
    name = url.database
    if not name or name == ":memory:" or name.startswith("file:") or url.query.get("mode") == "memory":
        return None
    return Path(name)


def normalise_url(url: str | URL) -> URL:
    """``postgres://`` and ``postgresql://`` (as Heroku-style tools write them) mean psycopg 3 here."""
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def redacted(url: str | URL) -> str:
    try:
        return normalise_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<unparseable database URL>"


def _unreachable(url: str | URL, exc: sa.exc.DBAPIError) -> RuntimeError:
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__
    return RuntimeError(f"Cannot reach the database at {redacted(url)}: {reason}")


def make_engine(url: str | URL, *, check: bool = True, **kwargs: Any) -> Engine:
    """An engine for ``url``; with ``check`` it connects once so a wrong URL fails now, with a clear message.

    SQLite: WAL (readers never wait for the writer), foreign keys enforced (ON DELETE CASCADE is how erasure
    reaches every table), and transactions take the write lock at BEGIN (``BEGIN IMMEDIATE``): a transaction
    that reads and then writes would otherwise fail at once with "database is locked" when another process
    wrote in between, instead of waiting for the busy timeout.
    """
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        connect_args = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
        connect_args.update(kwargs.pop("connect_args", {}))
        engine = sa.create_engine(parsed, connect_args=connect_args, **kwargs)
        _configure_sqlite(engine, _sqlite_file(parsed))
    else:
        kwargs.setdefault("pool_pre_ping", True)
        engine = sa.create_engine(parsed, **kwargs)
        if parsed.get_backend_name() == "postgresql":
            _replace_nul_characters(engine)
    if check:
        try:
            with engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
        except sa.exc.DBAPIError as exc:
            engine.dispose()
            raise _unreachable(parsed, exc) from exc
    return engine


def _without_nul(value: Any) -> Any:
    return value.replace("\x00", "\ufffd") if isinstance(value, str) and "\x00" in value else value


def _replace_nul_characters(engine: Engine) -> None:
    """PostgreSQL text cannot hold U+0000 (psycopg raises DataError): a NUL a client typed into a question, a
    search box or a URL would be a 500. It is stored, and searched for, as U+FFFD instead, on every statement
    (SQLite keeps NUL as it is)."""

    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def _clean(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, executemany: bool):
        def clean(params: Any) -> Any:
            if isinstance(params, dict):
                return {key: _without_nul(value) for key, value in params.items()}
            if isinstance(params, (list, tuple)):
                return type(params)(_without_nul(value) for value in params)
            return params

        if executemany and isinstance(parameters, (list, tuple)):
            return statement, [clean(each) for each in parameters]
        return statement, clean(parameters)


def _configure_sqlite(engine: Engine, path: Path | None) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin (see the "begin" hook).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: no fsync per commit (each commit cost a worker ~10% of its time under load); a crash of
        # the process loses nothing, a power cut at most the last commits, never the database's consistency.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
        if path is not None:
            # The file now exists (the connection created it) and so do its -wal/-shm (WAL mode): owner only.
            restrict_sqlite_file(path)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        # Reads (execution option read_only=True) begin deferred: under WAL they never wait for a writer, and
        # taking the write lock for every session lookup serialised all workers behind each other.
        read_only = connection.get_execution_options().get("read_only", False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database to ``revision`` (head); a no-op when it is already there."""
    config = alembic_config()
    try:
        connection = engine.connect()
    except sa.exc.DBAPIError as exc:
        raise _unreachable(engine.url, exc) from exc
    with connection, connection.begin():
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for a database never migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()

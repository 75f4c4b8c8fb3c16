"""The personal-data store on disk is the owner's only: the data directory 0700, the SQLite file and its -wal and
-shm 0600, for a new store and for one an earlier version left readable by other local users; backups too, and
what the command line creates (issue 15)."""

from __future__ import annotations

import os
import sqlite3
import stat
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import FIXTURE_CORPUS, FIXTURES, build_index, make_settings

import zhengwu.config
from zhengwu.cli.main import main
from zhengwu.db import make_engine
from zhengwu.ops.backup import backup, restore
from zhengwu.personal import FieldCipher, open_people_store

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def permissive_umask():
    """The usual login umask (files 0644, directories 0755), whatever the test process had."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def store_files(data: Path) -> list[Path]:
    database = data / "zhengwu.sqlite3"
    return [database, Path(f"{database}-wal"), Path(f"{database}-shm")]


def test_a_new_store_is_the_owners_only(tmp_path, monkeypatch):
    monkeypatch.delenv("ZHENGWU_DATA_KEY", raising=False)
    settings = make_settings(tmp_path / "data", database_url=None)
    people = open_people_store(settings)
    people.log_turn("a" * 32, None, "web", "居住证怎么办？", "请携带身份证原件。", "answered")
    try:
        assert mode(settings.data_dir) == 0o700
        for path in store_files(settings.data_dir):
            assert path.exists() and mode(path) == 0o600, path.name
    finally:
        people.engine.dispose()


def test_an_upgraded_deployment_is_made_private_when_the_store_opens(tmp_path, monkeypatch):
    monkeypatch.delenv("ZHENGWU_DATA_KEY", raising=False)
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    database = data / "zhengwu.sqlite3"
    old = sqlite3.connect(database)  # as an earlier version left it: 0644, WAL and shared memory 0644 too
    old.execute("PRAGMA journal_mode=WAL")
    old.execute("CREATE TABLE leftover (x)")
    old.commit()
    (data / "index").mkdir(mode=0o755)
    (data / "index" / "chunks.sqlite3").write_bytes(b"")
    (data / "chroma" / "segment").mkdir(parents=True, mode=0o755)
    (data / "chroma" / "segment" / "data.bin").write_bytes(b"")
    (data / "notes.txt").write_text("not ours")
    assert mode(database) == 0o644 and mode(Path(f"{database}-wal")) == 0o644 and mode(data) == 0o755

    people = open_people_store(make_settings(data, database_url=None))
    try:
        assert mode(data) == 0o700
        for path in store_files(data):
            assert mode(path) == 0o600, path.name
        assert mode(data / "index") == 0o700 and mode(data / "index" / "chunks.sqlite3") == 0o600
        assert mode(data / "chroma" / "segment") == 0o700 and mode(data / "chroma" / "segment" / "data.bin") == 0o600
        assert mode(data / "notes.txt") == 0o644  # only what the product keeps there is touched
    finally:
        people.engine.dispose()
        old.close()


def test_a_sqlite_file_elsewhere_is_private_but_its_directory_is_left_alone(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    engine = make_engine(f"sqlite:///{shared / 'elsewhere.sqlite3'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x)")
    try:
        assert mode(shared / "elsewhere.sqlite3") == 0o600 and mode(shared / "elsewhere.sqlite3-wal") == 0o600
        assert mode(shared) == 0o755
    finally:
        engine.dispose()


def test_a_backup_and_what_a_restore_writes_are_private(tmp_path):
    settings = make_settings(tmp_path / "data", database_url=None)
    build_index(settings, FIXTURE_CORPUS).close()
    archive = tmp_path / "backups" / "zhengwu.tar.gz"
    backup(settings, archive)
    assert mode(archive) == 0o600 and mode(archive.parent) == 0o700
    with tarfile.open(archive) as opened:
        assert {member.mode for member in opened.getmembers()} == {0o600}

    restore(make_settings(tmp_path / "restored", database_url=None), archive)
    restored = tmp_path / "restored"
    assert mode(restored) == 0o700 and mode(restored / "index") == 0o700
    assert mode(restored / "index" / "chunks.sqlite3") == 0o600 and mode(restored / "zhengwu.sqlite3") == 0o600


def test_files_the_command_line_writes_are_private_and_the_umask_is_put_back(tmp_path, monkeypatch):
    monkeypatch.setenv("ZHENGWU_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ZHENGWU_DATABASE_URL", raising=False)
    monkeypatch.setenv("ZHENGWU_DATA_KEY", FieldCipher.generate_key())
    zhengwu.config.get_settings.cache_clear()
    out = tmp_path / "export.json"
    try:
        runner = CliRunner()
        assert runner.invoke(main, ["history", "import", str(FIXTURES / "history" / "good.csv")]).exit_code == 0
        result = runner.invoke(main, ["users", "export", "--channel", "wechat", "--external-id", "wx-user-1001",
                                      "--actor", "张科员", "--out", str(out)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    finally:
        zhengwu.config.get_settings.cache_clear()
    assert mode(out) == 0o600  # the citizen's full record, ID number included
    assert os.umask(0o022) == 0o022  # the caller's umask is as it was

"""Backup and restore: the index and the personal-data store survive a lost data directory, and a backup taken
from SQLite restores into PostgreSQL (when one is configured)."""

from __future__ import annotations

import shutil
from datetime import date

import pytest
from helpers import FIXTURE_CORPUS, build_index, make_assistant
from helpers.databases import PG_URL, scratch_pg_database

from zhengwu.config import Settings
from zhengwu.db import make_engine, upgrade
from zhengwu.index import Index
from zhengwu.ops.backup import BackupError, backup, restore
from zhengwu.personal import FieldCipher, PeopleStore, ServiceRecordData
from zhengwu.pii import mask_pii

KEY = FieldCipher(b"b" * 32)
PHONE_Q = "实验动物生产许可的咨询电话是多少？"


def fill_store(settings: Settings) -> int:
    from zhengwu.db.engine import database_url

    engine = make_engine(database_url(settings))
    upgrade(engine)
    people = PeopleStore(engine, cipher=KEY, mask=mask_pii)
    uid = people.user_for("wechat", "o-backup")
    people.update_profile(uid, city="广州市", tags=["退休人员"], id_number="44010619850315201" + "7")
    people.set_consent(uid, "personalisation", True)
    people.add_records(uid, [ServiceRecordData("C1", "居住证申领", "approved", submitted_at=date(2025, 1, 2),
                                               valid_until=date(2026, 12, 1), materials=["居民身份证"])])
    people.log_turn("a" * 32, uid, "wechat", "问题", "回答", "answered")
    engine.dispose()
    return uid


def test_a_lost_data_directory_comes_back_from_the_backup(tmp_path):
    data = tmp_path / "data"
    settings = Settings(data_dir=data, corpus_dir=FIXTURE_CORPUS, database_url=None)
    build_index(settings).close()
    uid = fill_store(settings)
    archive = tmp_path / "backup.tar.gz"
    report = backup(settings, archive)
    assert report.documents == 8 and report.tables["users"] == 1 and report.tables["service_records"] == 1

    shutil.rmtree(data)
    restored = restore(settings, archive)
    assert restored.tables["consents"] == 1
    assistant = make_assistant(settings, Index(settings))
    answer = assistant.ask(PHONE_Q)
    assert answer.status == "answered" and "020-84106805" in answer.text
    assert assistant.index.dense.count() > 0  # vectors rebuilt from the restored embedding cache
    from zhengwu.db.engine import database_url

    people = PeopleStore(make_engine(database_url(settings)), cipher=KEY, mask=mask_pii)
    assert people.user_for("wechat", "o-backup", create=False) == uid
    assert people.profile(uid).id_number_masked.endswith("2017")
    assert [r.item_name for r in people.records(uid)] == ["居住证申领"]
    assert people.user_for("telegram", "new-user") == uid + 1  # ids continue after the restored ones


def test_not_a_backup_is_refused(tmp_path):
    import tarfile

    bogus = tmp_path / "bogus.tar.gz"
    with tarfile.open(bogus, "w:gz"):
        pass
    with pytest.raises(BackupError, match="not a zhengwu backup"):
        restore(Settings(data_dir=tmp_path / "d", corpus_dir=FIXTURE_CORPUS), bogus)
    with pytest.raises(BackupError, match="nothing to back up"):
        backup(Settings(data_dir=tmp_path / "empty", corpus_dir=FIXTURE_CORPUS), tmp_path / "x.tar.gz")




@pytest.mark.skipif(not PG_URL, reason="set ZHENGWU_TEST_DATABASE_URL to test PostgreSQL")
def test_a_sqlite_backup_restores_into_postgresql(tmp_path):

    source = Settings(data_dir=tmp_path / "a", corpus_dir=FIXTURE_CORPUS, database_url=None)
    build_index(source).close()
    uid = fill_store(source)
    archive = tmp_path / "backup.tar.gz"
    backup(source, archive)
    with scratch_pg_database() as url:
        target = Settings(data_dir=tmp_path / "b", corpus_dir=FIXTURE_CORPUS,
                          database_url=url.render_as_string(hide_password=False))
        restore(target, archive)
        engine = make_engine(url)
        people = PeopleStore(engine, cipher=KEY, mask=mask_pii)
        assert people.user_for("wechat", "o-backup", create=False) == uid
        assert people.has_consent(uid, "personalisation")
        assert people.user_for("telegram", "next") == uid + 1  # the sequence was moved past restored ids
        engine.dispose()

"""The personal-data store on every backend: SQLite always, PostgreSQL when ZHENGWU_TEST_DATABASE_URL is set.

For PostgreSQL the suite creates its own uniquely named database (and a scratch one for each migration test)
and drops them at the end, so it never touches the data of the database it is pointed at, e.g.::

    ZHENGWU_TEST_DATABASE_URL=postgresql+psycopg://root@127.0.0.1:5432/test pytest tests/test_db_store.py
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from helpers.databases import BACKENDS, emptied, migrated_engine

from zhengwu.answering.sessions import Session
from zhengwu.config import Settings
from zhengwu.db import Base, alembic_config, current_revision, database_url, make_engine, normalise_url, upgrade
from zhengwu.db.models import PendingReply
from zhengwu.personal import DbSessionStore, PeopleStore, ServiceRecordData
from zhengwu.pii import mask_id_number
from zhengwu.review import ReviewStore

ID_NUMBER = "44010619900101123X"
PHONE = "13812345678"


class AesGcmCipher:
    """Test cipher: AES-256-GCM with a random nonce, HMAC-SHA256 blind index, throwaway keys."""

    def __init__(self) -> None:
        self._aead = AESGCM(AESGCM.generate_key(bit_length=256))
        self._mac_key = os.urandom(32)

    def encrypt(self, plaintext: str) -> str:
        nonce = os.urandom(12)
        return base64.urlsafe_b64encode(nonce + self._aead.encrypt(nonce, plaintext.encode(), None)).decode()

    def decrypt(self, ciphertext: str) -> str:
        raw = base64.urlsafe_b64decode(ciphertext)
        return self._aead.decrypt(raw[:12], raw[12:], None).decode()

    def blind_index(self, value: str) -> str:
        return hmac.new(self._mac_key, value.encode(), hashlib.sha256).hexdigest()


def mask_pii(text: str) -> str:
    text = re.sub(r"\d{17}[\dXx]", lambda m: mask_id_number(m.group().upper()), text)
    return re.sub(r"1[3-9]\d{9}", lambda m: m.group()[:3] + "****" + m.group()[-4:], text)


# -- backends -------------------------------------------------------------------------------------------------




@pytest.fixture(scope="session")
def pg_engine() -> Iterator[sa.Engine]:
    """One migrated PostgreSQL database for the whole run; tests empty it rather than recreate it."""
    with migrated_engine("postgresql") as engine:
        yield engine


@pytest.fixture(params=BACKENDS)
def empty_engine(request, tmp_path) -> Iterator[sa.Engine]:
    """A database with no tables at all."""
    with migrated_engine(request.param, tmp_path, "empty.sqlite3", migrate=False) as engine:
        yield engine


@pytest.fixture(params=BACKENDS)
def engine(request, tmp_path) -> Iterator[sa.Engine]:
    """A migrated, empty database."""
    if request.param == "sqlite":
        with migrated_engine("sqlite", tmp_path) as engine:
            yield engine
    else:
        yield emptied(request.getfixturevalue("pg_engine"))


@pytest.fixture
def people(engine) -> PeopleStore:
    return PeopleStore(engine, cipher=AesGcmCipher(), mask=mask_pii)


def table_names(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def schema_diff(engine: sa.Engine, metadata: sa.MetaData) -> list:
    with engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), metadata)


def everything(engine: sa.Engine) -> str:
    """Every row of every table, as text: what somebody with raw database access would see."""
    with engine.connect() as connection:
        return "\n".join(
            repr(tuple(row)) for table in Base.metadata.sorted_tables for row in connection.execute(sa.select(table))
        )


def rows_about(engine: sa.Engine, user_id: int, session_ids: set[str]) -> dict[str, int]:
    """Rows per table that mention the user: by user id, or (sessions, turns) by one of their session ids.
    Found generically from the metadata, so a new table that refers to users is covered (or fails loudly)."""
    counts = {}
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            if table.name == "audit_logs":  # the audit trail deliberately survives erasure
                continue
            if table.name == "processed_messages":  # hashed platform message ids: nothing about a user
                continue
            if table.name in ("staff_users", "curated_answers"):  # staff accounts, published answers
                continue
            if table.name in ("shared_values", "throttles", "revoked_tokens"):  # server keys, hashed clients/tokens
                continue
            if table.name in ("document_versions", "library_documents", "document_events", "index_jobs"):
                continue  # the knowledge base staff publish and its trail: government documents, no citizen
            conditions = []
            if table.name == "users":
                conditions.append(table.c.id == user_id)
            if "user_id" in table.c:
                conditions.append(table.c.user_id == user_id)
            if "session_id" in table.c:
                conditions.append(table.c.session_id.in_(session_ids))
            if table.name == "pending_replies":  # addressed to one of the user's platform identities
                identities = Base.metadata.tables["identities"]
                conditions.append(table.c.recipient.in_(
                    sa.select(identities.c.external_id).where(identities.c.user_id == user_id)))
            if "turn_id" in table.c:  # feedback, reviews: about the user through the turn they rate
                turns = Base.metadata.tables["conversation_turns"]
                theirs = sa.select(turns.c.id).where(
                    sa.or_(turns.c.user_id == user_id, turns.c.session_id.in_(session_ids))
                )
                # An orphan (its turn gone but the row not) counts as the user's: erasure must not leave one.
                conditions += [table.c.turn_id.in_(theirs), table.c.turn_id.not_in(sa.select(turns.c.id))]
            assert conditions, f"{table.name}: the test does not know how this table refers to a user"
            counts[table.name] = connection.scalar(
                sa.select(sa.func.count()).select_from(table).where(sa.or_(*conditions))
            )
    return counts


# -- engine and migrations ------------------------------------------------------------------------------------


def test_migration_reaches_head_on_an_empty_database_and_a_second_upgrade_changes_nothing(empty_engine):
    assert table_names(empty_engine) == set()
    assert current_revision(empty_engine) is None
    upgrade(empty_engine)
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head and current_revision(empty_engine) == head
    assert table_names(empty_engine) == set(Base.metadata.tables) | {"alembic_version"}
    store = PeopleStore(empty_engine)
    user_id = store.user_for("web", "a" * 32)
    upgrade(empty_engine)  # idempotent, and it keeps the data
    assert current_revision(empty_engine) == head
    assert store.user_for("web", "a" * 32, create=False) == user_id


def test_migrated_schema_matches_the_models(engine):
    assert schema_diff(engine, Base.metadata) == []
    # and the comparison is able to see a difference
    changed = sa.MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["users"].append_column(sa.Column("nickname", sa.String(20)))
    changed.tables["sessions"].c.data.type = sa.Text()
    assert len(schema_diff(engine, changed)) == 2


def test_sqlite_enforces_foreign_keys_and_uses_wal(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'z.sqlite3'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()


def test_deleting_a_user_row_cascades(engine, people):
    user_id = people.user_for("telegram", "1001")
    people.set_consent(user_id, "reminders", True)
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM users WHERE id = :id"), {"id": user_id})
    assert set(rows_about(engine, user_id, set()).values()) == {0}
    assert people.user_for("telegram", "1001", create=False) is None


def test_urls_are_normalised_and_an_unreachable_database_is_named_without_its_password(tmp_path):
    assert normalise_url("postgres://u:p@h/db").drivername == "postgresql+psycopg"
    assert normalise_url("postgresql://u:p@h/db").drivername == "postgresql+psycopg"
    assert normalise_url("sqlite:///x.sqlite3").drivername == "sqlite"
    with pytest.raises(RuntimeError) as caught:
        make_engine("postgresql://zhengwu:hunter2@127.0.0.1:1/nowhere")
    message = str(caught.value)
    assert "127.0.0.1:1/nowhere" in message and "hunter2" not in message and "***" in message
    with pytest.raises(RuntimeError, match="Cannot reach the database"):
        make_engine(f"sqlite:///{tmp_path / 'missing-dir' / 'x.sqlite3'}")


def test_database_url_defaults_to_sqlite_in_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("ZHENGWU_DATABASE_URL", raising=False)
    data_dir = tmp_path / "data"
    assert database_url(Settings(data_dir=data_dir)) == f"sqlite:///{data_dir / 'zhengwu.sqlite3'}"
    assert data_dir.is_dir()
    url = "postgresql+psycopg://u@h/db"
    assert database_url(Settings(data_dir=data_dir, database_url=url)) == url


# -- identities -----------------------------------------------------------------------------------------------


def test_identities_are_created_linked_and_not_stolen(people):
    alice = people.user_for("web", "a1" * 16)
    assert people.user_for("web", "a1" * 16) == alice
    assert people.user_for("wechat", "o-unknown", create=False) is None
    bob = people.user_for("wechat", "o-bob")
    assert bob != alice

    people.link(alice, "telegram", "555")
    people.link(alice, "telegram", "555")  # again: no-op
    assert people.user_for("telegram", "555") == alice
    assert people.identities(alice) == [("web", "a1" * 16), ("telegram", "555")]

    with pytest.raises(ValueError, match="another user"):
        people.link(bob, "telegram", "555")
    assert people.user_for("telegram", "555") == alice
    people.link(bob, "telegram", "555", force=True)
    assert people.user_for("telegram", "555") == bob
    assert people.identities(alice) == [("web", "a1" * 16)]

    with pytest.raises(ValueError, match="channel"):
        people.user_for("sms", "123")
    with pytest.raises(LookupError):
        people.link(10**6, "wecom", "zhangsan")


def test_concurrent_first_contacts_make_one_user(people):
    results: list[int | None] = []
    barrier = threading.Barrier(6)

    def contact() -> None:
        barrier.wait()
        results.append(people.user_for("wecom", "zhangsan"))

    threads = [threading.Thread(target=contact) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 6 and len(set(results)) == 1 and results[0] is not None


# -- profile, id number, consent --------------------------------------------------------------------------------


def test_profile_updates(people):
    user_id = people.user_for("web", "b" * 32)
    profile = people.update_profile(
        user_id,
        province="广东省",
        city="广州市",
        district="天河区",
        tags=["退休人员", " 残疾人 ", "退休人员", ""],
        display_name="张三",
    )
    assert (profile.province, profile.city, profile.district) == ("广东省", "广州市", "天河区")
    assert profile.tags == ["退休人员", "残疾人"]
    assert profile.display_name == "张三" and profile.id_number_masked is None
    assert profile.identities == [("web", "b" * 32)]
    assert profile.created_at.tzinfo is not None
    profile = people.update_profile(user_id, city="深圳市", district="")
    assert (profile.province, profile.city, profile.district) == ("广东省", "深圳市", None)
    assert profile.tags == ["退休人员", "残疾人"]
    with pytest.raises(LookupError):
        people.profile(10**6)


def test_id_number_is_stored_encrypted_and_found_by_blind_index(engine, people):
    user_id = people.user_for("wechat", "o-zhang")
    profile = people.update_profile(user_id, id_number=ID_NUMBER.lower())
    assert profile.id_number_masked == "440106********123X"
    raw = everything(engine)
    assert ID_NUMBER not in raw and ID_NUMBER.lower() not in raw and "19900101" not in raw
    with engine.connect() as connection:
        encrypted, digest = connection.execute(
            sa.text("SELECT id_number_enc, id_number_hash FROM users WHERE id = :id"), {"id": user_id}
        ).one()
    assert encrypted and digest and ID_NUMBER not in encrypted
    assert people.user_by_id_number(ID_NUMBER) == user_id
    assert people.user_by_id_number(" 44010619900101123x ") == user_id
    assert people.user_by_id_number("440106199001011248") is None

    other = people.user_for("wechat", "o-li")
    with pytest.raises(ValueError, match="another user"):
        people.update_profile(other, id_number=ID_NUMBER)
    with pytest.raises(ValueError, match="resident id number"):
        people.update_profile(other, id_number="12345")

    people.update_profile(user_id, id_number="")
    assert people.profile(user_id).id_number_masked is None
    assert people.user_by_id_number(ID_NUMBER) is None


def test_without_a_cipher_the_store_refuses_id_numbers(engine):
    store = PeopleStore(engine)
    user_id = store.user_for("web", "c" * 32)
    with pytest.raises(RuntimeError, match="cipher"):
        store.update_profile(user_id, id_number=ID_NUMBER)
    with pytest.raises(RuntimeError, match="cipher"):
        store.user_by_id_number(ID_NUMBER)
    assert ID_NUMBER not in everything(engine)
    store.update_profile(user_id, city="广州市")  # everything else still works
    assert store.profile(user_id).city == "广州市"


def test_consent_keeps_its_history_and_can_be_withdrawn(people):
    user_id = people.user_for("telegram", "42")
    assert not people.has_consent(user_id, "personalisation")
    assert people.profile(user_id).consents["personalisation"].at is None

    granted = people.set_consent(user_id, "personalisation", True)
    assert granted.granted and granted.at.tzinfo is not None
    assert people.has_consent(user_id, "personalisation")
    assert not people.has_consent(user_id, "reminders")

    withdrawn = people.set_consent(user_id, "personalisation", False)
    assert not people.has_consent(user_id, "personalisation")
    state = people.profile(user_id).consents["personalisation"]
    assert not state.granted and state.at == withdrawn.at and withdrawn.at >= granted.at

    people.set_consent(user_id, "personalisation", True)
    assert people.has_consent(user_id, "personalisation")
    history = [(c["kind"], c["granted"]) for c in people.export(user_id)["consents"]]
    assert history == [("personalisation", True), ("personalisation", False), ("personalisation", True)]

    with pytest.raises(ValueError, match="consent kind"):
        people.set_consent(user_id, "marketing", True)


# -- service records ------------------------------------------------------------------------------------------


def sample_records(source: str = "import:centre.csv") -> list[ServiceRecordData]:
    return [
        ServiceRecordData(
            "440100-0002",
            "营业执照变更登记",
            "approved",
            submitted_at=date(2024, 5, 6),
            decided_at=date(2024, 5, 10),
            valid_until=date(2029, 5, 9),
            materials=["申请书", "营业执照"],
            region="广州市天河区",
            doc_id="gz-yyzz-bg",
            source=source,
        ),
        ServiceRecordData("440100-0001", "退休金申领", "submitted", submitted_at=date(2023, 1, 3), source=source),
        ServiceRecordData("440100-0009", "居住证办理", "accepted", source=source),  # no submission date
    ]


def test_records_upsert_on_reimport(people):
    user_id = people.user_for("web", "d" * 32)
    assert people.add_records(user_id, sample_records()) == (3, 0)
    assert people.add_records(user_id, sample_records()) == (0, 0)  # the same file again
    assert people.add_records(user_id, sample_records("import:other-name.csv")) == (0, 0)

    changed = sample_records()
    changed[1].status = "approved"
    changed[1].decided_at = date(2023, 1, 20)
    assert people.add_records(user_id, changed) == (0, 1)

    records = people.records(user_id)
    assert [r.item_code for r in records] == ["440100-0001", "440100-0002", "440100-0009"]
    assert records[0].status == "approved" and records[0].decided_at == date(2023, 1, 20)
    assert records[1] == sample_records()[0] and records[1].id is not None
    assert records[1].materials == ["申请书", "营业执照"]

    # a new application for the same item on another day is another record
    again = ServiceRecordData("440100-0001", "退休金申领", "submitted", submitted_at=date(2024, 2, 1))
    assert people.add_records(user_id, [again]) == (1, 0)
    assert len(people.records(user_id)) == 4

    with pytest.raises(ValueError, match="record status"):
        people.add_records(user_id, [ServiceRecordData("x", "y", "lost")])
    with pytest.raises(LookupError):
        people.add_records(10**6, sample_records())
    assert len(people.records(user_id)) == 4


# -- turns, retention, audit ------------------------------------------------------------------------------------


def test_turns_are_masked_before_they_are_stored(engine, people):
    user_id = people.user_for("web", "e" * 32)
    question = f"我的身份证{ID_NUMBER}，电话{PHONE}，怎么办居住证？"
    people.log_turn("e" * 32, user_id, "web", question, "请携带身份证原件。", "answered")
    people.log_turn("f" * 32, None, "web", "社保卡补办", "可在线办理。", "answered")
    raw = everything(engine)
    assert ID_NUMBER not in raw and PHONE not in raw
    turns = people.turns(user_id=user_id)
    assert len(turns) == 1 and "440106********123X" in turns[0].question and "138****5678" in turns[0].question
    assert [t.session_id for t in people.turns()] == ["e" * 32, "f" * 32]
    assert [t.question for t in people.turns(session_id="f" * 32)] == ["社保卡补办"]


def test_retention_purges_old_turns_and_sessions(engine, people):
    old = people.log_turn("1" * 32, None, "web", "旧问题", "旧回答", "answered")
    people.log_turn("2" * 32, None, "web", "新问题", "新回答", "answered")
    with engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE conversation_turns SET created_at = :at WHERE id = :id"),
            {"at": datetime.now(UTC) - timedelta(days=200), "id": old},
        )
    assert people.purge_turns(datetime.now(UTC) - timedelta(days=180)) == 1
    assert [t.question for t in people.turns()] == ["新问题"]
    with pytest.raises(ValueError, match="naive"):
        people.purge_turns(datetime.now() - timedelta(days=180))  # deliberately naive

    sessions = DbSessionStore(engine)
    sessions.save(Session("3" * 32))
    sessions.save(Session("4" * 32))
    with engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE sessions SET updated_at = :t WHERE session_id = :s"),
            {"t": time.time() - 86400 * 40, "s": "3" * 32},
        )
    assert people.purge_sessions(time.time() - 86400 * 30) == 1
    assert sessions.count() == 1


def test_audit_trail(people):
    user_id = people.user_for("wecom", "wangwu")
    people.audit("clerk:li", "view_profile", user_id)
    people.audit("clerk:li", "import_history", user_id, detail=f"file centre.csv, 身份证 {ID_NUMBER}")
    people.audit("admin", "purge", detail="retention")
    entries = people.audit_log(user_id)
    assert [(e.actor, e.action) for e in entries] == [("clerk:li", "view_profile"), ("clerk:li", "import_history")]
    assert ID_NUMBER not in entries[1].detail and "440106********123X" in entries[1].detail
    assert len(people.audit_log()) == 3 and people.audit_log(limit=1)[0].action == "purge"
    assert entries[0].at.tzinfo is not None


# -- reminders ------------------------------------------------------------------------------------------------


def test_reminders_respect_the_window_consent_and_are_not_resent(people):
    today = date(2025, 6, 1)

    def licence(code: str, days: int | None) -> ServiceRecordData:
        until = today + timedelta(days=days) if days is not None else None
        return ServiceRecordData(code, f"许可证{code}", "approved", submitted_at=date(2020, 1, 1), valid_until=until)

    alice = people.user_for("wechat", "o-alice")  # consents
    bob = people.user_for("wechat", "o-bob")  # never consented
    carol = people.user_for("wechat", "o-carol")  # consented, then withdrew
    people.add_records(
        alice,
        [
            licence("A-soon", 10),
            licence("A-today", 0),
            licence("A-late", 40),
            licence("A-past", -1),
            licence("A-none", None),
        ],
    )
    people.add_records(bob, [licence("B-soon", 5)])
    people.add_records(carol, [licence("C-soon", 5)])
    people.set_consent(alice, "reminders", True)
    people.set_consent(alice, "personalisation", False)  # another kind does not interfere
    people.set_consent(carol, "reminders", True)
    people.set_consent(carol, "reminders", False)

    due = people.due_reminders(today, 30)
    assert [(uid, r.item_code) for uid, r in due] == [(alice, "A-today"), (alice, "A-soon")]
    assert [r.item_code for _, r in people.due_reminders(today, 40)] == ["A-today", "A-soon", "A-late"]

    people.mark_reminder_sent(due[1][1].id, "expiry", datetime(2025, 6, 1, 9, tzinfo=UTC))
    assert [r.item_code for _, r in people.due_reminders(today, 30)] == ["A-today"]
    assert [r.item_code for _, r in people.due_reminders(today, 30, kind="final")] == ["A-today", "A-soon"]

    people.set_consent(carol, "reminders", True)
    assert [r.item_code for _, r in people.due_reminders(today, 30)] == ["A-today", "C-soon"]
    people.set_consent(alice, "reminders", False)
    assert [r.item_code for _, r in people.due_reminders(today, 30)] == ["C-soon"]

    # renewed with a new expiry date: reminded again when that one comes near
    people.set_consent(alice, "reminders", True)
    renewed = licence("A-soon", 20)
    assert people.add_records(alice, [renewed]) == (0, 1)
    assert [r.item_code for _, r in people.due_reminders(today, 30)] == ["A-today", "C-soon", "A-soon"]
    with pytest.raises(LookupError):
        people.mark_reminder_sent(10**6, "expiry")


# -- export and erasure ---------------------------------------------------------------------------------------

WEB_SESSION = "ab" * 16
TG_SESSION = "cd" * 16


def populate(engine: sa.Engine, people: PeopleStore, tag: str) -> tuple[int, set[str]]:
    """A citizen with something in every table; returns the user id and their session ids."""
    web, tg = f"{tag}{WEB_SESSION}"[:32], f"{tag}{TG_SESSION}"[:32]
    user_id = people.user_for("web", web)
    people.link(user_id, "telegram", f"{tag}-chat")
    people.update_profile(
        user_id, province="广东省", city="广州市", tags=["个体工商户"], id_number=ID_NUMBER if tag == "u" else None
    )
    people.set_consent(user_id, "personalisation", True)
    people.set_consent(user_id, "reminders", True)
    people.add_records(user_id, sample_records())
    record = people.records(user_id)[1]
    people.mark_reminder_sent(record.id, "expiry", datetime.now(UTC))
    sessions = DbSessionStore(engine)
    sessions.save(Session(web, subject="gz-yyzz-bg", region="广州市"))  # linked through the web identity
    sessions.save(Session(tg, subject="gz-yyzz-bg"), user_id=user_id)
    people.log_turn(web, None, "web", "营业执照变更要什么材料？", "申请书、营业执照。", "answered")
    later = people.log_turn(web, user_id, "web", "要多久？", "5个工作日。", "answered")
    people.log_turn(tg, user_id, "telegram", "电话呢？", "12345", "answered")
    people.audit("clerk:li", "view_profile", user_id)
    with engine.begin() as connection:  # an answer still owed to their Telegram chat
        connection.execute(sa.insert(PendingReply).values(
            channel="telegram", recipient=f"{tag}-chat", payload='{"text": "电话：12345"}', created_at=time.time(),
            attempts=0, claimed_until=0.0))
    reviews = ReviewStore(engine)
    reviews.record_feedback(later, -1, "web")
    reviews.add_review(later, "console:li", "wrong", ["retrieval_miss"], corrected_answer="承诺办结时限为5个工作日。")
    reviews.add_test_case(later, "console:li")  # the 👎 opened a rectification (好差评); and a test case
    return user_id, {web, tg}


def test_export_contains_everything_about_the_user_and_nothing_else(engine, people):
    user_id, session_ids = populate(engine, people, "u")
    populate(engine, people, "o")
    exported = people.export(user_id)
    assert json.loads(json.dumps(exported, ensure_ascii=False)) == exported

    assert exported["user"]["id"] == user_id and exported["user"]["id_number"] == ID_NUMBER
    assert exported["user"]["tags"] == ["个体工商户"]
    counts = rows_about(engine, user_id, session_ids)
    for table, count in counts.items():
        if table != "users":
            assert count > 0, f"populate() left {table} empty: the test would prove nothing"
            assert len(exported[table]) == count, table
    assert {s["session_id"] for s in exported["sessions"]} == session_ids
    assert {t["session_id"] for t in exported["conversation_turns"]} == session_ids
    assert exported["sessions"][0]["data"]["subject"] == "gz-yyzz-bg"
    assert [r["item_code"] for r in exported["service_records"]] == [r.item_code for r in sample_records()]
    assert exported["access_log"] == [{"at": exported["access_log"][0]["at"], "action": "view_profile"}]


def test_delete_leaves_no_row_about_the_user(engine, people):
    user_id, session_ids = populate(engine, people, "u")
    other_id, other_sessions = populate(engine, people, "o")
    other_before = rows_about(engine, other_id, other_sessions)

    counts = people.delete(user_id, actor="clerk:li")
    assert rows_about(engine, user_id, session_ids) == dict.fromkeys(other_before, 0)
    assert counts["users"] == 1 and counts["conversation_turns"] == 3 and counts["sessions"] == 2
    assert counts["identities"] == 2 and counts["consents"] == 2 and counts["service_records"] == 3
    assert counts["reminders"] == 1 and counts["feedback"] == 1 and counts["reviews"] == 1
    assert counts["pending_replies"] == 1
    assert rows_about(engine, other_id, other_sessions) == other_before  # nobody else lost anything
    assert ID_NUMBER not in everything(engine)
    assert people.user_for("web", f"u{WEB_SESSION}"[:32], create=False) is None
    assert people.user_by_id_number(ID_NUMBER) is None

    trail = people.audit_log(user_id)
    assert [e.action for e in trail] == ["view_profile", "delete"]
    assert json.loads(trail[-1].detail)["users"] == 1
    assert set(people.delete(user_id).values()) == {0}  # erasing again is harmless
    with pytest.raises(LookupError):
        people.export(user_id)


# -- sessions -------------------------------------------------------------------------------------------------


def test_db_sessions_round_trip_and_expire(engine):
    store = DbSessionStore(engine, ttl=0.5)
    fresh = store.get(None)
    assert len(fresh.session_id) == 32 and fresh.subject is None
    fresh.subject, fresh.subject_title, fresh.region = "doc-1", "居住证办理", "广州市"
    fresh.record("answered")
    fresh.record("needs_region")
    store.save(fresh)
    again = store.get(fresh.session_id)
    assert again == fresh and again is not fresh
    assert store.count() == 1
    assert store.get("0" * 32) == Session("0" * 32)  # unknown id: a new session with that id
    time.sleep(0.6)
    expired = store.get(fresh.session_id)
    assert expired == Session(fresh.session_id)
    assert store.count() == 0
    store.close()


def test_db_sessions_keep_the_user_link(engine, people):
    user_id = people.user_for("web", "9" * 32)
    store = DbSessionStore(engine)
    store.save(Session("9" * 32), user_id=user_id)
    store.save(Session("9" * 32, subject="doc-2"))
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT user_id FROM sessions")).scalar_one() == user_id
    assert store.get("9" * 32).subject == "doc-2"


def test_two_threads_write_sessions_concurrently(engine):
    store = DbSessionStore(engine)
    shared = "5" * 32
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def work(prefix: str) -> None:
        try:
            barrier.wait()
            for i in range(40):
                store.save(Session(f"{prefix}{i:031d}", subject=f"{prefix}-{i}"))
                session = store.get(shared)
                session.record(prefix)
                store.save(session)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(p,)) for p in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.count() == 81
    assert store.get(f"a{39:031d}").subject == "a-39"
    assert store.get("b" + "0" * 31).subject == "b-0"
    assert set(store.get(shared).statuses) <= {"a", "b"} and store.get(shared).statuses


def test_conversations_and_the_security_record_have_separate_retentions(engine, people):
    """Issue 15: what citizens said goes after ZHENGWU_RETENTION_DAYS (90); the staff access audit is kept at
    least six months (网络安全法 第二十一条) and then goes too."""
    from zhengwu.config import Settings
    from zhengwu.personal import purge_old_conversations, purge_security_logs

    user = people.user_for("web", "retention-citizen")
    turn = people.log_turn("5" * 32, user, "web", "问题", "回答", "answered")
    people.audit("clerk:li", "view_profile", user)
    people.audit("clerk:li", "export", user)
    aged = datetime.now(UTC) - timedelta(days=120)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE conversation_turns SET created_at = :at WHERE id = :id"),
                           {"at": aged, "id": turn})
        connection.execute(sa.text("UPDATE audit_logs SET at = :at"), {"at": aged})
        connection.execute(sa.text("UPDATE audit_logs SET at = :at WHERE action = 'export'"),
                           {"at": datetime.now(UTC) - timedelta(days=200)})
    settings = Settings()
    assert settings.retention_days < settings.security_log_retention_days == 180
    assert purge_old_conversations(people, settings.retention_days)[0] == 1
    assert purge_security_logs(people, settings.security_log_retention_days) == 1
    assert [e.action for e in people.audit_log(user)] == ["view_profile"]  # 120 days old: kept
    with pytest.raises(ValueError, match="180"):
        purge_security_logs(people, 30)
    with pytest.raises(ValueError):
        Settings(security_log_retention_days=30)

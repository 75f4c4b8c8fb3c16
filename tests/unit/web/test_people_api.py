"""Personal data over HTTP: staff import history, a portal-logged-in citizen consents, gets personalised answers,
switches them off, exports and deletes their data; afterwards nothing in the database or the log mentions them.

Runs on SQLite, and on PostgreSQL too when ZHENGWU_TEST_DATABASE_URL (or ZHENGWU_DATABASE_URL) names one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from helpers import app_for, make_assistant
from helpers.databases import BACKENDS, scratch_pg_database

from zhengwu.db import Base, make_engine, upgrade
from zhengwu.personal import FieldCipher, PeopleStore, sign_user_token, verify_user_token
from zhengwu.pii import id_check_char, install_log_masking, mask_pii

SECRET = "portal-shared-secret"
ADMIN = {"Authorization": "Bearer staff-token"}
PORTAL_USER = "gz-portal-20481"
ID17 = "44010619850315201"
ID_NUMBER = ID17 + id_check_char(ID17)
MOBILE = "13912345678"
GUIDE_GD = "11440000006940140C2440106013004"  # 弩的运输审批, 广东省
GUIDE_GZ = "11440100007483172Q3440106013004"  # 弩的运输审批, 广州市
HISTORY_CSV = (
    "渠道,渠道用户ID,事项编码,事项名称,地区,办理状态,申请日期,提交材料,身份标签\n"
    f"web,portal:{PORTAL_USER},{GUIDE_GZ},弩的运输审批,广州市,已受理,2026-11-02,申请运输弩审批表,外来务工人员\n"
)


@pytest.fixture(params=BACKENDS)
def people(request, tmp_path) -> Iterator[PeopleStore]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'people.sqlite3'}")
        upgrade(engine)
        yield PeopleStore(engine, cipher=FieldCipher(b"k" * 32), mask=mask_pii)
        engine.dispose()
    else:
        with scratch_pg_database() as url:
            engine = make_engine(url)
            upgrade(engine)
            yield PeopleStore(engine, cipher=FieldCipher(b"k" * 32), mask=mask_pii)
            engine.dispose()


@pytest.fixture
def log_file(tmp_path) -> Iterator:
    """The service's log, written to a file as an operator would configure it, with PII masking installed."""
    path = tmp_path / "zhengwu.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    logger = logging.getLogger("zhengwu")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    install_log_masking()
    yield path
    logger.removeHandler(handler)
    logger.setLevel(old_level)
    handler.close()


@pytest.fixture
def client(people, fixture_settings, fixture_index) -> Iterator[TestClient]:
    settings = fixture_settings.model_copy(
        update={"rate_limit_per_minute": 0, "admin_token": "staff-token", "portal_secret": SECRET}
    )
    assistant = make_assistant(settings, fixture_index, people=people)
    with TestClient(app_for(settings, assistant)) as c:
        yield c


def token(user: str = PORTAL_USER) -> str:
    return sign_user_token(SECRET, user, ttl_seconds=600)


def import_history(client: TestClient) -> dict:
    response = client.post("/api/v1/admin/history?format=csv", content=HISTORY_CSV.encode(), headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


def ask(client: TestClient, question: str, **extra) -> dict:
    response = client.post("/api/v1/chat", json={"question": question, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def test_user_tokens_are_signed_and_expire():
    good = sign_user_token(SECRET, "u-1", ttl_seconds=60)
    assert verify_user_token(SECRET, good) == "u-1"
    assert verify_user_token("another-secret", good) is None
    assert verify_user_token(SECRET, good[:-1] + ("0" if good[-1] != "0" else "1")) is None
    assert verify_user_token(SECRET, sign_user_token(SECRET, "u-1", ttl_seconds=-1)) is None
    assert verify_user_token(SECRET, "garbage") is None


def test_history_import_needs_staff_and_reports_bad_rows(client):
    assert client.post("/api/v1/admin/history", content=HISTORY_CSV.encode()).status_code == 401
    bad = HISTORY_CSV + "web,portal:x,ABC,某事项,广州市,pending,2026-11-02,,\n"
    response = client.post("/api/v1/admin/history?format=csv", content=bad.encode(), headers=ADMIN)
    report = response.json()
    assert report["inserted"] == 1 and len(report["errors"]) == 1
    assert report["errors"][0]["line"] == 3 and report["errors"][0]["field"] == "status"
    again = client.post("/api/v1/admin/history?format=csv", content=HISTORY_CSV.encode(), headers=ADMIN).json()
    assert again["inserted"] == 0  # re-importing the same file adds nothing


def test_personalisation_only_with_consent_and_switchable_off(client):
    import_history(client)
    question = "我的弩的运输审批办到哪一步了？"
    before = ask(client, question, user_token=token())
    assert before["status"] == "clarify" and "已受理" not in before["text"]  # no consent yet

    consent = client.post("/api/v1/me/consent", json={"user_token": token(), "personalisation": True})
    assert consent.status_code == 200 and consent.json()["personalisation"]["granted"] is True

    mine = ask(client, question, user_token=token())
    assert mine["status"] == "answered" and "当前状态：已受理" in mine["text"] and mine["personal"] == ["status"]
    # The profile's region (广州市, from the imported history) picks Guangzhou's item of the same name.
    materials = ask(client, "弩的运输审批需要什么材料？", user_token=token())
    assert "region" in materials["personal"] and materials["citations"][0]["region"] == "广州市"

    plain = ask(client, "弩的运输审批需要什么材料？", user_token=token(), personalise=False)  # 不使用个性化
    assert plain["personal"] == []
    anonymous = ask(client, question)
    assert anonymous["status"] == "clarify" and "已受理" not in anonymous["text"]
    someone_else = ask(client, question, user_token=token("another-user"))
    assert "已受理" not in someone_else["text"]

    client.post("/api/v1/me/consent", json={"user_token": token(), "personalisation": False})
    withdrawn = ask(client, question, user_token=token())
    assert withdrawn["status"] == "clarify" and withdrawn["personal"] == []


def test_me_endpoints_refuse_bad_tokens(client):
    for path in ("/api/v1/me/consent", "/api/v1/me/export", "/api/v1/me/delete"):
        response = client.post(path, json={"user_token": "forged.123.abc"})
        assert response.status_code == 401 and "登录" in response.json()["message"]


def test_export_then_delete_leaves_no_trace_in_tables_or_log(client, people, log_file):
    import_history(client)
    client.post("/api/v1/me/consent", json={"user_token": token(), "personalisation": True, "reminders": True})
    ask(client, f"我的身份证号是{ID_NUMBER}，手机{MOBILE}，弩的运输审批办到哪一步了？", user_token=token())
    ask(client, "弩的运输审批需要什么材料？", user_token=token())
    logging.getLogger("zhengwu.test").warning("citizen wrote %s and %s", ID_NUMBER, MOBILE)

    exported = client.post("/api/v1/me/export", json={"user_token": token()})
    assert exported.status_code == 200
    data = exported.json()
    text = str(data)
    assert "弩的运输审批" in text and f"portal:{PORTAL_USER}" in text
    assert ID_NUMBER not in text and MOBILE not in text  # transcripts were stored masked

    user_id = people.user_for("web", f"portal:{PORTAL_USER}", create=False)
    deleted = client.post("/api/v1/me/delete", json={"user_token": token()})
    assert deleted.status_code == 200 and sum(deleted.json()["deleted"].values()) > 0

    with people.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            rows = connection.execute(sa.select(table)).fetchall()
            for row in rows:
                values = " ".join(str(v) for v in row)
                assert PORTAL_USER not in values, f"{table.name} still mentions the user"
                assert ID_NUMBER not in values and MOBILE not in values
                if "user_id" in table.c and table.name != "audit_logs":  # the audit keeps a bare number, no identity
                    assert row._mapping["user_id"] != user_id, f"{table.name} keeps a row of the deleted user"
    logged = log_file.read_text(encoding="utf-8")
    assert "citizen wrote" in logged
    assert PORTAL_USER not in logged and ID_NUMBER not in logged and MOBILE not in logged


def test_a_token_is_done_with_after_delete_or_logout(client, people):
    """Issue 15: after /me/delete the same token still worked and silently re-created an empty user."""
    erased = sign_user_token(SECRET, "erased-citizen", ttl_seconds=600)
    assert client.post("/api/v1/me/consent", json={"user_token": erased, "personalisation": True}).status_code == 200
    assert client.post("/api/v1/me/delete", json={"user_token": erased}).status_code == 200
    for path in ("/api/v1/me/consent", "/api/v1/me/export", "/api/v1/me/delete"):
        assert client.post(path, json={"user_token": erased}).status_code == 401, path
    ask(client, "弩的运输审批需要什么材料？", user_token=erased)  # still answered, anonymously
    assert people.user_for("web", "portal:erased-citizen", create=False) is None
    # A new login (a new token from the portal) is a new start.
    fresh = sign_user_token(SECRET, "erased-citizen", ttl_seconds=601)
    assert client.post("/api/v1/me/export", json={"user_token": fresh}).status_code == 200

    signed = sign_user_token(SECRET, "leaving-citizen", ttl_seconds=600)
    assert client.post("/api/v1/me/logout", json={"user_token": signed}).json()["message"] == "您已退出登录。"
    assert client.post("/api/v1/me/export", json={"user_token": signed}).status_code == 401

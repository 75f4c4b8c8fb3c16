"""Issue 15, failure 1: a conversation is continued only by whoever started it.

The attack: channel session ids were ``sha256("wecom\\0<userid>\\0<epoch>")[:32]`` and ``/api/v1/chat`` accepted any
hex id, so an outsider who knew a WeCom userid asked "电话呢？" in that user's conversation, got the item they
were asking about, and their turn showed up in the user's console conversation and PIPL export.
"""

from __future__ import annotations

import hashlib

import pytest
from fastapi.testclient import TestClient
from helpers import app_for, make_assistant

from zhengwu.channels.common import ChannelCore
from zhengwu.db import make_engine, upgrade
from zhengwu.personal import DbSessionStore, PeopleStore, sign_user_token
from zhengwu.pii import mask_pii

ITEM_QUESTION = "弩的运输审批在哪里办理？"
FOLLOW_UP = "电话呢？"
PORTAL_SECRET = "portal-secret-binding"


@pytest.fixture
def deployment(tmp_path, fixture_settings, fixture_index):
    engine = make_engine(f"sqlite:///{tmp_path / 'people.sqlite3'}")
    upgrade(engine)
    people = PeopleStore(engine, mask=mask_pii)
    settings = fixture_settings.model_copy(update={"rate_limit_per_minute": 0, "portal_secret": PORTAL_SECRET})
    assistant = make_assistant(settings, fixture_index, sessions=DbSessionStore(engine), people=people)
    core = ChannelCore(assistant, people)
    with TestClient(app_for(settings, assistant, people)) as client:
        yield core, people, client
    engine.dispose()


def chat(client: TestClient, session_id: str | None, question: str = FOLLOW_UP, **extra) -> dict:
    response = client.post("/api/v1/chat", json={"question": question, "session_id": session_id, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def test_channel_session_ids_cannot_be_computed_from_the_user_id(deployment):
    core, _people, _client = deployment
    derived = hashlib.sha256(b"wecom\x00ZhangSan\x000").hexdigest()[:32]  # the old, public derivation
    assert core.session_id("wecom", "ZhangSan") != derived
    # Stable for the user (every worker derives the same id from the deployment's key) and distinct per user.
    assert core.session_id("wecom", "ZhangSan") == ChannelCore(core.assistant, core.people).session_id("wecom", "ZhangSan")
    assert core.session_id("wecom", "ZhangSan") != core.session_id("wecom", "LiSi")


def test_the_web_api_never_continues_a_channel_users_conversation(deployment):
    core, people, client = deployment
    assert "弩" in core.handle_text("wecom", "ZhangSan", ITEM_QUESTION).text
    victim_session = core.session_id("wecom", "ZhangSan")
    victim = people.user_for("wecom", "ZhangSan", create=False)
    before = [t.question for t in people.turns(user_id=victim)]

    # Even an outsider who somehow holds the real session id gets a conversation of their own.
    stolen = chat(client, victim_session)
    assert "弩" not in stolen["text"]
    assert stolen["session_id"] != victim_session
    assert [t.question for t in people.turns(user_id=victim)] == before
    assert [t.question for t in people.turns(session_id=victim_session)] == before
    # And the user's own follow-up still works.
    assert "弩" in core.handle_text("wecom", "ZhangSan", FOLLOW_UP).text


def test_an_id_the_service_never_issued_is_not_adopted(deployment):
    _core, _people, client = deployment
    chosen = "0123456789abcdef0123456789abcdef"
    assert chat(client, chosen, ITEM_QUESTION)["session_id"] != chosen


def test_a_web_session_continues_for_its_own_asker_only(deployment):
    _core, _people, client = deployment
    first = chat(client, None, ITEM_QUESTION)
    assert "弩" in chat(client, first["session_id"])["text"]  # the web API continues what it issued

    token = sign_user_token(PORTAL_SECRET, "citizen-001")
    signed = chat(client, None, ITEM_QUESTION, user_token=token)
    # The signed-in citizen's conversation is not continued by an anonymous request holding its id...
    anonymous = chat(client, signed["session_id"])
    assert "弩" not in anonymous["text"] and anonymous["session_id"] != signed["session_id"]
    # ...nor by another citizen's token; it is by the citizen's own.
    other = chat(client, signed["session_id"], user_token=sign_user_token(PORTAL_SECRET, "citizen-002"))
    assert other["session_id"] != signed["session_id"]
    own = chat(client, signed["session_id"], user_token=token)
    assert own["session_id"] == signed["session_id"] and "弩" in own["text"]


def test_the_stream_and_feedback_refuse_a_channel_session(deployment):
    core, people, client = deployment
    core.handle_text("wecom", "WangWu", ITEM_QUESTION)
    victim_session = core.session_id("wecom", "WangWu")
    with client.stream("POST", "/api/v1/chat/stream", json={"question": FOLLOW_UP, "session_id": victim_session}) as r:
        body = "".join(r.iter_text())
    assert "弩" not in body
    turn = people.turns(session_id=victim_session, limit=1)[0]
    rated = client.post("/api/v1/feedback", json={"turn_id": turn.id, "value": -1, "session_id": victim_session})
    assert rated.status_code == 403


def test_a_turn_is_one_commit_session_and_transcript_together(deployment):
    """Issue 15 (load): the session and the transcript row of an answer are written in one transaction."""
    import sqlalchemy as sa

    core, people, client = deployment
    assert core.assistant.turn_sessions is core.assistant.sessions
    commits: list[int] = []

    def count(_connection) -> None:
        commits.append(1)

    sa.event.listen(people.engine, "commit", count)
    try:
        first = chat(client, None, ITEM_QUESTION)
        assert len(commits) == 1
        follow = chat(client, first["session_id"])  # and the session it wrote is the one the follow-up reads
        assert "弩" in follow["text"] and len(commits) == 2
    finally:
        sa.event.remove(people.engine, "commit", count)

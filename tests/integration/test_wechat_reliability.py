"""WeChat's callbacks and 客服消息 when things go wrong, over real HTTP on 127.0.0.1: a captured signature
replayed with another body, a worker that dies (or hangs) after replying ``success``, access tokens shared by
workers, and WeChat's limits on 客服消息 (five per user message, errcodes 45015/45047).

The service runs under uvicorn as in production, the fake WeChat API (``helpers.wechat``) issues stable
tokens and records what it is sent; each test has a database of its own, so the owed answers it finds are
its own.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from helpers import app_for, serving
from helpers.databases import BACKENDS, TEST_REDIS_URL, migrated_engine, redis_or_skip
from helpers.wechat import (
    GH,
    PHONE,
    PHONE_Q,
    PHONE_SOURCE,
    VERY_LONG_LINES,
    VERY_LONG_Q,
    FakeWeChatAPI,
    Platform,
    ScriptedAssistant,
    channel_people,
    check_text_reply,
    fake_wechat_api,
    new_aes_key,
    new_openid,
)

from zhengwu.channels.common import ChannelCore
from zhengwu.channels.delivery import Courier, recipient_ref
from zhengwu.channels.pending import PendingReplies
from zhengwu.channels.tokens import REDIS_PREFIX, SharedTokens
from zhengwu.channels.wechat import wechat_router
from zhengwu.channels.wechat_api import OfficialAccountAPI, WeComAPI
from zhengwu.db.models import PendingReply
from zhengwu.personal import PeopleStore

TOKEN = "reliable-token"
OTHER_Q = "弩的运输审批需要什么材料？"
REDIS_URL = TEST_REDIS_URL
ROWS = PendingReply.__table__


def app_id() -> str:
    return "wx" + secrets.token_hex(8)


@pytest.fixture(scope="module")
def fake_api() -> Iterator[FakeWeChatAPI]:
    with fake_wechat_api() as fake:
        yield fake


@pytest.fixture
def people(tmp_path) -> Iterator[PeopleStore]:
    with channel_people(tmp_path) as store:
        yield store


def settings_for(fixture_settings, fake_api, appid: str, **update):
    return fixture_settings.model_copy(update={
        "rate_limit_per_minute": 0, "wechat_api_base": fake_api.url, "wechat_app_secret": "app-secret",
        "wechat_token": TOKEN, "wechat_app_id": appid, **update})


@contextmanager
def worker(settings, index, people, *, delay: float = 0.0, gate: threading.Event | None = None) -> Iterator[str]:
    """One worker of the deployment (its own app and assistant) on the shared database: its base URL."""
    assistant = ScriptedAssistant(settings, index=index, people=people)
    assistant.delay, assistant.gate = delay, gate
    with serving(app_for(settings, assistant, people)) as url:
        yield url


def owed_rows(engine: sa.Engine) -> list:
    with engine.connect() as connection:
        return connection.execute(sa.select(ROWS).order_by(ROWS.c.id)).all()


def expire(engine: sa.Engine, *ids: int) -> None:
    """Two minutes later: the claims of these rows' workers have run out (they died, or hang)."""
    with engine.begin() as connection:
        connection.execute(sa.update(ROWS).where(ROWS.c.id.in_(ids)).values(claimed_until=time.time() - 1))


def wait_until(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def contents(entries: list[dict]) -> list[str]:
    return [e["body"]["text"]["content"] for e in entries]


# -- 1. one use per signature -------------------------------------------------------------------------------------


def test_a_captured_plaintext_signature_cannot_carry_another_message(fixture_settings, fixture_index, fake_api,
                                                                     people):
    appid = app_id()
    with worker(settings_for(fixture_settings, fake_api, appid), fixture_index, people) as url:
        platform = Platform(url, TOKEN, mode="plain", receive_id=appid)
        user, victim = new_openid(), new_openid()
        timestamp, nonce = int(time.time()), str(secrets.randbelow(10**9))
        original = platform.message(user, content=PHONE_Q)
        with ThreadPoolExecutor(3) as pool:  # the request and WeChat's retries of it, racing
            replies = list(pool.map(lambda _: platform.open(platform.post(original, user, timestamp=timestamp,
                                                                          nonce=nonce)), range(3)))
        answered = [r for r in replies if r.fields is not None]
        assert len(answered) == 1 and PHONE in check_text_reply(answered[0], user, GH)
        assert sorted(r.body for r in replies if r.fields is None) == ["success", "success"]
        # Someone who saw the query string posts messages of their own under it: refused, never answered.
        for forged in (platform.message(user, content=OTHER_Q), platform.message(victim, content=PHONE_Q),
                       platform.message(user, "event", Event="subscribe")):
            response = platform.post(forged, user, timestamp=timestamp, nonce=nonce)
            assert response.status_code == 403 and response.text == "forbidden"
        # WeChat's retry after the answer went out is still just "success"
        assert platform.open(platform.post(original, user, timestamp=timestamp, nonce=nonce)).body == "success"
        # and a new message with a new signature is answered as usual
        assert PHONE in check_text_reply(platform.say(victim, PHONE_Q), victim, GH)
    time.sleep(0.2)
    assert fake_api.sent_to(user) == [] and fake_api.sent_to(victim) == []


def test_safe_mode_takes_each_signature_once_too(fixture_settings, fixture_index, fake_api, people):
    appid, key = app_id(), new_aes_key()
    settings = settings_for(fixture_settings, fake_api, appid, wechat_aes_key=key)
    with worker(settings, fixture_index, people) as url:
        platform = Platform(url, TOKEN, mode="aes", aes_key=key, receive_id=appid)
        user = new_openid()
        timestamp, nonce = int(time.time()), str(secrets.randbelow(10**9))
        xml = platform.message(user, content=PHONE_Q)
        first = platform.post(xml, user, timestamp=timestamp, nonce=nonce)
        assert PHONE in check_text_reply(platform.open(first), user, GH)
        # the identical request again (WeChat's retry): success; re-encrypted, its msg_signature is new
        # and the message de-duplication answers it
        assert platform.open(platform.post(xml, user, timestamp=timestamp, nonce=nonce)).body == "success"


# -- 3. owed answers outlive their worker -----------------------------------------------------------------------------


def test_answers_a_dead_worker_owed_are_delivered_by_a_fresh_worker(fixture_settings, fixture_index, fake_api,
                                                                    people):
    appid = app_id()
    store = PendingReplies(people.engine)
    asker, reader, someone = new_openid(), new_openid(), new_openid()
    question = store.add("wechat", asker, {"account": appid, "question": PHONE_Q})  # died while answering
    pieces = store.add("wechat", reader, {"account": appid, "pieces": ["第二段：材料清单。", "第三段：办理地点。"]})
    foreign = store.add("wechat", someone, {"account": "wx-another-account", "pieces": ["不是本账号的"]})
    alive = store.add("wechat", someone, {"account": appid, "pieces": ["仍在发送中"]})  # its worker is alive
    expire(people.engine, question.id, pieces.id, foreign.id)
    with worker(settings_for(fixture_settings, fake_api, appid), fixture_index, people):  # the restart
        [answer] = fake_api.wait_sent(asker, 1)
        assert PHONE in answer["body"]["text"]["content"] and PHONE_SOURCE in answer["body"]["text"]["content"]
        assert contents(fake_api.wait_sent(reader, 2)) == ["第二段：材料清单。", "第三段：办理地点。"]
        assert wait_until(lambda: {r.id for r in owed_rows(people.engine)} == {foreign.id, alive.id})
    assert fake_api.sent_to(someone) == []  # another account's row, and a row still claimed, are left alone


def test_a_hung_workers_answer_is_taken_over_and_never_sent_twice(fixture_settings, fixture_index, fake_api,
                                                                  people, caplog):
    caplog.set_level(logging.INFO, logger="zhengwu")
    appid = app_id()
    settings = settings_for(fixture_settings, fake_api, appid, wechat_reply_seconds=0.3)
    gate = threading.Event()
    try:
        with worker(settings, fixture_index, people, gate=gate) as url:
            platform = Platform(url, TOKEN, mode="plain", receive_id=appid)
            user = new_openid()
            assert platform.open(platform.post(platform.message(user, content=PHONE_Q), user)).body == "success"
            [row] = owed_rows(people.engine)  # recorded before the "success" went out
            assert row.recipient == user and row.claimed_until > time.time()
            assert json.loads(row.payload) == {"account": appid, "question": PHONE_Q}
            expire(people.engine, row.id)
            with worker(settings, fixture_index, people):  # another worker starts and takes the row over
                [sent] = fake_api.wait_sent(user, 1)
                assert PHONE in sent["body"]["text"]["content"]
                assert wait_until(lambda: owed_rows(people.engine) == [])
            gate.set()  # the hung worker finishes its answer at last: it has lost the row, so it sends nothing
            assert wait_until(lambda: "another worker took over" in caplog.text)
            time.sleep(0.3)
            assert len(fake_api.sent_to(user)) == 1
    finally:
        gate.set()
    assert user not in caplog.text


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_workers_sweeping_at_once_send_each_owed_answer_once(backend, tmp_path, fake_api):
    appid = app_id()
    with migrated_engine(backend, tmp_path, "sweep.sqlite3") as engine:
        store = PendingReplies(engine)
        users = [new_openid() for _ in range(8)]
        rows = [store.add("wechat", u, {"account": appid, "pieces": [f"答复{n}"]}) for n, u in enumerate(users)]
        expire(engine, *(r.id for r in rows))
        couriers = [Courier("wechat", appid, OfficialAccountAPI(fake_api.url, appid, "s").send_text,
                            lambda: engine) for _ in range(2)]
        barrier = threading.Barrier(2)

        def sweep(courier: Courier) -> int:
            barrier.wait()
            return courier.sweep(lambda user, question: ["unused"])

        with ThreadPoolExecutor(2) as pool:
            taken = list(pool.map(sweep, couriers))
        assert sum(taken) == len(users)
        assert [contents(fake_api.sent_to(u)) for u in users] == [[f"答复{n}"] for n in range(len(users))]
        assert owed_rows(engine) == []


# -- 5. WeChat's limits on 客服消息 ------------------------------------------------------------------------------------


def test_a_very_long_answer_fits_five_messages_with_its_sources_last(fixture_settings, fixture_index, fake_api,
                                                                     people):
    appid = app_id()
    fast = settings_for(fixture_settings, fake_api, appid)
    slow = settings_for(fixture_settings, fake_api, appid, wechat_reply_seconds=0.3)
    for settings, delay in ((fast, 0.0), (slow, 0.6)):
        with worker(settings, fixture_index, people, delay=delay) as url:
            platform = Platform(url, TOKEN, mode="plain", receive_id=appid)
            user = new_openid()
            reply = platform.open(platform.post(platform.message(user, content=VERY_LONG_Q), user))
            passive = [check_text_reply(reply, user, GH)] if reply.fields is not None else []
            assert bool(passive) == (delay == 0.0)
            fake_api.wait_sent(user, 5 - len(passive))
            assert wait_until(lambda: owed_rows(people.engine) == [])
            time.sleep(0.3)
            messages = passive + contents(fake_api.sent_to(user))
        assert len(messages) == 5  # the whole answer would take 12: five is all WeChat accepts
        assert all(len(m.encode("utf-8")) <= 2048 for m in messages)
        assert messages[0].startswith("第1款") and "其余部分请查看来源链接" in messages[-2] + messages[-1]
        assert "参考来源" in messages[-1] and PHONE_SOURCE in messages[-1]
        whole = "\n".join(messages)
        assert VERY_LONG_LINES[0] in whole and VERY_LONG_LINES[-1] not in whole


def test_out_of_window_and_over_quota_refusals_drop_the_owed_answer_with_a_masked_log(
        fixture_settings, fixture_index, fake_api, people, caplog):
    caplog.set_level(logging.INFO, logger="zhengwu")
    appid = app_id()
    slow = settings_for(fixture_settings, fake_api, appid, wechat_reply_seconds=0.3)
    late = new_openid()
    with worker(slow, fixture_index, people, delay=0.6) as url:
        platform = Platform(url, TOKEN, mode="plain", receive_id=appid)
        fake_api.fail_with[:] = [45015]  # the user's 48 hours are over
        assert platform.open(platform.post(platform.message(late, content=PHONE_Q), late)).body == "success"
        assert wait_until(lambda: any(e["body"]["touser"] == late for e in fake_api.rejected))
        assert wait_until(lambda: owed_rows(people.engine) == [])
    fast = settings_for(fixture_settings, fake_api, appid)
    chatty = new_openid()
    with worker(fast, fixture_index, people) as url:
        platform = Platform(url, TOKEN, mode="plain", receive_id=appid)
        fake_api.fail_with[:] = [0, 45047]  # the second 客服消息 is one too many
        check_text_reply(platform.open(platform.post(platform.message(chatty, content=VERY_LONG_Q), chatty)),
                         chatty, GH)
        assert wait_until(lambda: any(e["body"]["touser"] == chatty for e in fake_api.rejected))
        assert wait_until(lambda: owed_rows(people.engine) == [])
        time.sleep(0.3)
    assert fake_api.sent_to(late) == [] and len(fake_api.sent_to(chatty)) == 1
    assert [e["body"]["touser"] for e in fake_api.rejected].count(chatty) == 1  # not retried
    assert "45015" in caplog.text and "45047" in caplog.text and "dropped" in caplog.text
    assert recipient_ref(late) in caplog.text and recipient_ref(chatty) in caplog.text
    assert late not in caplog.text and chatty not in caplog.text


def test_a_failed_piece_is_retried_later_without_repeating_those_sent(fixture_settings, fixture_index, fake_api,
                                                                      people):
    appid = app_id()
    settings = settings_for(fixture_settings, fake_api, appid)
    core = ChannelCore(ScriptedAssistant(settings, index=fixture_index, people=people), people)
    responder = wechat_router(settings, lambda: core).responder
    responder.courier.retry_base = 0.0  # retry at the next sweep instead of in 30 s
    user = new_openid()
    pieces = ["第一段", "第二段", "第三段"]
    fake_api.fail_with[:] = [0, -1]  # the second piece meets "system busy"
    responder.courier.deliver(user, pieces, responder.courier.owe(user, {"pieces": pieces}))
    assert contents(fake_api.sent_to(user)) == ["第一段"]
    [row] = owed_rows(people.engine)
    assert json.loads(row.payload)["pieces"] == ["第二段", "第三段"] and row.attempts == 1
    assert responder.sweep() == 1
    assert contents(fake_api.sent_to(user)) == pieces and owed_rows(people.engine) == []


# -- 4. one access token for all workers ------------------------------------------------------------------------------


@pytest.fixture(params=["database", "redis"])
def shared_tokens(request, people, tmp_path):
    """A factory of per-worker ``SharedTokens`` over one store."""
    if request.param == "database":
        settings = {"data_dir": tmp_path}
        yield lambda: SharedTokens(type("S", (), settings)(), lambda: people.engine)
        return
    client = redis_or_skip(REDIS_URL)
    yield lambda: SharedTokens(type("S", (), {"redis_url": REDIS_URL})())
    for key in client.scan_iter(match=REDIS_PREFIX + "*"):
        client.delete(key)
    client.close()


def test_workers_share_one_stable_token_and_its_refresh(fake_api, shared_tokens):
    appid, user = app_id(), new_openid()
    a, b = (OfficialAccountAPI(fake_api.url, appid, "app-secret", shared=shared_tokens()) for _ in range(2))
    a.send_text(user, "一")
    b.send_text(user, "二")
    assert a.token_fetches + b.token_fetches == 1
    requests = fake_api.tokens_for("appid", appid)
    assert [r["kind"] for r in requests] == ["stable"] and requests[0]["force_refresh"] is False
    # the token stops working: the first worker to hit it fetches a new one, the other adopts that one
    with fake_api.lock:
        fake_api.valid_tokens.clear()
    a.send_text(user, "三")
    b.send_text(user, "四")
    assert (a.token_fetches, b.token_fetches) == (2, 0)
    tokens = [e["access_token"] for e in fake_api.sent_to(user)]
    assert tokens[0] == tokens[1] != tokens[2] == tokens[3] and contents(fake_api.sent_to(user)) == [
        "一", "二", "三", "四"]
    # a shared token within five minutes of its end is renewed ahead of time, not used to the last second
    shared = shared_tokens()
    shared.put(f"token:wechat:{appid}", "almost-expired", time.time() + 120)
    late = OfficialAccountAPI(fake_api.url, appid, "app-secret", shared=shared)
    assert late.access_token() != "almost-expired" and late.token_fetches == 1
    assert shared_tokens().get(f"token:wechat:{appid}")[0] == late.access_token()
    for api in (a, b, late):
        api.close()


def test_wecom_workers_share_one_token(fake_api, shared_tokens):
    secret, user = "corp-" + secrets.token_hex(4), "Li.Si-" + secrets.token_hex(3)
    a, b = (WeComAPI(fake_api.url, "ww" + secret, secret, 1000002, shared=shared_tokens()) for _ in range(2))
    a.send_text(user, "一")
    b.send_text(user, "二")
    assert len(fake_api.tokens_for("corpsecret", secret)) == 1
    assert len({e["access_token"] for e in fake_api.sent_to(user)}) == 1


def test_an_owed_question_is_stored_masked(people):
    store = PendingReplies(people.engine)
    question = "我身份证440106 19850202 0012，手机138-1234-5678，电话呢"
    owed = store.add("wechat", new_openid(), {"account": "wx-mask", "question": question})
    try:
        [row] = [r for r in owed_rows(people.engine) if r.id == owed.id]
        assert "19850202" not in row.payload and "138-****-5678" in row.payload
    finally:
        store.finish(owed)

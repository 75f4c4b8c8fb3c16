"""The WeCom (企业微信) application callback end to end, over real HTTP on 127.0.0.1: always encrypted, echostr
decrypted on URL verification, the CorpID checked in every message, late answers via message/send with the
agentid. The fake API server, the platform simulator and the scripted assistant come from helpers.wechat."""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from helpers import app_for, serving
from helpers.wechat import (
    LAUGHS,
    PHONE,
    PHONE_Q,
    PHONE_SOURCE,
    XXE,
    FakeWeChatAPI,
    Platform,
    ScriptedAssistant,
    channel_people,
    check_text_reply,
    fake_wechat_api,
    new_aes_key,
)

from zhengwu.answering import wording
from zhengwu.answering.wording import NON_TEXT
from zhengwu.personal import PeopleStore

WELCOME = wording.say(wording.WELCOME, "12345")

CORP_ID = "ww1436e0e65a779aee"
AGENT_ID = 1000002


def userid() -> str:
    return "Zhang.San-" + secrets.token_hex(4)


@pytest.fixture(scope="module")
def fake_api() -> Iterator[FakeWeChatAPI]:
    with fake_wechat_api() as fake:
        yield fake


@pytest.fixture(scope="module")
def people(tmp_path_factory) -> Iterator[PeopleStore]:
    with channel_people(tmp_path_factory.mktemp("wecom-people")) as store:
        yield store


def wecom_settings(fixture_settings, fake_api, token: str, key: str, **update):
    return fixture_settings.model_copy(update={
        "rate_limit_per_minute": 0, "wecom_api_base": fake_api.url, "wecom_corp_id": CORP_ID,
        "wecom_agent_id": AGENT_ID, "wecom_secret": "corp-secret", "wecom_token": token, "wecom_aes_key": key,
        **update})


def platform(url: str, token: str, key: str) -> Platform:
    return Platform(url, token, mode="wecom", aes_key=key, receive_id=CORP_ID, account=CORP_ID, path="/wecom",
                    agent_id=str(AGENT_ID))


@pytest.fixture(scope="module")
def wecom(fixture_settings, fixture_index, fake_api, people) -> Iterator[tuple[Platform, Platform]]:
    """Two workers of one deployment sharing the database."""
    key = new_aes_key()
    settings = wecom_settings(fixture_settings, fake_api, "wecom-token", key)
    assistant = ScriptedAssistant(settings, index=fixture_index, people=people)
    with serving(app_for(settings, assistant)) as a, serving(app_for(settings, assistant)) as b:
        yield platform(a, "wecom-token", key), platform(b, "wecom-token", key)


@pytest.fixture(scope="module")
def slow(fixture_settings, fixture_index, fake_api, people) -> Iterator[Platform]:
    key = new_aes_key()
    settings = wecom_settings(fixture_settings, fake_api, "slow-token", key, wechat_reply_seconds=0.3,
                              wecom_secret="slow-corp-secret")
    assistant = ScriptedAssistant(settings, index=fixture_index, people=people)
    assistant.delay = 1.0
    with serving(app_for(settings, assistant)) as url:
        yield platform(url, "slow-token", key)


def test_url_verification_decrypts_echostr(wecom):
    site = wecom[0]
    now, nonce = str(int(time.time())), "263014780"
    echostr = site.encrypt("1616140317555161061")
    good = {"msg_signature": site.sign(site.token, now, nonce, echostr), "timestamp": now, "nonce": nonce,
            "echostr": echostr}
    response = site.http.get("/wecom", params=good)
    assert response.status_code == 200 and response.text == "1616140317555161061"
    assert site.http.get("/wecom", params={**good, "msg_signature": "0" * 40}).status_code == 403
    assert site.http.get("/wecom", params={**good, "nonce": "1"}).status_code == 403
    other = site.encrypt("1616140317555161061", receive_id="wwotherotherother1")
    response = site.http.get("/wecom", params={**good, "echostr": other,
                                               "msg_signature": site.sign(site.token, now, nonce, other)})
    assert response.status_code == 403  # encrypted for another corporation
    stale = str(int(time.time()) - 3600)
    response = site.http.get("/wecom", params={**good, "timestamp": stale,
                                               "msg_signature": site.sign(site.token, stale, nonce, echostr)})
    assert response.status_code == 403
    # the OpenAPI schema does not advertise the callback
    assert "/wecom" not in site.http.get("/openapi.json").json()["paths"]


def test_question_gets_an_encrypted_passive_answer_with_the_citation(wecom, fake_api):
    user = userid()
    content = check_text_reply(wecom[0].say(user, PHONE_Q), user, CORP_ID)
    assert PHONE in content and "参考来源" in content and PHONE_SOURCE in content
    time.sleep(0.1)
    assert fake_api.sent_to(user) == []


def test_subscribe_non_text_and_consent(wecom, people):
    site = wecom[0]
    user = userid()
    welcome = site.open(site.post(site.message(user, "event", Event="subscribe"), user))
    assert check_text_reply(welcome, user, CORP_ID) == WELCOME
    assert site.open(site.post(site.message(user, "event", Event="enter_agent"), user)).body == "success"
    for msg_type, extra in (("image", {"PicUrl": "http://p.qpic.cn/x", "MediaId": "m"}), ("file", {"MediaId": "m"}),
                            ("location", {"Label": "广州市天河区"})):
        reply = site.open(site.post(site.message(user, msg_type, **extra), user))
        assert check_text_reply(reply, user, CORP_ID) == NON_TEXT
    assert "已开启个性化" in check_text_reply(site.say(user, "开启个性化"), user, CORP_ID)
    user_id = people.user_for("wecom", user, create=False)
    assert user_id is not None and people.has_consent(user_id, "personalisation")
    assert people.user_for("wechat", user, create=False) is None  # channels keep their own identities


def test_duplicates_are_answered_once_across_workers(wecom, fake_api):
    user = userid()
    xml = wecom[0].message(user, content=PHONE_Q)
    barrier = threading.Barrier(4)

    def deliver(site: Platform):
        barrier.wait()
        return site.open(site.post(xml, user))

    with ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(deliver, [*wecom, *wecom]))
    assert sorted(r.body == "success" for r in replies) == [False, True, True, True]
    answered = [r for r in replies if r.fields is not None]
    assert len(answered) == 1 and PHONE in answered[0].fields["Content"]
    time.sleep(0.2)
    assert fake_api.sent_to(user) == []


def test_refusals(wecom, fake_api):
    site = wecom[0]
    user = userid()
    ok = site.message(user, content=PHONE_Q)
    assert site.post(ok, user, forge=True).status_code == 403
    assert site.post(ok, user, receive_id="wwotherotherother1").status_code == 403  # CorpID check in the buffer
    assert site.post(ok, user, timestamp=int(time.time()) - 3600).status_code == 403
    other_agent = ok.replace(f"<AgentID>{AGENT_ID}</AgentID>", "<AgentID>1000003</AgentID>")
    assert site.post(other_agent, user).status_code == 403  # a message for another application
    foreign = site.http.post("/wecom", params={"msg_signature": "0" * 40, "timestamp": "1", "nonce": "1"},
                             content=b"<xml><ToUserName>wwsomebodyelse</ToUserName><Encrypt>x</Encrypt></xml>")
    assert foreign.status_code == 403
    for hostile in (XXE, LAUGHS):  # signed and encrypted, hostile inside
        assert site.post(hostile, user).status_code == 400
    for raw in (XXE.encode(), b"<xml><Encrypt>", b"", b"\xff\xfe"):  # the envelope itself
        assert site.post(ok, user, raw_body=raw).status_code == 400
    assert site.post(site.message("bad user/..", content="x"), user).status_code == 400
    content = check_text_reply(site.say(user, PHONE_Q), user, CORP_ID)  # still fine
    assert PHONE in content
    time.sleep(0.1)
    assert fake_api.sent_to(user) == []


def test_a_slow_answer_goes_by_message_send_with_the_agentid_once(slow, fake_api, caplog):
    caplog.set_level(logging.INFO, logger="zhengwu")
    user = userid()
    xml = slow.message(user, content=PHONE_Q)
    started = time.monotonic()
    assert slow.open(slow.post(xml, user)).body == "success"
    assert time.monotonic() - started < 1.0
    assert slow.open(slow.post(xml, user)).body == "success"  # the platform's retry
    assert slow.open(slow.post(slow.message(user, content=PHONE_Q + "谢谢"), user)).body == "success"
    fake_api.wait_sent(user, 2)
    time.sleep(1.2)
    sent = fake_api.sent_to(user)
    assert len(sent) == 2, sent
    for entry in sent:
        body = entry["body"]
        assert entry["path"] == "message/send" and body["touser"] == user and body["msgtype"] == "text"
        assert body["agentid"] == AGENT_ID and PHONE in body["text"]["content"]
    tokens = fake_api.tokens_for("corpsecret", "slow-corp-secret")
    assert len(tokens) == 1 and tokens[0]["corpid"] == CORP_ID
    assert len({e["access_token"] for e in sent}) == 1
    assert user not in caplog.text and PHONE_Q not in caplog.text
    assert hashlib.sha256(user.encode()).hexdigest() not in caplog.text

"""The WeChat Official Account adapter end to end, over real HTTP on 127.0.0.1.

The service runs under uvicorn as in production; a fake WeChat API server (uvicorn too) issues access tokens and
records 客服消息; and ``Platform`` plays the WeChat server: it signs and encrypts callbacks and opens replies,
written from the protocol description rather than from ``zhengwu.channels.wxcrypto``, so the two check each
other. Only the assistant is scripted where a test needs it slow or long-winded.

``FakeWeChatAPI``, ``Platform`` and ``ScriptedAssistant`` are shared with test_wecom.py.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from helpers import app_for, serving
from helpers.wechat import (
    GH,
    LAUGHS,
    LONG_LINES,
    LONG_Q,
    PHONE,
    PHONE_Q,
    PHONE_SOURCE,
    XXE,
    FakeWeChatAPI,
    Platform,
    Reply,
    ScriptedAssistant,
    channel_people,
    check_text_reply,
    fake_wechat_api,
    new_aes_key,
    new_openid,
)

from zhengwu.answering import wording
from zhengwu.answering.wording import NON_TEXT
from zhengwu.channels.wechat_api import OfficialAccountAPI, WeChatAPIError
from zhengwu.personal import PeopleStore

WELCOME = wording.say(wording.WELCOME, "12345")

OTHER_Q = "弩的运输审批需要什么材料？"
PUBLIC_URL = "https://zwzs.example.gov.cn"
PLAIN_APPID, SAFE_APPID, SLOW_APPID = "wx00000000000plain", "wx000000000000safe", "wx000000000000slow"


# -- running apps -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fake_api() -> Iterator[FakeWeChatAPI]:
    with fake_wechat_api() as fake:
        yield fake


@pytest.fixture(scope="module")
def people(tmp_path_factory) -> Iterator[PeopleStore]:
    with channel_people(tmp_path_factory.mktemp("wx-people")) as store:
        yield store


# -- the platform side --------------------------------------------------------------------------------------------


# -- deployments --------------------------------------------------------------------------------------------------


def wechat_settings(fixture_settings, fake_api, **update):
    return fixture_settings.model_copy(update={
        "rate_limit_per_minute": 0, "wechat_api_base": fake_api.url, "wechat_app_secret": "app-secret", **update})


@pytest.fixture(scope="module")
def plain(fixture_settings, fixture_index, fake_api, people) -> Iterator[tuple[Platform, Platform]]:
    """Two workers of one 明文模式 deployment, sharing the database (and so the de-duplication)."""
    settings = wechat_settings(fixture_settings, fake_api, wechat_token="plain-token", wechat_app_id=PLAIN_APPID)
    assistant = ScriptedAssistant(settings, index=fixture_index, people=people)
    with serving(app_for(settings, assistant)) as a, serving(app_for(settings, assistant)) as b:
        yield (Platform(a, "plain-token", mode="plain", receive_id=PLAIN_APPID),
               Platform(b, "plain-token", mode="plain", receive_id=PLAIN_APPID))


@pytest.fixture(scope="module")
def safe(fixture_settings, fixture_index, fake_api, people) -> Iterator[Platform]:
    """安全模式, with short links to the cited sources."""
    key = new_aes_key()
    settings = wechat_settings(fixture_settings, fake_api, wechat_token="safe-token", wechat_app_id=SAFE_APPID,
                               wechat_aes_key=key, public_url=PUBLIC_URL)
    assistant = ScriptedAssistant(settings, index=fixture_index, people=people)
    with serving(app_for(settings, assistant)) as url:
        yield Platform(url, "safe-token", mode="aes", aes_key=key, receive_id=SAFE_APPID)


@pytest.fixture(scope="module")
def slow(fixture_settings, fixture_index, fake_api, people) -> Iterator[Platform]:
    """安全模式 with an assistant slower than the (shortened) passive-reply deadline."""
    key = new_aes_key()
    settings = wechat_settings(fixture_settings, fake_api, wechat_token="slow-token", wechat_app_id=SLOW_APPID,
                               wechat_aes_key=key, wechat_reply_seconds=0.3)
    assistant = ScriptedAssistant(settings, index=fixture_index, people=people)
    assistant.delay = 1.0
    with serving(app_for(settings, assistant)) as url:
        yield Platform(url, "slow-token", mode="aes", aes_key=key, receive_id=SLOW_APPID)


# -- URL verification -----------------------------------------------------------------------------------------------


def test_url_verification(plain, safe):
    for platform in (plain[0], safe):
        now, nonce = str(int(time.time())), "1320562132"
        good = {"signature": platform.sign(platform.token, now, nonce), "timestamp": now, "nonce": nonce,
                "echostr": "6054768590064713728"}
        response = platform.http.get("/wechat", params=good)
        assert response.status_code == 200 and response.text == "6054768590064713728"
        assert response.headers["content-type"].startswith("text/plain")
        for bad in ({**good, "signature": "0" * 40}, {**good, "nonce": "1"}, {k: v for k, v in good.items()
                                                                              if k != "signature"}):
            response = platform.http.get("/wechat", params=bad)
            assert response.status_code == 403 and response.text == "forbidden"
        stale = str(int(time.time()) - 3600)
        response = platform.http.get("/wechat", params={**good, "timestamp": stale,
                                                        "signature": platform.sign(platform.token, stale, nonce)})
        assert response.status_code == 403


# -- questions and answers ------------------------------------------------------------------------------------------


def test_plaintext_mode_answers_passively_with_the_citation(plain, fake_api):
    user = new_openid()
    content = check_text_reply(plain[0].say(user, PHONE_Q), user, GH)
    assert PHONE in content and "参考来源" in content and PHONE_SOURCE in content
    assert fake_api.sent_to(user) == []  # nothing went the slow way


def test_safe_mode_answers_encrypted_with_short_links(safe, fake_api):
    user = new_openid()
    content = check_text_reply(safe.say(user, PHONE_Q), user, GH)
    assert PHONE in content and "参考来源" in content
    assert PHONE_SOURCE not in content
    code = hashlib.sha1(PHONE_SOURCE.encode()).hexdigest()[:8]
    assert f"{PUBLIC_URL}/s/{code}" in content
    redirect = safe.http.get(f"/s/{code}", follow_redirects=False)
    assert redirect.status_code == 302 and redirect.headers["location"] == PHONE_SOURCE
    for unknown in ("00000000", "not-hex!", "ABCDEF12", "0" * 9):
        assert safe.http.get(f"/s/{unknown}", follow_redirects=False).status_code == 404
    assert fake_api.sent_to(user) == []


def test_long_answers_are_split_passive_first_then_customer_service_messages(safe, fake_api):
    user = new_openid()
    first = check_text_reply(safe.say(user, LONG_Q), user, GH)
    assert first.startswith("第1条") and len(first) <= 600
    sent = fake_api.wait_sent(user, 2)
    time.sleep(0.3)
    sent = fake_api.sent_to(user)
    assert len(sent) >= 2 and all(e["path"] == "custom/send" for e in sent)
    rest = [e["body"]["text"]["content"] for e in sent]
    assert all(e["body"]["msgtype"] == "text" and len(c.encode()) <= 2048 for e, c in zip(sent, rest, strict=True))
    whole = "\n".join([first, *rest])
    assert all(line in whole for line in LONG_LINES) and "参考来源" in rest[-1] and f"{PUBLIC_URL}/s/" in rest[-1]
    assert whole.index("第40条") > whole.index("第1条")  # in order


def test_subscribe_welcomes_with_the_consent_prompt_and_other_events_get_success(plain, safe):
    for platform in (plain[0], safe):
        user = new_openid()
        created = int(time.time())
        subscribe = platform.message(user, "event", create_time=created, Event="subscribe")
        content = check_text_reply(platform.open(platform.post(subscribe, user)), user, GH)
        assert content == WELCOME and "开启个性化" in content
        again = platform.open(platform.post(subscribe, user))  # WeChat's retry of the same event
        assert again.body == "success"
        for event in ("unsubscribe", "CLICK", "VIEW", "LOCATION"):
            reply = platform.open(platform.post(platform.message(user, "event", Event=event, EventKey="k"), user))
            assert reply.status == 200 and reply.body == "success"


def test_non_text_messages_get_a_polite_reply(plain, safe):
    for platform in (plain[0], safe):
        user = new_openid()
        for msg_type, extra in (("image", {"PicUrl": "http://mmbiz.qpic.cn/x", "MediaId": "m"}),
                                ("voice", {"MediaId": "m", "Format": "amr"}),
                                ("video", {"MediaId": "m", "ThumbMediaId": "t"}),
                                ("location", {"Label": "广州市"}),
                                ("link", {"Title": "t", "Url": "https://example.invalid"})):
            reply = platform.open(platform.post(platform.message(user, msg_type, **extra), user))
            assert check_text_reply(reply, user, GH) == NON_TEXT
        # a voice message the account's speech recognition transcribed is a question like any other
        recognised = platform.message(user, "voice", MediaId="m", Format="amr", Recognition=PHONE_Q)
        assert PHONE in check_text_reply(platform.open(platform.post(recognised, user)), user, GH)


def test_consent_is_given_and_withdrawn_by_message(plain, people):
    user = new_openid()
    on = check_text_reply(plain[0].say(user, "开启个性化"), user, GH)
    assert "已开启个性化" in on
    user_id = people.user_for("wechat", user, create=False)
    assert user_id is not None and people.has_consent(user_id, "personalisation")
    off = check_text_reply(plain[1].say(user, "关闭个性化"), user, GH)  # the other worker: same store
    assert "已关闭个性化" in off and not people.has_consent(user_id, "personalisation")


# -- duplicates -----------------------------------------------------------------------------------------------------


def test_a_retried_message_is_answered_once(plain, fake_api):
    platform = plain[0]
    user = new_openid()
    xml = platform.message(user, content=PHONE_Q)
    with ThreadPoolExecutor(3) as pool:
        replies = list(pool.map(lambda _: platform.open(platform.post(xml, user)), range(3)))
    answers = [r for r in replies if r.fields is not None]
    assert len(answers) == 1 and PHONE in answers[0].fields["Content"]
    assert sorted(r.body for r in replies if r.fields is None) == ["success", "success"]
    later = platform.open(platform.post(xml, user))  # a retry after the answer
    assert later.body == "success"
    time.sleep(0.2)
    assert fake_api.sent_to(user) == []


def test_two_workers_answer_a_message_delivered_to_both_once(plain, fake_api):
    user = new_openid()
    xml = plain[0].message(user, content=PHONE_Q)
    barrier = threading.Barrier(2)

    def deliver(platform: Platform) -> Reply:
        barrier.wait()
        return platform.open(platform.post(xml, user))

    with ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(deliver, plain))
    assert sorted(r.body == "success" for r in replies) == [False, True]
    time.sleep(0.2)
    assert fake_api.sent_to(user) == []


# -- slow answers -----------------------------------------------------------------------------------------------------


def test_a_slow_answer_goes_as_customer_service_message_once_with_one_token(slow, fake_api, caplog):
    caplog.set_level(logging.INFO, logger="zhengwu")
    user = new_openid()
    xml = slow.message(user, content=PHONE_Q)
    started = time.monotonic()
    first = slow.open(slow.post(xml, user))
    assert first.body == "success" and time.monotonic() - started < 1.0  # did not wait for the answer
    retry = slow.open(slow.post(xml, user))  # WeChat's retry while the answer is still being computed
    assert retry.body == "success"
    second = slow.open(slow.post(slow.message(user, content=OTHER_Q), user))
    assert second.body == "success"

    sent = fake_api.wait_sent(user, 2)
    time.sleep(1.2)  # time for a wrongly duplicated answer to arrive
    sent = fake_api.sent_to(user)
    assert len(sent) == 2, sent
    contents = sorted(e["body"]["text"]["content"] for e in sent)
    assert any(PHONE in c and PHONE_SOURCE in c for c in contents)
    assert any("弩的运输" in c and PHONE not in c for c in contents)
    assert all(e["path"] == "custom/send" and e["body"]["touser"] == user and e["body"]["msgtype"] == "text"
               for e in sent)
    tokens = fake_api.tokens_for("appid", SLOW_APPID)
    assert len(tokens) == 1 and tokens[0]["secret"] == "app-secret" and tokens[0]["grant_type"] == "client_credential"
    assert len({e["access_token"] for e in sent}) == 1  # fetched once, reused
    # nothing in the service's log names the user or repeats what they asked
    logged = caplog.text
    assert "answer ready after" in logged
    assert user not in logged and PHONE_Q not in logged and PHONE not in logged


# -- refusals ---------------------------------------------------------------------------------------------------------


def test_forged_foreign_stale_and_hostile_callbacks_are_refused(plain, safe, fake_api):
    user = new_openid()
    ok = safe.message(user, content=PHONE_Q)
    assert safe.post(ok, user, forge=True).status_code == 403  # wrong msg_signature
    assert safe.post(ok, user, receive_id="wx0000000000other").status_code == 403  # another account's message
    assert safe.post(ok, user, timestamp=int(time.time()) - 3600).status_code == 403  # replay of an old one
    assert safe.post(ok, user, plaintext=True).status_code == 403  # plaintext while a key is configured
    assert safe.post(safe.message(user, content="x"), user, raw_body=b"<xml><Encrypt>").status_code == 400
    assert safe.post(XXE, user).status_code == 400  # signed and encrypted, but hostile inside
    assert safe.post(LAUGHS, user).status_code == 400
    assert safe.post(safe.message("", content="x"), "").status_code == 400  # no sender
    assert safe.post(safe.message("o/../../etc", content="x"), "").status_code == 400
    assert plain[0].post(plain[0].message(user, content=PHONE_Q), user, forge=True).status_code == 403
    for hostile in (XXE, LAUGHS, "<xml><Content>unclosed</xml>", "not xml at all", ""):
        response = plain[0].post(hostile, user)
        assert response.status_code == 400 and response.text == "bad request"
    too_big = b"<xml>" + b"x" * (70 * 1024) + b"</xml>"
    assert plain[0].post("", user, raw_body=too_big).status_code == 413
    chunked = plain[0].http.post("/wechat", params={"signature": "x", "timestamp": "1", "nonce": "1"},
                                 content=iter([b"<xml>" + b"x" * 1024] * 80))
    assert chunked.status_code == 413
    for platform in (plain[0], safe):  # still answering afterwards
        content = check_text_reply(platform.say(user, PHONE_Q), user, GH)
        assert PHONE in content
    time.sleep(0.1)
    assert fake_api.sent_to(user) == []


# -- the outbound API client ------------------------------------------------------------------------------------------


def test_api_client_caches_the_token_refreshes_it_once_and_reports_errors(fake_api, caplog):
    api = OfficialAccountAPI(fake_api.url, "wx0000000000000api", "api-secret")
    user = new_openid()
    api.send_text(user, "第一条")
    api.send_text(user, "第二条")
    assert api.token_fetches == 1 and len(fake_api.tokens_for("appid", "wx0000000000000api")) == 1
    with fake_api.lock:
        fake_api.valid_tokens.clear()  # e.g. another process fetched a new token
    api.send_text(user, "第三条")
    assert api.token_fetches == 2
    assert [e["body"]["text"]["content"] for e in fake_api.sent_to(user)] == ["第一条", "第二条", "第三条"]
    assert len({e["access_token"] for e in fake_api.sent_to(user)}) == 2
    fake_api.fail_with.append(45015)  # response out of time limit
    with pytest.raises(WeChatAPIError) as caught:
        api.send_text(user, "第四条")
    assert caught.value.errcode == 45015 and "45015" in caplog.text
    assert user not in caplog.text and "第四条" not in caplog.text
    nowhere = OfficialAccountAPI("http://127.0.0.1:9", "wx0000000000000api", "api-secret", timeout=1.0)
    with pytest.raises(WeChatAPIError):
        nowhere.send_text(user, "x")
    api.close()
    nowhere.close()

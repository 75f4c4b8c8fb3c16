"""The Telegram adapter against a fake Bot API over real HTTP on 127.0.0.1: python-telegram-bot itself polls it
(or, in webhook mode, the service receives updates and answers through it). Nothing of the adapter is mocked.

The fake checks what the real API would reject: HTML that Telegram cannot parse, messages over 4,096 characters.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qsl

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from helpers import app_for, make_assistant

from zhengwu.answering import wording
from zhengwu.answering.answer import Answer, Citation
from zhengwu.answering.wording import NON_TEXT
from zhengwu.channels.common import ChannelCore, Reply
from zhengwu.channels.telegram import (
    MESSAGE_LIMIT,
    build_application,
    render_html,
    set_webhook,
)
from zhengwu.db import make_engine, upgrade
from zhengwu.db.models import Identity
from zhengwu.personal import FieldCipher, PeopleStore
from zhengwu.pii import mask_pii

TOKEN = "123456:TEST-token_abc"
SECRET = "webhook-secret_42"
QUESTION = "实验动物生产许可的咨询电话是多少？"
APOLOGY = wording.say(wording.APOLOGY, "12345")
TIMEOUT = 15.0

# -- the fake Bot API -------------------------------------------------------------------------------------------

_TAG = re.compile(r"<(/?)([a-zA-Z-]+)((?:\s+[a-z-]+=\"[^\"<>]*\")*)\s*>")
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")
_ALLOWED = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "span",
            "tg-spoiler", "blockquote", "tg-emoji"}


def parse_telegram_html(text: str) -> str:
    """The text Telegram shows for ``parse_mode=HTML``, or ValueError where Telegram would answer
    "Bad Request: can't parse entities"."""
    out: list[str] = []
    stack: list[str] = []
    pos = 0
    for m in re.finditer(f"{_TAG.pattern}|{_ENTITY.pattern}", text):
        out.append(text[pos:m.start()])
        pos = m.end()
        if m.group(0).startswith("&"):
            out.append(html.unescape(m.group(0)))
            continue
        closing, name = m.group(1), m.group(2).lower()
        if name not in _ALLOWED:
            raise ValueError(f"unsupported start tag {name!r}")
        if closing:
            if not stack or stack.pop() != name:
                raise ValueError(f"unexpected end tag {name!r}")
        else:
            stack.append(name)
    out.append(text[pos:])
    if stack:
        raise ValueError(f"unclosed tag {stack[-1]!r}")
    shown = "".join(out)
    # Anything left of "<", ">" or "&" was not part of a tag or an entity.
    rest = _ENTITY.sub("", _TAG.sub("", text))
    if re.search(r"[<>&]", rest):
        raise ValueError("unescaped <, > or &")
    return shown


def u16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class FakeBotAPI:
    """``/bot{token}/{method}``: records every call; getUpdates serves queued updates until confirmed by offset."""

    def __init__(self) -> None:
        self.calls: list[dict] = []
        self.rejected: list[dict] = []
        self.pending: list[dict] = []
        self.lock = threading.Lock()
        self.ids = itertools.count(1000)
        self.url = ""
        self.app = FastAPI()

        @self.app.api_route("/bot{token}/{method}", methods=["GET", "POST"])
        async def api(token: str, method: str, request: Request):
            params = await self._params(request)
            with self.lock:
                self.calls.append({"method": method, "params": params, "token": token})
            if token != TOKEN:
                return JSONResponse({"ok": False, "error_code": 401, "description": "Unauthorized"}, 401)
            handler = getattr(self, f"m_{method}", None)
            if handler is None:
                return JSONResponse({"ok": False, "error_code": 404, "description": "Not Found"}, 404)
            result = await handler(params)
            if isinstance(result, JSONResponse):
                return result
            return {"ok": True, "result": result}

    @staticmethod
    async def _params(request: Request) -> dict:
        params: dict = dict(request.query_params)
        body = await request.body()
        ctype = request.headers.get("content-type", "")
        if not body:
            return params
        if ctype.startswith("application/json"):
            params.update(json.loads(body))
        elif ctype.startswith("application/x-www-form-urlencoded"):
            params.update(parse_qsl(body.decode(), keep_blank_values=True))
        elif ctype.startswith("multipart/form-data"):
            message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True) or b""
                if part.get_filename():
                    params[name] = {"filename": part.get_filename(), "content": payload}
                else:
                    params[name] = payload.decode()
        return params

    # methods
    def _message(self, params: dict, **extra) -> dict:
        chat_id = int(params["chat_id"])
        return {"message_id": next(self.ids), "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private", "first_name": "测试"},
                "from": {"id": 42, "is_bot": True, "first_name": "政务助手", "username": "zhengwu_test_bot"},
                **extra}

    async def m_getMe(self, _params):
        return {"id": 42, "is_bot": True, "first_name": "政务助手", "username": "zhengwu_test_bot",
                "can_join_groups": False, "can_read_all_group_messages": False, "supports_inline_queries": False}

    async def m_deleteWebhook(self, _params):
        return True

    async def m_setWebhook(self, _params):
        return True

    async def m_sendChatAction(self, _params):
        return True

    async def m_sendMessage(self, params):
        text = params.get("text", "")
        try:
            shown = parse_telegram_html(text) if params.get("parse_mode") == "HTML" else text
            if not shown.strip() or u16(shown) > MESSAGE_LIMIT:
                raise ValueError("message text is empty or too long")
        except ValueError as exc:
            with self.lock:
                self.rejected.append({"params": params, "why": str(exc)})
            return JSONResponse({"ok": False, "error_code": 400,
                                 "description": f"Bad Request: can't parse entities: {exc}"}, 400)
        return self._message(params, text=shown)

    async def m_sendDocument(self, params):
        doc = params["document"]
        return self._message(params, document={"file_id": "doc1", "file_unique_id": "u1",
                                               "file_name": doc["filename"], "file_size": len(doc["content"])})

    async def m_getUpdates(self, params):
        offset = int(params.get("offset") or 0)
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), 1.0)
        while True:
            with self.lock:
                self.pending = [u for u in self.pending if u["update_id"] >= offset]
                ready = list(self.pending)
            if ready or time.monotonic() >= deadline:
                return ready
            await asyncio.sleep(0.02)

    # test side
    def queue(self, update: dict) -> None:
        with self.lock:
            self.pending.append(update)

    def sent(self, chat_id: int, method: str = "sendMessage") -> list[dict]:
        with self.lock:
            return [c["params"] for c in self.calls
                    if c["method"] == method and str(c["params"].get("chat_id")) == str(chat_id)]

    def to_chat(self, chat_id: int) -> list[dict]:
        with self.lock:
            return [c for c in self.calls if str(c["params"].get("chat_id")) == str(chat_id)]

    def wait(self, chat_id: int, count: int = 1, method: str = "sendMessage", timeout: float = TIMEOUT) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.sent(chat_id, method)
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(f"no {method} x{count} to {chat_id}; calls: {[c['method'] for c in self.calls]}")


def serve(app, port: int | None = None) -> tuple[uvicorn.Server, threading.Thread, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    return server, thread, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def fake_api() -> Iterator[FakeBotAPI]:
    fake = FakeBotAPI()
    server, thread, fake.url = serve(fake.app)
    yield fake
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def people(tmp_path_factory) -> Iterator[PeopleStore]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('telegram') / 'people.sqlite3'}")
    upgrade(engine)
    yield PeopleStore(engine, cipher=FieldCipher(b"k" * 32), mask=mask_pii)
    engine.dispose()


@pytest.fixture(scope="module")
def tg_settings(fixture_settings, fake_api):
    return fixture_settings.model_copy(update={
        "telegram_token": TOKEN, "telegram_webhook_secret": SECRET,
        "telegram_api_base": f"{fake_api.url}/bot", "rate_limit_per_minute": 0,
    })


@pytest.fixture(scope="module")
def core(tg_settings, fixture_index, people) -> ChannelCore:
    return ChannelCore(make_assistant(tg_settings, fixture_index, people=people), people)


_update_ids = itertools.count(1)
_user_ids = itertools.count(70001)


def new_user() -> int:
    return next(_user_ids)


def message_update(user_id: int, text: str | None = None, **content) -> dict:
    message = {"message_id": next(_update_ids), "date": int(time.time()),
               "chat": {"id": user_id, "type": "private", "first_name": "测试"},
               "from": {"id": user_id, "is_bot": False, "first_name": "测试", "language_code": "zh-hans"},
               **content}
    if text is not None:
        message["text"] = text
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": next(_update_ids), "message": message}


# -- polling ----------------------------------------------------------------------------------------------------


class PollingBot:
    """The Application on its own event loop in a thread, polling the fake API."""

    def __init__(self, application) -> None:
        self.application = application
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def run(self, coro, timeout: float = 20):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> None:
        self.thread.start()
        self.run(self.application.initialize())
        self.run(self.application.start())
        self.run(self.application.updater.start_polling(poll_interval=0.05, timeout=1))

    def stop(self) -> None:
        try:
            if self.application.updater.running:
                self.run(self.application.updater.stop())
            if self.application.running:
                self.run(self.application.stop())
            self.run(self.application.shutdown())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)
            self.loop.close()


@pytest.fixture(scope="module")
def bot(tg_settings, core, fake_api) -> Iterator[FakeBotAPI]:
    polling = PollingBot(build_application(tg_settings, core))
    polling.start()
    yield fake_api
    polling.stop()
    assert not polling.thread.is_alive()


def ask(fake: FakeBotAPI, user_id: int, text: str | None = None, count: int = 1, **content) -> list[dict]:
    """Queue a message from ``user_id`` and return the bot's messages to them once ``count`` more arrived."""
    before = len(fake.sent(user_id))
    fake.queue(message_update(user_id, text, **content))
    return fake.wait(user_id, before + count)[before:]


def test_a_question_gets_typing_then_an_html_answer_with_cited_links(bot):
    user = new_user()
    [reply] = ask(bot, user, QUESTION)
    assert "020-84106805" in reply["text"]
    assert re.search(r'<a href="https?://[^"]+">\[1\] 《实验动物生产许可', reply["text"])
    assert reply["parse_mode"] == "HTML" and int(reply["chat_id"]) == user
    calls = [c["method"] for c in bot.to_chat(user)]
    assert calls.index("sendChatAction") < calls.index("sendMessage")
    [typing] = [c["params"] for c in bot.to_chat(user) if c["method"] == "sendChatAction"]
    assert typing["action"] == "typing"
    assert not bot.rejected


def test_start_welcomes_with_the_consent_prompt(bot):
    user = new_user()
    [reply] = ask(bot, user, "/start")
    assert "政务服务助手" in reply["text"] and "开启个性化" in reply["text"] and "/privacy on" in reply["text"]
    [helped] = ask(bot, user, "/help")
    assert "/privacy" in helped["text"] and "重新开始" in helped["text"]


def test_privacy_on_records_consent_and_off_withdraws_it(bot, people):
    user = new_user()
    [info] = ask(bot, user, "/privacy")
    assert "/privacy delete" in info["text"] and "/privacy export" in info["text"]
    [on] = ask(bot, user, "/privacy on")
    assert "已开启个性化" in on["text"]
    user_id = people.user_for("telegram", str(user), create=False)
    assert user_id is not None and people.has_consent(user_id, "personalisation")
    [off] = ask(bot, user, "/privacy off")
    assert "已关闭个性化" in off["text"] and not people.has_consent(user_id, "personalisation")


def test_privacy_export_sends_the_users_data_as_a_json_document(bot):
    user = new_user()
    ask(bot, user, "/privacy on")
    before = len(bot.sent(user, "sendDocument"))
    bot.queue(message_update(user, "/privacy export"))
    document = bot.wait(user, before + 1, method="sendDocument")[-1]["document"]
    data = json.loads(document["content"])
    assert document["filename"].endswith(".json")
    assert data["format"] == "zhengwu-personal-data-export/1"
    assert [(i["channel"], i["external_id"]) for i in data["identities"]] == [("telegram", str(user))]


def test_privacy_delete_asks_for_confirmation_then_erases_the_user(bot, people):
    user = new_user()
    ask(bot, user, "/privacy on")
    assert people.user_for("telegram", str(user), create=False) is not None
    [asked] = ask(bot, user, "/privacy delete")
    assert html.unescape(asked["text"]) == wording.TELEGRAM_DELETE_ASK
    assert people.user_for("telegram", str(user), create=False) is not None  # nothing happened yet
    [done] = ask(bot, user, "/privacy delete confirm")
    assert done["text"] == wording.TELEGRAM_DELETED
    with people.engine.connect() as db:
        rows = db.scalar(sa.select(sa.func.count()).select_from(Identity)
                         .where(Identity.channel == "telegram", Identity.external_id == str(user)))
    assert rows == 0 and people.user_for("telegram", str(user), create=False) is None


def test_reset_starts_a_new_conversation(bot):
    user = new_user()
    [reply] = ask(bot, user, "/reset")
    assert "新的对话" in reply["text"]


def long_reply() -> Reply:
    sentences = "".join(f"第{i}条：办理时请携带身份证原件及复印件，<材料> & “说明”见下文。" for i in range(120))
    unbroken = "字" * 5000  # one line, no sentence end: cut between characters
    text = "\n".join([sentences, unbroken, sentences[:3000]])
    assert len(text) >= 10_000
    citations = [Citation(n=i, doc_id=f"d{i}", title=f"办事指南<{i}>&附件", section="申请材料",
                          source_url=f"https://example.gov.cn/guide?id={i}&lang=zh", snippet="")
                 for i in range(1, 31)]
    return Reply(text, Answer(question="长问题", text=text, status="answered", citations=citations))


def test_a_very_long_answer_is_split_below_the_limit_and_never_inside_a_tag(bot, core, monkeypatch):
    reply = long_reply()
    monkeypatch.setattr(core, "handle_text", lambda channel, external_id, text: reply)
    user = new_user()
    expected = render_html(reply)
    sent = ask(bot, user, "请详细说明", count=len(expected))
    assert len(sent) == len(expected) > 3
    shown = []
    for message in sent:
        assert len(message["text"]) <= MESSAGE_LIMIT and message["parse_mode"] == "HTML"
        shown.append(parse_telegram_html(message["text"]))  # balanced tags, escaped text: Telegram accepts it
    assert not bot.rejected
    links = re.findall(r'<a href="([^"]+)">([^<]+)</a>', "".join(m["text"] for m in sent))
    assert len(links) == 30 and links[0] == ("https://example.gov.cn/guide?id=1&amp;lang=zh", "[1] 《办事指南&lt;1&gt;&amp;附件》·申请材料")
    squeezed = re.sub(r"\s+", "", "".join(shown))
    assert re.sub(r"\s+", "", reply.text) in squeezed and "[30]《办事指南<30>&附件》·申请材料" in squeezed


def test_a_photo_gets_the_polite_text_only_reply(bot):
    user = new_user()
    photo = [{"file_id": "p1", "file_unique_id": "u1", "width": 90, "height": 90, "file_size": 1000}]
    [reply] = ask(bot, user, photo=photo)
    assert reply["text"] == NON_TEXT


def test_an_error_gets_an_apology_and_the_bot_keeps_working(bot, core, monkeypatch, caplog):
    original = core.handle_text

    def flaky(channel, external_id, text):
        if "触发故障" in text:
            raise RuntimeError(f"database gone while answering {text}")
        return original(channel, external_id, text)

    monkeypatch.setattr(core, "handle_text", flaky)
    user = new_user()
    with caplog.at_level(logging.INFO, logger="zhengwu.telegram"):
        [apology] = ask(bot, user, "触发故障的问题")
    assert apology["text"] == APOLOGY
    assert "RuntimeError" in caplog.text
    assert "触发故障" not in caplog.text and str(user) not in caplog.text
    [answer] = ask(bot, user, QUESTION)
    assert "020-84106805" in answer["text"]


def test_set_webhook_registers_the_url_with_the_secret(tg_settings, fake_api):
    assert set_webhook(tg_settings, "https://zwzs.example.gov.cn/telegram/webhook")
    [call] = [c["params"] for c in fake_api.calls if c["method"] == "setWebhook"]
    assert call["url"] == "https://zwzs.example.gov.cn/telegram/webhook" and call["secret_token"] == SECRET
    with pytest.raises(ValueError):
        set_webhook(tg_settings, "http://insecure.example/telegram/webhook")


# -- webhook ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def service(tg_settings, core, people) -> Iterator[str]:
    app = app_for(tg_settings, core.assistant, people)
    server, thread, url = serve(app)
    yield url
    server.should_exit = True
    thread.join(timeout=10)
    assert not thread.is_alive()


def test_the_webhook_rejects_a_wrong_or_missing_secret_without_processing(service, fake_api):
    def answered() -> list[str]:  # the polling bot keeps calling getUpdates meanwhile
        return [c["method"] for c in fake_api.calls if c["method"] != "getUpdates"]

    user = new_user()
    calls_before = answered()
    update = message_update(user, QUESTION)
    for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"},
                    {"X-Telegram-Bot-Api-Secret-Token": SECRET + "x"}):
        response = httpx.post(f"{service}/telegram/webhook", json=update, headers=headers, timeout=10)
        assert response.status_code == 403
    time.sleep(0.3)
    assert answered() == calls_before and not fake_api.to_chat(user)


def test_the_webhook_answers_through_the_bot_api(service, fake_api):
    user = new_user()
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    response = httpx.post(f"{service}/telegram/webhook", json=message_update(user, QUESTION), headers=headers,
                          timeout=TIMEOUT)
    assert response.status_code == 200
    [reply] = fake_api.wait(user)
    assert "020-84106805" in reply["text"] and "<a href=" in reply["text"] and reply["parse_mode"] == "HTML"
    response = httpx.post(f"{service}/telegram/webhook", json=message_update(user, "/start"), headers=headers,
                          timeout=TIMEOUT)
    assert response.status_code == 200 and "开启个性化" in fake_api.wait(user, 2)[1]["text"]


def test_the_webhook_processes_a_redelivered_update_once(service, fake_api):
    """Telegram sends an update again when the webhook was slow to answer (or failed), perhaps to another
    worker: it is answered once (``update_id`` through the shared de-duplication store)."""
    user = new_user()
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    update = message_update(user, QUESTION)
    with ThreadPoolExecutor(2) as pool:  # the first delivery and a redelivery racing it
        racing = list(pool.map(lambda _: httpx.post(f"{service}/telegram/webhook", json=update, headers=headers,
                                                    timeout=TIMEOUT), range(2)))
    later = httpx.post(f"{service}/telegram/webhook", json=update, headers=headers, timeout=TIMEOUT)
    assert [r.status_code for r in [*racing, later]] == [200, 200, 200]
    [reply] = fake_api.wait(user)
    time.sleep(0.5)
    assert len(fake_api.sent(user)) == 1 and "020-84106805" in reply["text"]


def test_the_webhook_answers_malformed_updates_without_a_server_error(service, fake_api):
    """Issue 15 fuzzing: deep nesting (RecursionError) and a chat id that is a list (TypeError inside
    python-telegram-bot) were 500s."""
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
    deep = httpx.post(f"{service}/telegram/webhook", content=b'{"a":' * 10000, headers=headers, timeout=TIMEOUT)
    assert deep.status_code == 400
    update = message_update(new_user(), QUESTION)
    update["message"]["chat"]["id"] = [1, 2, 3]
    odd = httpx.post(f"{service}/telegram/webhook", json=update, headers=headers, timeout=TIMEOUT)
    assert odd.status_code == 200
    user = new_user()
    numeric = message_update(user, QUESTION)
    numeric["message"]["text"] = 12345  # not a string: answered as a non-text message
    assert httpx.post(f"{service}/telegram/webhook", json=numeric, headers=headers, timeout=TIMEOUT).status_code == 200
    [reply] = fake_api.wait(user)
    assert reply["text"] == wording.NON_TEXT

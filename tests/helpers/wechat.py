"""The WeChat side of the channel tests: a platform simulator that signs and encrypts independently of the
adapter, a fake WeChat/WeCom API that records what it is sent, and a scriptable assistant."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from defusedxml.ElementTree import fromstring
from fastapi import FastAPI, Request

from helpers import make_assistant, serving
from zhengwu.answering.answer import Answer, Citation
from zhengwu.answering.assistant import Assistant
from zhengwu.db import make_engine, upgrade
from zhengwu.personal import FieldCipher, PeopleStore
from zhengwu.pii import mask_pii

LONG_Q = "请把居住证办理须知完整地告诉我"
VERY_LONG_Q = "请把居住证办理的全部规定逐条告诉我"
VERY_LONG_LINES = [f"第{i}款：申领居住证应当向居住地公安派出所提交本人居民身份证、照片及居住证明等材料，逐项核验。"
                   for i in range(1, 151)]
LONG_LINES = [f"第{i}条：办理居住证需携带本人居民身份证原件、近期一寸免冠照片两张及合法稳定住所证明。" for i in range(1, 41)]
GH = "gh_0a1b2c3d4e5f"
PHONE_Q = "实验动物生产许可的咨询电话是多少？"
PHONE = "020-84106805"
PHONE_SOURCE = "http://bsxt.gdbs.gov.cn/UnifiedReporting/bid/caption?approveSeq=cb64c4b8b8b84bd09941e1a6ef4be00f"
LAUGHS = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaaaaaaaa">'
          '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
          '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
          '<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
          "<xml><ToUserName>gh</ToUserName><FromUserName>ouser</FromUserName><MsgType>text</MsgType>"
          "<Content>&d;&d;&d;&d;</Content><MsgId>2</MsgId></xml>")
XXE = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
       "<xml><ToUserName>gh</ToUserName><FromUserName>ouser</FromUserName><CreateTime>1</CreateTime>"
       "<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>")


def new_openid() -> str:
    """A fresh openid-shaped user id (28 URL-safe characters after "o"), unique per test."""
    return "o" + secrets.token_urlsafe(20).replace("-", "_")


def new_aes_key() -> str:
    return base64.b64encode(os.urandom(32)).decode().rstrip("=")


class ScriptedAssistant(Assistant):
    """The real assistant, optionally slow (``delay`` seconds per question), with one long canned answer."""

    delay = 0.0
    gate: threading.Event | None = None  # set: every question waits for it (a worker hung, or about to die)

    def __init__(self, settings, *, index, people=None):
        wired = make_assistant(settings, index, people=people)
        super().__init__(settings, index=index, sessions=wired.sessions, turns=wired.turns, curated=wired.curated,
                         personaliser=wired.personaliser)

    def ask(self, question, *args, **kwargs):
        if self.gate is not None:
            self.gate.wait(30)
        if self.delay:
            time.sleep(self.delay)
        if question in (LONG_Q, VERY_LONG_Q):
            citation = Citation(1, "doc", "实验动物生产许可(新申请)", "咨询电话", PHONE_SOURCE, "…")
            lines = LONG_LINES if question == LONG_Q else VERY_LONG_LINES
            return Answer(question, "\n".join(lines) + " [1]", "answered", citations=[citation])
        return super().ask(question, *args, **kwargs)


class FakeWeChatAPI:
    """api.weixin.qq.com and qyapi.weixin.qq.com as far as the adapters use them; records what it is sent."""

    def __init__(self) -> None:
        self.app = FastAPI()
        self.lock = threading.Lock()
        self.token_requests: list[dict] = []
        self.sent: list[dict] = []
        self.rejected: list[dict] = []
        self.valid_tokens: set[str] = set()
        self.fail_with: list[int] = []
        self.stable: dict[str, tuple[str, float]] = {}  # appid -> its current stable token, expiry (monotonic)
        self.stable_expires_in = 7200
        self._issued = 0

        def issue(kind: str, params: dict) -> dict:
            with self.lock:
                self.token_requests.append({"kind": kind, **params})
                self._issued += 1
                token = f"{kind}-token-{self._issued}"
                self.valid_tokens.add(token)
            return {"access_token": token, "expires_in": 7200}

        @self.app.get("/cgi-bin/token")
        async def token(request: Request) -> dict:
            params = dict(request.query_params)
            if params.get("grant_type") != "client_credential" or not params.get("appid") or not params.get("secret"):
                return {"errcode": 40013, "errmsg": "invalid appid"}
            return issue("oa", params)

        @self.app.post("/cgi-bin/stable_token")
        async def stable_token(request: Request) -> dict:
            # Normal mode hands out the current token while it is valid and has over 5 minutes left, as
            # WeChat's does; force_refresh (never used by the adapter) would invalidate it.
            params = json.loads((await request.body()).decode("utf-8") or "{}")
            if params.get("grant_type") != "client_credential" or not params.get("appid") or not params.get("secret"):
                return {"errcode": 40013, "errmsg": "invalid appid"}
            appid, now = params["appid"], time.monotonic()
            with self.lock:
                current = self.stable.get(appid)
                if (current and not params.get("force_refresh") and current[0] in self.valid_tokens
                        and current[1] - now > 300):
                    self.token_requests.append({"kind": "stable", "reused": True, **params})
                    return {"access_token": current[0], "expires_in": int(current[1] - now)}
            issued = issue("stable", params)
            with self.lock:
                self.stable[appid] = (issued["access_token"], now + self.stable_expires_in)
            return {**issued, "expires_in": self.stable_expires_in}

        @self.app.get("/cgi-bin/gettoken")
        async def gettoken(request: Request) -> dict:
            params = dict(request.query_params)
            if not params.get("corpid") or not params.get("corpsecret"):
                return {"errcode": 40013, "errmsg": "invalid corpid"}
            return issue("wecom", params)

        async def record(request: Request, path: str) -> dict:
            entry = {"path": path, "access_token": request.query_params.get("access_token"),
                     "body": json.loads((await request.body()).decode("utf-8")), "at": time.monotonic()}
            with self.lock:
                if entry["access_token"] not in self.valid_tokens:
                    self.rejected.append(entry)
                    return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"}
                code = self.fail_with.pop(0) if self.fail_with else 0  # 0: this one goes through
                if code:
                    self.rejected.append(entry)
                    return {"errcode": code, "errmsg": "scripted failure"}
                self.sent.append(entry)
            return {"errcode": 0, "errmsg": "ok"}

        @self.app.post("/cgi-bin/message/custom/send")
        async def custom_send(request: Request) -> dict:
            return await record(request, "custom/send")

        @self.app.post("/cgi-bin/message/send")
        async def message_send(request: Request) -> dict:
            return await record(request, "message/send")

    def sent_to(self, user: str) -> list[dict]:
        with self.lock:
            return [e for e in self.sent if e["body"].get("touser") == user]

    def wait_sent(self, user: str, count: int, timeout: float = 10.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sent = self.sent_to(user)
            if len(sent) >= count:
                return sent
            time.sleep(0.02)
        return self.sent_to(user)

    def tokens_for(self, key: str, value: str) -> list[dict]:
        with self.lock:
            return [r for r in self.token_requests if r.get(key) == value]


class Platform:
    """WeChat's (or WeCom's) server: signs, encrypts and posts callbacks, and opens the replies.

    mode: "plain" (公众号 明文模式), "aes" (公众号 安全模式), "wecom" (always encrypted)."""

    def __init__(self, url: str, token: str, *, mode: str, aes_key: str | None = None, receive_id: str = "",
                 account: str = GH, path: str = "/wechat", agent_id: str | None = None) -> None:
        self.url, self.token, self.mode = url, token, mode
        self.key = base64.b64decode(aes_key + "=") if aes_key else None
        self.receive_id, self.account, self.path, self.agent_id = receive_id, account, path, agent_id
        self.http = httpx.Client(base_url=url, timeout=20, trust_env=False)

    @staticmethod
    def sign(*parts: str) -> str:
        return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()

    # AES-256-CBC, IV = key[:16], PKCS#7 to 32: random(16) + length(4, big-endian) + message + receive id
    def encrypt(self, text: str, receive_id: str | None = None) -> str:
        body = text.encode("utf-8")
        rid = (self.receive_id if receive_id is None else receive_id).encode("utf-8")
        buffer = os.urandom(16) + len(body).to_bytes(4, "big") + body + rid
        pad = 32 - len(buffer) % 32
        buffer += bytes([pad]) * pad
        encryptor = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).encryptor()
        return base64.b64encode(encryptor.update(buffer) + encryptor.finalize()).decode("ascii")

    def decrypt(self, encrypt: str) -> str:
        decryptor = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).decryptor()
        buffer = decryptor.update(base64.b64decode(encrypt)) + decryptor.finalize()
        pad = buffer[-1]
        assert len(buffer) % 32 == 0 and 1 <= pad <= 32 and buffer[-pad:] == bytes([pad]) * pad
        buffer = buffer[:-pad]
        length = int.from_bytes(buffer[16:20], "big")
        assert buffer[20 + length:] == self.receive_id.encode("utf-8"), "reply for another account"
        return buffer[20:20 + length].decode("utf-8")

    def message(self, user: str, msg_type: str = "text", *, content: str | None = None, msg_id: str | None = None,
                create_time: int | None = None, **extra: str) -> str:
        parts = [f"<ToUserName><![CDATA[{self.account}]]></ToUserName>",
                 f"<FromUserName><![CDATA[{user}]]></FromUserName>",
                 f"<CreateTime>{create_time or int(time.time())}</CreateTime>",
                 f"<MsgType><![CDATA[{msg_type}]]></MsgType>"]
        if content is not None:
            parts.append(f"<Content><![CDATA[{content}]]></Content>")
        if msg_type != "event":
            parts.append(f"<MsgId>{msg_id or secrets.randbelow(10**19)}</MsgId>")
        if self.agent_id is not None:
            parts.append(f"<AgentID>{self.agent_id}</AgentID>")
        parts += [f"<{k}><![CDATA[{v}]]></{k}>" for k, v in extra.items()]
        return "<xml>" + "".join(parts) + "</xml>"

    def post(self, xml: str, user: str = "", *, timestamp: int | None = None, receive_id: str | None = None,
             forge: bool = False, plaintext: bool = False, raw_body: bytes | None = None,
             nonce: str | None = None) -> httpx.Response:
        timestamp_s, nonce = str(timestamp or int(time.time())), nonce or str(secrets.randbelow(10**9))
        if self.mode == "plain" or plaintext:
            params = {"signature": self.sign(self.token, timestamp_s, nonce), "timestamp": timestamp_s,
                      "nonce": nonce, "openid": user}
            body = xml.encode("utf-8")
        else:
            encrypt = self.encrypt(xml, receive_id)
            msg_signature = self.sign(self.token, timestamp_s, nonce, encrypt)
            if self.mode == "aes":
                params = {"signature": self.sign(self.token, timestamp_s, nonce), "timestamp": timestamp_s,
                          "nonce": nonce, "openid": user, "encrypt_type": "aes", "msg_signature": msg_signature}
                body = (f"<xml><ToUserName><![CDATA[{self.account}]]></ToUserName>"
                        f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>").encode()
            else:
                params = {"msg_signature": msg_signature, "timestamp": timestamp_s, "nonce": nonce}
                body = (f"<xml><ToUserName><![CDATA[{self.receive_id}]]></ToUserName>"
                        f"<AgentID><![CDATA[{self.agent_id}]]></AgentID>"
                        f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>").encode()
        if forge:
            key = "signature" if "signature" in params and self.mode == "plain" else "msg_signature"
            params[key] = "0" * 40
        return self.http.post(self.path, params=params, content=raw_body if raw_body is not None else body,
                              headers={"Content-Type": "text/xml"})

    def open(self, response: httpx.Response) -> Reply:
        body = response.text
        if response.status_code != 200 or body == "success":
            return Reply(response.status_code, body, None)
        envelope = {child.tag: (child.text or "") for child in fromstring(body, forbid_dtd=True)}
        if self.mode != "plain":
            assert set(envelope) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}, envelope
            assert envelope["MsgSignature"] == self.sign(self.token, envelope["TimeStamp"], envelope["Nonce"],
                                                         envelope["Encrypt"])
            assert abs(int(envelope["TimeStamp"]) - time.time()) < 60
            envelope = {child.tag: (child.text or "") for child in fromstring(self.decrypt(envelope["Encrypt"]))}
        return Reply(200, body, envelope)

    def say(self, user: str, content: str, msg_id: str | None = None) -> Reply:
        return self.open(self.post(self.message(user, content=content, msg_id=msg_id), user))


def check_text_reply(reply: Reply, user: str, account: str) -> str:
    assert reply.status == 200 and reply.fields is not None, reply.body
    assert reply.fields["ToUserName"] == user and reply.fields["FromUserName"] == account
    assert reply.fields["MsgType"] == "text" and abs(int(reply.fields["CreateTime"]) - time.time()) < 60
    assert len(reply.fields["Content"].encode("utf-8")) <= 2048
    return reply.fields["Content"]


@dataclass
class Reply:
    status: int
    body: str
    fields: dict | None  # the (decrypted) reply message; None for "success" and errors


@contextmanager
def fake_wechat_api() -> Iterator[FakeWeChatAPI]:
    """The fake WeChat/WeCom API served on a free loopback port (``fake.url``)."""
    fake = FakeWeChatAPI()
    with serving(fake.app) as url:
        fake.url = url
        yield fake


@contextmanager
def channel_people(folder: Path) -> Iterator[PeopleStore]:
    """A people store for a channel's users, with a throwaway field key."""
    engine = make_engine(f"sqlite:///{folder / 'people.sqlite3'}")
    upgrade(engine)
    try:
        yield PeopleStore(engine, cipher=FieldCipher(b"k" * 32), mask=mask_pii)
    finally:
        engine.dispose()

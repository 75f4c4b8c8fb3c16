"""WeChat Official Account (公众号) callback at ``/wechat``, and the machinery it shares with WeCom.

    GET  /wechat   URL verification: signature over [token, timestamp, nonce]; the response is ``echostr``
    POST /wechat   messages and events: 明文模式 (``signature``) or 兼容/安全模式 (``encrypt_type=aes``,
                   ``msg_signature`` over the ``Encrypt`` element, AES as in ``wxcrypto``)
    GET  /s/{code} short link to a cited source (when ``ZHENGWU_PUBLIC_URL`` is set)

WeChat waits five seconds for the response and then retries, three times. An answer ready within
``wechat_reply_seconds`` (4.5 s) is the passive reply; otherwise the response is ``success`` at once and the
answer follows as a 客服消息 when it is ready. Every message is answered once: a retry of a message already
taken on (here or by another worker: see ``dedupe``) gets ``success``. Long answers are cut into pieces of at
most 600 characters (2,048 bytes is the platforms' limit for one text), five at most: the passive reply
carries the first, 客服消息 the rest. Whatever goes by 客服消息 is recorded in the database before the
response, and delivered by any worker if this one dies (``delivery``, ``pending``).

A callback's signature is accepted once (``replay``): the same request again is WeChat's retry and gets
``success``; the signature with another body is refused. With ``ZHENGWU_WECHAT_AES_KEY`` set, plaintext
callbacks are refused: their signature does not cover the body. Nothing is logged with message content or
openids.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from sqlalchemy.engine import Engine
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from zhengwu.answering import wording
from zhengwu.answering.citations import render_sources
from zhengwu.channels.common import ChannelCore, split_text
from zhengwu.channels.dedupe import Deduper, make_deduper
from zhengwu.channels.delivery import SWEEP_SECONDS, Courier
from zhengwu.channels.pending import Owed
from zhengwu.channels.replay import NEW, REPLAY, RETRY, Verdict, check_callback, replay_ttl
from zhengwu.channels.tokens import SharedTokens
from zhengwu.channels.wechat_api import OfficialAccountAPI
from zhengwu.channels.wxcrypto import DEFAULT_MAX_SKEW, MALFORMED, WXBizMsgCrypt, WXCryptoError, cdata, parse_xml
from zhengwu.config import Settings
from zhengwu.ops.observability import CHANNEL_ERRORS

log = logging.getLogger("zhengwu.channels.wechat")

MAX_BODY_BYTES = 64 * 1024
PIECE_CHARS = 600  # 600 CJK characters are 1,800 UTF-8 bytes: under the 2,048-byte text limit
PIECE_BYTES = 2000
MAX_PIECES = 5
DEDUPE_TTL = 3600  # retries come within ~15 s; an hour leaves room for clock trouble
SUCCESS = "success"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_OPENID = re.compile(r"[A-Za-z0-9_\-]{1,128}")
_CODE = re.compile(r"[0-9a-f]{8}(?:[0-9a-f]{8})?")


def apology(settings: Settings) -> str:
    return wording.say(wording.APOLOGY, settings.hotline)


def forbidden() -> PlainTextResponse:
    return PlainTextResponse("forbidden", status_code=403)


def bad_request() -> PlainTextResponse:
    return PlainTextResponse("bad request", status_code=400)


def success() -> PlainTextResponse:
    return PlainTextResponse(SUCCESS)


def refusal(channel: str, exc: WXCryptoError) -> PlainTextResponse:
    log.warning("%s callback refused: %s", channel, exc.reason)
    return bad_request() if exc.reason == MALFORMED else forbidden()


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes | None:
    """The request body, or None when it is larger than ``limit`` (read no further than that)."""
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
    except ClientDisconnect:  # the platform (or whoever) hung up mid-body: an empty body, refused as malformed
        return b""
    return b"".join(chunks)


def _cut(text: str, chars: int = PIECE_CHARS, max_bytes: int = PIECE_BYTES) -> list[str]:
    pieces: list[str] = []
    for piece in split_text(text, chars):
        pieces += split_text(piece, max_bytes // 4) if len(piece.encode("utf-8")) > max_bytes else [piece]
    return pieces


def pieces_of(text: str, hotline: str, sources: str = "") -> list[str]:
    """Text (and its list of ``sources``) cut for WeChat/WeCom: pieces of at most ``PIECE_CHARS`` characters
    and ``PIECE_BYTES`` UTF-8 bytes, at most ``MAX_PIECES`` of them — WeChat sends at most five 客服消息 after a
    user's message (more: errcode 45047). Longer, the text is cut short with a note that there is more, and
    the sources keep their place in the last piece: they are where the rest can be read."""
    text, sources = _CONTROL.sub("", text or ""), _CONTROL.sub("", sources or "")
    pieces = _cut(f"{text}\n\n{sources}" if sources else text)
    if len(pieces) <= MAX_PIECES:
        return pieces
    tail = _cut(sources)[: MAX_PIECES - 1] if sources else []
    more = wording.say(wording.MORE_IN_SOURCES if tail else wording.MORE_BY_HOTLINE, hotline)
    body = _cut(text, PIECE_CHARS - len(more), PIECE_BYTES - len(more.encode("utf-8")))[: MAX_PIECES - len(tail)]
    if body:
        body[-1] = body[-1].rstrip() + more
    else:
        body = [more.lstrip()]
    return body + tail


def text_reply_xml(to_user: str, from_user: str, content: str, now: int | None = None) -> str:
    """A passive text reply (to_user: the sender of the message answered; from_user: the account)."""
    return (
        f"<xml><ToUserName>{cdata(to_user)}</ToUserName><FromUserName>{cdata(from_user)}</FromUserName>"
        f"<CreateTime>{int(time.time()) if now is None else now}</CreateTime><MsgType>{cdata('text')}</MsgType>"
        f"<Content>{cdata(_CONTROL.sub('', content))}</Content></xml>"
    )


class ShortLinks:
    """``{public_url}/s/{code}`` for a cited source: code = the first 8 hex digits of sha1(source URL), 16 when
    two indexed URLs share 8. Resolved against the index's own documents, so any worker resolves any link,
    links survive restarts, and nothing but an indexed source is ever a redirect target."""

    def __init__(self, get_index: Callable, public_url: str | None, rebuild_every: float = 30.0) -> None:
        self.base = public_url.rstrip("/") + "/s/" if public_url else None
        self._get_index = get_index
        self._by_code: dict[str, set[str]] | None = None
        self._built = 0.0
        self._rebuild_every = rebuild_every
        self._lock = threading.Lock()

    @staticmethod
    def _hash(url: str) -> str:
        return hashlib.sha1(url.encode("utf-8")).hexdigest()

    def _groups(self, missing: str | None = None) -> dict[str, set[str]]:
        """The code map; rebuilt when ``missing`` is not in it (a reindex), at most every ``rebuild_every`` s."""
        with self._lock:
            stale = self._by_code is None or (
                missing is not None and missing not in self._by_code
                and time.monotonic() - self._built > self._rebuild_every
            )
            if stale:
                by_code: dict[str, set[str]] = {}
                for doc in self._get_index().documents().values():
                    if doc.source_url and doc.source_url.startswith(("http://", "https://")):
                        by_code.setdefault(self._hash(doc.source_url)[:8], set()).add(doc.source_url)
                self._by_code, self._built = by_code, time.monotonic()
            assert self._by_code is not None
            return self._by_code

    def url(self, source_url: str) -> str:
        if not self.base or not source_url:
            return source_url
        digest = self._hash(source_url)
        group = self._groups(digest[:8]).get(digest[:8])
        if not group or source_url not in group:
            return source_url
        return self.base + (digest[:8] if len(group) == 1 else digest[:16])

    def resolve(self, code: str) -> str | None:
        if not _CODE.fullmatch(code):
            return None
        group = self._groups(code[:8]).get(code[:8], set())
        if len(code) == 8:
            return next(iter(group)) if len(group) == 1 else None
        return next((u for u in group if self._hash(u).startswith(code)), None)


class Responder:
    """Answers the text messages of one channel account: once per message, passively within the deadline, else
    later through ``send(user, text)`` (None: no API credentials, a late answer is dropped with a warning),
    by way of the ``Courier`` that keeps owed answers in the database until they are delivered."""

    def __init__(self, channel: str, settings: Settings, get_core: Callable[[], ChannelCore],
                 send: Callable[[str, str], None] | None, deadline: float, *, account: str = "default",
                 max_skew: float | None = DEFAULT_MAX_SKEW) -> None:
        self.channel = channel
        self.account = account
        self.settings = settings
        self.get_core = get_core
        self.send = send
        self.deadline = deadline
        self.replay_ttl = replay_ttl(max_skew)
        self.sweep_every = SWEEP_SECONDS
        self.links = ShortLinks(lambda: get_core().assistant.index, settings.public_url)
        self.courier = Courier(channel, account, send, self.engine)
        self._deduper: Deduper | None = None
        self._deduper_lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix=f"zhengwu-{channel}")
        self._tasks: set[asyncio.Task] = set()

    def engine(self) -> Engine | None:
        """The database the workers share (the people store's), or None."""
        people = self.get_core().people
        return people.engine if people is not None else None

    # -- once per message ---------------------------------------------------------------------------------
    def deduper(self) -> Deduper:
        with self._deduper_lock:
            if self._deduper is None:
                self._deduper = make_deduper(self.settings, self.engine())
            return self._deduper

    def _first(self, key: str) -> bool:
        try:
            return self.deduper().first(key, DEDUPE_TTL)
        except Exception:  # noqa: BLE001 - better a rare double answer than no answer at all
            log.exception("%s: the de-duplication store failed; answering anyway", self.channel)
            return True

    async def first(self, key: str) -> bool:
        return await run_in_threadpool(self._first, key)

    async def replayed(self, timestamp: str, nonce: str, signature: str | None, body: bytes) -> Response | None:
        """The response to a callback whose signature was used before (``replay``), else None: process it."""
        verdict = await run_in_threadpool(self._verdict, timestamp, nonce, signature, body)
        if verdict == RETRY:
            return success()
        return forbidden() if verdict == REPLAY else None

    def _verdict(self, timestamp: str, nonce: str, signature: str | None, body: bytes) -> Verdict:
        try:
            deduper = self.deduper()
        except Exception:  # noqa: BLE001 - as in _first: no store is no reason to leave a citizen unanswered
            log.exception("%s: the replay store is unavailable; processing the callback anyway", self.channel)
            return NEW
        return check_callback(deduper, self.channel, self.account, timestamp, nonce, signature, body,
                              self.replay_ttl)

    # -- answering ----------------------------------------------------------------------------------------
    def _answer(self, user: str, text: str) -> list[str]:
        try:
            reply = self.get_core().handle_text(self.channel, user, text)
            body, sources = reply.text, ""
            if reply.answer is not None:
                body = reply.answer.text
                sources = render_sources(reply.answer, lambda c: self.links.url(c.source_url))
        except Exception:  # noqa: BLE001 - a bug must not leave the citizen without a reply
            log.exception("%s: answering a message failed", self.channel)
            CHANNEL_ERRORS.labels(self.channel).inc()
            body, sources = apology(self.settings), ""
        return pieces_of(body, self.settings.hotline, sources) or [apology(self.settings)]

    async def answer(self, user: str, text: str, started: float) -> tuple[str | None, BackgroundTask | None]:
        """(the passive reply, what to send after the response) — or (None, None): reply ``success``, the
        answer goes out through the API once it is ready. Whatever goes through the API is recorded as owed
        before the response is sent (``delivery``), so a worker dying now does not lose it."""
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, self._answer, user, text)
        remaining = self.deadline - (time.monotonic() - started)
        try:
            pieces = await asyncio.wait_for(asyncio.shield(future), timeout=max(0.0, remaining))
        except TimeoutError:
            owed = await run_in_threadpool(self.courier.owe, user, {"question": text})
            task = asyncio.create_task(self._deliver_later(future, user, started, owed))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return None, None
        log.info("%s: answered passively in %.2f s (%d pieces)", self.channel, time.monotonic() - started,
                 len(pieces))
        rest = pieces[1:]
        if not rest:
            return pieces[0], None
        owed = await run_in_threadpool(self.courier.owe, user, {"pieces": rest})
        return pieces[0], BackgroundTask(self.courier.deliver, user, rest, owed)

    async def _deliver_later(self, future: asyncio.Future, user: str, started: float, owed: Owed | None) -> None:
        pieces = await future
        log.info("%s: answer ready after %.2f s, sending it as %d API message(s)", self.channel,
                 time.monotonic() - started, len(pieces))
        await run_in_threadpool(self.courier.deliver, user, pieces, owed)

    # -- what dead workers left owed ------------------------------------------------------------------------
    def sweep(self) -> int:
        return self.courier.sweep(self._answer)

    async def sweep_forever(self) -> None:
        """At start-up and every ``sweep_every`` seconds: deliver the answers other workers left owed."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                await loop.run_in_executor(self._executor, self.sweep)
            except Exception:  # noqa: BLE001 - the next sweep tries again
                log.exception("%s: sweeping owed answers failed", self.channel)
            await asyncio.sleep(self.sweep_every)

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: object) -> AsyncIterator[None]:
        task = asyncio.create_task(self.sweep_forever()) if self.send is not None else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


def valid_user_id(value: str | None, pattern: re.Pattern = _OPENID) -> bool:
    return bool(value) and pattern.fullmatch(value) is not None


def add_short_link_route(router: APIRouter, links: ShortLinks) -> None:
    @router.get("/s/{code}", include_in_schema=False)
    async def short_link(code: str) -> Response:
        url = await run_in_threadpool(links.resolve, code)
        if url is None:
            return PlainTextResponse("not found", status_code=404)
        return RedirectResponse(url, status_code=302)


def wechat_router(settings: Settings, get_core: Callable[[], ChannelCore], *,
                  max_skew: float | None = DEFAULT_MAX_SKEW) -> APIRouter:
    if not settings.wechat_token:
        raise ValueError("ZHENGWU_WECHAT_TOKEN is not set")
    if settings.wechat_aes_key and not settings.wechat_app_id:
        raise ValueError("ZHENGWU_WECHAT_APP_ID is required with ZHENGWU_WECHAT_AES_KEY (it is checked in every "
                         "encrypted message)")
    try:
        crypto = WXBizMsgCrypt(settings.wechat_token, settings.wechat_aes_key or None, settings.wechat_app_id,
                               max_skew=max_skew)
    except WXCryptoError as exc:
        raise ValueError(f"ZHENGWU_WECHAT_AES_KEY / ZHENGWU_WECHAT_TOKEN: {exc}") from exc
    api = None
    if settings.wechat_app_id and settings.wechat_app_secret:
        api = OfficialAccountAPI(settings.wechat_api_base, settings.wechat_app_id, settings.wechat_app_secret,
                                 shared=SharedTokens(settings, lambda: responder.engine()))
    else:
        log.warning("WeChat: ZHENGWU_WECHAT_APP_ID/APP_SECRET not set: answers later than %.1f s cannot be sent",
                    settings.wechat_reply_seconds)
    account = settings.wechat_app_id or "default"
    responder = Responder("wechat", settings, get_core, api.send_text if api else None,
                          settings.wechat_reply_seconds, account=account, max_skew=max_skew)
    router = APIRouter(tags=["channels"], lifespan=responder.lifespan)
    router.api = api  # for tests and operators: the token cache lives here
    router.responder = responder

    @router.get("/wechat", include_in_schema=False)
    async def verify(request: Request) -> Response:
        q = request.query_params
        echostr = q.get("echostr", "")
        try:
            crypto.check_signature(q.get("signature"), q.get("timestamp", ""), q.get("nonce", ""))
        except WXCryptoError as exc:
            return refusal("wechat", exc)
        if not echostr or len(echostr) > 256:
            return bad_request()
        return PlainTextResponse(echostr)

    @router.post("/wechat", include_in_schema=False)
    async def receive(request: Request) -> Response:
        started = time.monotonic()
        body = await read_body(request)
        if body is None:
            return PlainTextResponse("too large", status_code=413)
        q = request.query_params
        timestamp, nonce = q.get("timestamp", ""), q.get("nonce", "")
        encrypted = q.get("encrypt_type", "raw").lower() == "aes"
        signature = q.get("msg_signature") if encrypted else q.get("signature")
        try:
            if encrypted:
                if crypto.key is None:
                    log.warning("wechat callback refused: encrypted, but ZHENGWU_WECHAT_AES_KEY is not set")
                    return forbidden()
                xml = crypto.decrypt_message(body, signature, timestamp, nonce)
            else:
                if q.get("encrypt_type", "raw").lower() != "raw":
                    return bad_request()
                crypto.check_signature(signature, timestamp, nonce)
                if crypto.key is not None:
                    log.warning("wechat callback refused: plaintext, but an EncodingAESKey is configured")
                    return forbidden()
                xml = body
        except WXCryptoError as exc:
            return refusal("wechat", exc)
        # Authentic so far; in 明文模式 only the signature is: the body may be anything under a captured one.
        refused = await responder.replayed(timestamp, nonce, signature, body)
        if refused is not None:
            return refused
        try:
            message = parse_xml(xml)
        except WXCryptoError as exc:
            return refusal("wechat", exc)

        user, account_id = message.get("FromUserName", ""), message.get("ToUserName", "")
        if not valid_user_id(user) or not account_id:
            return bad_request()

        def reply(text: str, background: BackgroundTask | None = None) -> Response:
            xml_out = text_reply_xml(user, account_id, text)
            if encrypted:
                xml_out = crypto.encrypt_message(xml_out)
            return Response(xml_out, media_type="application/xml", background=background)

        return await handle_message("wechat", account, responder, message, user, started, reply)

    add_short_link_route(router, responder.links)
    return router


async def handle_message(channel: str, account: str, responder: Responder, message: dict[str, str], user: str,
                         started: float, reply: Callable[..., Response],
                         welcome_events: frozenset[str] = frozenset({"subscribe"})) -> Response:
    """What WeChat and WeCom do alike once a message is authentic: dedupe, then answer by type."""
    msg_type = message.get("MsgType", "").lower()
    if msg_type == "event":
        event = message.get("Event", "").lower()
        if not await responder.first(f"{channel}:{account}:event:{user}:{message.get('CreateTime', '')}:{event}"):
            return success()
        return reply(wording.say(wording.WELCOME, responder.settings.hotline)) if event in welcome_events else success()
    msg_id = message.get("MsgId") or f"{user}:{message.get('CreateTime', '')}"
    if not await responder.first(f"{channel}:{account}:msg:{msg_id}"):
        log.info("%s: duplicate delivery of a message, answered already", channel)
        return success()
    if msg_type == "text":
        text = message.get("Content", "")
    elif msg_type == "voice" and message.get("Recognition"):  # the account has speech recognition on
        text = message["Recognition"]
    else:  # image, voice, video, shortvideo, location, link, file, ...
        return reply(wording.NON_TEXT)
    answer, background = await responder.answer(user, text, started)
    if answer is None:
        return success()
    return reply(answer, background)

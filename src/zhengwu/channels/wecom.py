"""WeCom (企业微信) application callback at ``/wecom`` (应用管理 → 接收消息 → 设置API接收).

    GET  /wecom   URL verification: ``msg_signature`` over [token, timestamp, nonce, echostr]; the response is
                  ``echostr`` decrypted (no assistant work: WeCom wants it within a second)
    POST /wecom   always encrypted: ``<xml><ToUserName/><AgentID/><Encrypt/></xml>``; the decrypted buffer
                  must end with our CorpID and the message must be for our AgentID

Text messages follow the same rules as the Official Account (see ``wechat``): one answer per message across
workers, a passive encrypted reply within ``wechat_reply_seconds``, else ``success`` and the answer later as
an application message (``/cgi-bin/message/send`` with our agentid), recorded as owed until delivered
(``delivery``); each ``msg_signature`` is taken once (``replay``). The channel is ``"wecom"``, the user's
external id their WeCom userid.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.background import BackgroundTask

from zhengwu.channels.common import ChannelCore
from zhengwu.channels.tokens import SharedTokens
from zhengwu.channels.wechat import (
    Responder,
    add_short_link_route,
    bad_request,
    forbidden,
    handle_message,
    read_body,
    refusal,
    text_reply_xml,
    valid_user_id,
)
from zhengwu.channels.wechat_api import WeComAPI
from zhengwu.channels.wxcrypto import DEFAULT_MAX_SKEW, WXBizMsgCrypt, WXCryptoError, parse_xml
from zhengwu.config import Settings

log = logging.getLogger("zhengwu.channels.wecom")
_USERID = re.compile(r"[A-Za-z0-9_\-@.]{1,128}")


def wecom_router(settings: Settings, get_core: Callable[[], ChannelCore], *,
                 max_skew: float | None = DEFAULT_MAX_SKEW) -> APIRouter:
    missing = [name for name, value in (("ZHENGWU_WECOM_TOKEN", settings.wecom_token),
                                        ("ZHENGWU_WECOM_AES_KEY", settings.wecom_aes_key),
                                        ("ZHENGWU_WECOM_CORP_ID", settings.wecom_corp_id)) if not value]
    if missing:
        raise ValueError(f"WeCom callback needs {', '.join(missing)}")
    try:
        crypto = WXBizMsgCrypt(settings.wecom_token, settings.wecom_aes_key, settings.wecom_corp_id,
                               max_skew=max_skew)
    except WXCryptoError as exc:
        raise ValueError(f"ZHENGWU_WECOM_AES_KEY / ZHENGWU_WECOM_TOKEN: {exc}") from exc
    corp_id = settings.wecom_corp_id
    agent_id = str(settings.wecom_agent_id) if settings.wecom_agent_id is not None else None
    api = None
    if settings.wecom_secret and settings.wecom_agent_id is not None:
        api = WeComAPI(settings.wecom_api_base, corp_id, settings.wecom_secret, settings.wecom_agent_id,
                       shared=SharedTokens(settings, lambda: responder.engine()))
    else:
        log.warning("WeCom: ZHENGWU_WECOM_SECRET/AGENT_ID not set: answers later than %.1f s cannot be sent",
                    settings.wechat_reply_seconds)
    account = f"{corp_id}:{agent_id}"
    responder = Responder("wecom", settings, get_core, api.send_text if api else None,
                          settings.wechat_reply_seconds, account=account, max_skew=max_skew)
    router = APIRouter(tags=["channels"], lifespan=responder.lifespan)
    router.api = api
    router.responder = responder

    @router.get("/wecom", include_in_schema=False)
    async def verify(request: Request) -> Response:
        q = request.query_params
        try:
            echo = crypto.verify_url(q.get("msg_signature"), q.get("timestamp", ""), q.get("nonce", ""),
                                     q.get("echostr", ""))
        except WXCryptoError as exc:
            return refusal("wecom", exc)
        return PlainTextResponse(echo)

    @router.post("/wecom", include_in_schema=False)
    async def receive(request: Request) -> Response:
        started = time.monotonic()
        body = await read_body(request)
        if body is None:
            return PlainTextResponse("too large", status_code=413)
        q = request.query_params
        timestamp, nonce, signature = q.get("timestamp", ""), q.get("nonce", ""), q.get("msg_signature")
        try:
            envelope = parse_xml(body)
            if envelope.get("ToUserName") and envelope["ToUserName"] != corp_id:
                log.warning("wecom callback refused: addressed to another corporation")
                return forbidden()
            xml = crypto.decrypt_message(envelope.get("Encrypt", ""), signature, timestamp, nonce)
        except WXCryptoError as exc:
            return refusal("wecom", exc)
        refused = await responder.replayed(timestamp, nonce, signature, body)  # one use per signature
        if refused is not None:
            return refused
        try:
            message = parse_xml(xml)
        except WXCryptoError as exc:
            return refusal("wecom", exc)
        if agent_id is not None and message.get("AgentID") and message["AgentID"] != agent_id:
            log.warning("wecom callback refused: message for another application")
            return forbidden()
        user = message.get("FromUserName", "")
        if not valid_user_id(user, _USERID):
            return bad_request()

        def reply(text: str, background: BackgroundTask | None = None) -> Response:
            envelope_out = crypto.encrypt_message(text_reply_xml(user, corp_id, text))
            return Response(envelope_out, media_type="application/xml", background=background)

        return await handle_message("wecom", account, responder, message, user, started, reply)

    add_short_link_route(router, responder.links)
    return router

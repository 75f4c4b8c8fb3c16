"""Outbound calls to WeChat (公众号 客服消息) and WeCom (应用消息), for answers that missed the passive-reply
deadline and for the remaining pieces of long answers.

Both need an access_token. The Official Account's comes from ``/cgi-bin/stable_token`` (POST JSON, normal
mode): unlike ``/cgi-bin/token`` it does not invalidate the token other holders have, and within its last
five minutes it hands out the next one. WeCom's comes from ``/cgi-bin/gettoken``. With a ``SharedTokens``
store (``channels.tokens``: Redis or the database) every worker uses the one token of the account; without
one, each process caches its own. Either way a token is used until ``expires_in`` − 300 s. A call refused
because the token is invalid or expired (40001, 40014, 42001) refreshes it once — taking the shared one when
another worker already replaced it, else fetching a new one — and tries again; stable_token's
``force_refresh`` is never used, as it would invalidate every other worker's token. Failures are logged
without message content or user ids, and raised as ``WeChatAPIError``. Timeouts are short: these calls run
in background threads and must not pile up.

Note for Official Accounts: the IP addresses of the servers calling ``/cgi-bin/stable_token`` must be on the
account's IP whitelist (公众号后台 → 基本配置 → IP白名单), or WeChat answers errcode 40164.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import httpx
from pydantic import SecretStr

from zhengwu.channels.tokens import SharedTokens
from zhengwu.config import secret as secret_text

log = logging.getLogger("zhengwu.channels.wechat_api")
TOKEN_ERRORS = frozenset({40001, 40014, 42001})
TOKEN_MARGIN_SECONDS = 300
DEFAULT_TIMEOUT = httpx.Timeout(5.0, connect=3.0)


class WeChatAPIError(RuntimeError):
    def __init__(self, platform: str, call: str, errcode: int | None, errmsg: str = "") -> None:
        detail = f"errcode {errcode}" if errcode is not None else errmsg
        super().__init__(f"{platform} API {call} failed: {detail}")
        self.platform = platform
        self.call = call
        self.errcode = errcode
        self.errmsg = errmsg


class _TokenedAPI:
    platform = "WeChat"

    def __init__(self, api_base: str, timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
                 client: httpx.Client | None = None, shared: SharedTokens | None = None) -> None:
        self.api_base = api_base.rstrip("/")
        self._client = client or httpx.Client(timeout=timeout, trust_env=False)
        self._shared = shared
        self._token: str | None = None
        self._refresh_at = 0.0  # unix seconds: workers compare it with each other's, so wall-clock time
        self._lock = threading.Lock()
        self.token_fetches = 0

    @property
    def token_name(self) -> str:
        """The shared store's name for this account's token (at most 64 characters)."""
        raise NotImplementedError

    def _fetch_token(self) -> dict[str, Any]:
        raise NotImplementedError

    def close(self) -> None:
        self._client.close()

    def access_token(self, rejected: str | None = None) -> str:
        """The account's token: this process's copy, else the shared one, else a new one. ``rejected``: the
        platform just refused that token, so neither copy of it will do."""
        with self._lock:
            now = time.time()
            if self._token and self._token != rejected and now < self._refresh_at:
                return self._token  # (also when another thread replaced a rejected token meanwhile)
            shared = self._shared.get(self.token_name) if self._shared is not None else None
            if shared is not None and shared[0] != rejected and shared[1] - now > TOKEN_MARGIN_SECONDS:
                self._token, self._refresh_at = shared[0], shared[1] - TOKEN_MARGIN_SECONDS
                return shared[0]
            data = self._fetch_token()
            token = data.get("access_token")
            if not isinstance(token, str) or not token:
                log.error("%s API token: no access_token in the response", self.platform)
                raise WeChatAPIError(self.platform, "token", data.get("errcode"), "no access_token")
            expires_in = data.get("expires_in")
            expires_in = int(expires_in) if isinstance(expires_in, int | str) and str(expires_in).isdigit() else 7200
            self._token = token
            self._refresh_at = now + max(60, expires_in - TOKEN_MARGIN_SECONDS)
            self.token_fetches += 1
            if self._shared is not None:
                self._shared.put(self.token_name, token, now + expires_in)
            return token

    def _request(self, method: str, path: str, call: str, params: dict | None = None,
                 body: dict | None = None) -> dict[str, Any]:
        content = json.dumps(body, ensure_ascii=False).encode("utf-8") if body is not None else None
        headers = {"Content-Type": "application/json; charset=utf-8"} if content is not None else None
        try:
            response = self._client.request(method, self.api_base + path, params=params, content=content,
                                            headers=headers)
            response.raise_for_status()
            data = response.json()
        except httpx.HTTPStatusError as exc:
            log.error("%s API %s: HTTP %s", self.platform, call, exc.response.status_code)
            raise WeChatAPIError(self.platform, call, None, f"HTTP {exc.response.status_code}") from exc
        except httpx.HTTPError as exc:
            log.error("%s API %s: %s", self.platform, call, type(exc).__name__)
            raise WeChatAPIError(self.platform, call, None, type(exc).__name__) from exc
        except ValueError as exc:
            log.error("%s API %s: the response is not JSON", self.platform, call)
            raise WeChatAPIError(self.platform, call, None, "response is not JSON") from exc
        if not isinstance(data, dict):
            raise WeChatAPIError(self.platform, call, None, "response is not a JSON object")
        errcode = data.get("errcode", 0)
        if errcode not in (0, None):
            errmsg = str(data.get("errmsg", ""))[:120]
            if errcode not in TOKEN_ERRORS:
                log.error("%s API %s failed: errcode=%s errmsg=%s", self.platform, call, errcode, errmsg)
            raise WeChatAPIError(self.platform, call, errcode if isinstance(errcode, int) else None, errmsg)
        return data

    def _post_with_token(self, path: str, call: str, body: dict) -> dict[str, Any]:
        token = self.access_token()
        try:
            return self._request("POST", path, call, params={"access_token": token}, body=body)
        except WeChatAPIError as exc:
            if exc.errcode not in TOKEN_ERRORS:
                raise
            log.info("%s API %s: access_token rejected (errcode=%s), fetching a new one", self.platform, call,
                     exc.errcode)
        token = self.access_token(rejected=token)
        try:
            return self._request("POST", path, call, params={"access_token": token}, body=body)
        except WeChatAPIError as exc:
            if exc.errcode in TOKEN_ERRORS:
                log.error("%s API %s failed: errcode=%s after a token refresh", self.platform, call, exc.errcode)
            raise


class OfficialAccountAPI(_TokenedAPI):
    """公众号: ``/cgi-bin/stable_token`` and 客服消息 ``/cgi-bin/message/custom/send``."""

    platform = "WeChat"

    def __init__(self, api_base: str, app_id: str, app_secret: SecretStr | str, **kwargs) -> None:
        super().__init__(api_base, **kwargs)
        self.app_id = app_id
        self._secret = secret_text(app_secret) or ""

    @property
    def token_name(self) -> str:
        return f"token:wechat:{self.app_id}"[:64]

    def _fetch_token(self) -> dict[str, Any]:
        return self._request("POST", "/cgi-bin/stable_token", "stable_token",
                             body={"grant_type": "client_credential", "appid": self.app_id,
                                   "secret": self._secret, "force_refresh": False})

    def send_text(self, openid: str, content: str) -> None:
        self._post_with_token("/cgi-bin/message/custom/send", "message/custom/send",
                              {"touser": openid, "msgtype": "text", "text": {"content": content}})


class WeComAPI(_TokenedAPI):
    """企业微信: ``/cgi-bin/gettoken`` and 应用消息 ``/cgi-bin/message/send``."""

    platform = "WeCom"

    def __init__(self, api_base: str, corp_id: str, secret: SecretStr | str, agent_id: int, **kwargs) -> None:
        super().__init__(api_base, **kwargs)
        self.corp_id = corp_id
        self.agent_id = int(agent_id)
        self._secret = secret_text(secret) or ""

    @property
    def token_name(self) -> str:
        return f"token:wecom:{self.corp_id}:{self.agent_id}"[:64]

    def _fetch_token(self) -> dict[str, Any]:
        return self._request("GET", "/cgi-bin/gettoken", "gettoken",
                             params={"corpid": self.corp_id, "corpsecret": self._secret})

    def send_text(self, userid: str, content: str) -> None:
        data = self._post_with_token("/cgi-bin/message/send", "message/send",
                                     {"touser": userid, "msgtype": "text", "agentid": self.agent_id,
                                      "text": {"content": content}})
        if data.get("invaliduser"):
            log.error("WeCom API message/send: the recipient is not reachable by this application")
            raise WeChatAPIError(self.platform, "message/send", None, "invalid user")

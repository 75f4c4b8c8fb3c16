"""Platform access tokens shared by every worker: Redis when ``ZHENGWU_REDIS_URL`` is set, else the
``shared_values`` table of the database (``zhengwu.db.shared_values``), else this process only.

One token per account for the whole deployment: N workers fetching their own would spend N times the daily
token quota, and with WeChat's ``/cgi-bin/token`` each fetch invalidated the others' tokens (the Official
Account now uses ``/cgi-bin/stable_token``, which does not, but sharing still saves the calls). A stored token
is ``{"token": …, "expires_at": unix seconds}``; readers refresh it a little before it expires
(``wechat_api.TOKEN_MARGIN_SECONDS``). A store that fails is logged and bypassed: a worker with its own token
is better than a worker that cannot send.

Whoever can read Redis or the database can read the token, as they can read the rest of what it guards.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from sqlalchemy.engine import Engine

from zhengwu.db import shared_values

log = logging.getLogger("zhengwu.channels.tokens")
REDIS_PREFIX = "zhengwu:token:"


class TokenStore(Protocol):
    def get(self, name: str) -> tuple[str, float] | None:
        """(token, expires_at) stored under ``name``, or None."""
        ...

    def put(self, name: str, token: str, expires_at: float) -> None: ...


def _encode(token: str, expires_at: float) -> str:
    return json.dumps({"token": token, "expires_at": expires_at})


def _decode(value: str | bytes | None) -> tuple[str, float] | None:
    if value is None:
        return None
    try:
        data = json.loads(value)
        token, expires_at = data["token"], float(data["expires_at"])
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(token, str) or not token or expires_at <= time.time():
        return None
    return token, expires_at


class RedisTokenStore:
    def __init__(self, url: str, prefix: str = REDIS_PREFIX, client=None) -> None:
        if client is None:
            import redis

            client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._redis = client
        self.prefix = prefix

    def get(self, name: str) -> tuple[str, float] | None:
        return _decode(self._redis.get(self.prefix + name))

    def put(self, name: str, token: str, expires_at: float) -> None:
        ttl = max(1, int(expires_at - time.time()))
        self._redis.set(self.prefix + name, _encode(token, expires_at), ex=ttl)


class DbTokenStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, name: str) -> tuple[str, float] | None:
        return _decode(shared_values.read(self.engine, name))

    def put(self, name: str, token: str, expires_at: float) -> None:
        shared_values.write(self.engine, name, _encode(token, expires_at), expires_at)


class SharedTokens:
    """The store a deployment's settings call for, chosen on first use (the database is known only once the
    service has started: ``get_engine``). Never raises: a failing store reads as empty and writes nowhere."""

    def __init__(self, settings, get_engine: Callable[[], Engine | None] | None = None) -> None:
        self._settings = settings
        self._get_engine = get_engine
        self._store: TokenStore | None = None
        self._resolved = False
        self._lock = threading.Lock()

    def store(self) -> TokenStore | None:
        with self._lock:
            if not self._resolved:
                self._resolved = True
                if getattr(self._settings, "redis_url", None):
                    self._store = RedisTokenStore(self._settings.redis_url)
                else:
                    engine = self._get_engine() if self._get_engine is not None else None
                    self._store = DbTokenStore(engine) if engine is not None else None
            return self._store

    def get(self, name: str) -> tuple[str, float] | None:
        try:
            store = self.store()
            return store.get(name) if store is not None else None
        except Exception:  # noqa: BLE001 - see the module docstring
            log.warning("could not read a shared access token; fetching one for this worker", exc_info=True)
            return None

    def put(self, name: str, token: str, expires_at: float) -> None:
        try:
            store = self.store()
            if store is not None:
                store.put(name, token, expires_at)
        except Exception:  # noqa: BLE001 - see the module docstring
            log.warning("could not share an access token with the other workers", exc_info=True)

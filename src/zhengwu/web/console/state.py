"""The review console's state, one per app (``AppState.console``): what it signs cookies with, the admin token,
the login throttle (built on first use) and the templates. Built once from the settings when the console is mounted."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from jinja2 import Environment
from sqlalchemy.engine import Engine

from zhengwu.config import Settings, secret
from zhengwu.web.console.auth import SessionSigner, console_key
from zhengwu.web.console.templating import environment
from zhengwu.web.console.throttle import LoginThrottle, make_login_throttle


@dataclass
class ConsoleState:
    signer: SessionSigner | None  # None: the console is off (neither ZHENGWU_CONSOLE_SECRET nor ZHENGWU_ADMIN_TOKEN)
    admin_token: str | None = None
    token_tag: str = ""  # identifies the admin token in token sessions (``SessionSigner.token_tag``)
    env: Environment = field(default_factory=environment)
    _throttle: LoginThrottle | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def throttle(self, settings: Settings, engine: Engine | None) -> LoginThrottle:
        """The login throttle, shared with the other workers (built on first use: the database is opened by the
        app's lifespan, after the console is mounted)."""
        with self._lock:
            if self._throttle is None:
                self._throttle = make_login_throttle(settings.redis_url, engine)
            return self._throttle

    @classmethod
    def from_settings(cls, settings: Settings) -> ConsoleState:
        key = console_key(settings)
        signer = SessionSigner(key) if key else None
        admin_token = secret(settings.admin_token)
        return cls(signer, admin_token, signer.token_tag(admin_token) if signer else "")

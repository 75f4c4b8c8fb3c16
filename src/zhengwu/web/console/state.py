"""The review console's state, one per app (``AppState.console``): what it signs cookies with, the admin token,
the login throttle and the templates. Built once from the settings when the console is mounted."""

from __future__ import annotations

from dataclasses import dataclass, field

from jinja2 import Environment

from zhengwu.config import Settings, secret
from zhengwu.web.console.auth import LoginThrottle, SessionSigner, console_key
from zhengwu.web.console.templating import environment


@dataclass
class ConsoleState:
    signer: SessionSigner | None  # None: the console is off (neither ZHENGWU_CONSOLE_SECRET nor ZHENGWU_ADMIN_TOKEN)
    admin_token: str | None = None
    token_tag: str = ""  # identifies the admin token in token sessions (``SessionSigner.token_tag``)
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    env: Environment = field(default_factory=environment)

    @classmethod
    def from_settings(cls, settings: Settings) -> ConsoleState:
        key = console_key(settings)
        signer = SessionSigner(key) if key else None
        admin_token = secret(settings.admin_token)
        return cls(signer, admin_token, signer.token_tag(admin_token) if signer else "")

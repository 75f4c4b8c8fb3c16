"""Delivering expiry reminders through the chat channels: ``zhengwu reminders run --deliver`` sends each one
through the first WeChat / WeCom / Telegram identity of the citizen that this deployment has credentials for.

Which reminders are due and what they say is the personal-data package's business (``zhengwu.personal``); the
channel APIs live here, so that package never talks to a channel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from zhengwu.config import Settings, secret
from zhengwu.personal import Reminder

# The logger name reminders were always logged under (before they moved here), so log filters keep working.
log = logging.getLogger("zhengwu.citizens")


def reminder_senders(settings: Settings) -> dict[str, Callable[[str, str], None]]:
    """``channel -> send(external_id, text)`` for every channel this deployment has credentials for."""
    from zhengwu.channels.tokens import SharedTokens
    from zhengwu.channels.wechat_api import OfficialAccountAPI, WeComAPI

    senders: dict[str, Callable[[str, str], None]] = {}
    shared = SharedTokens(settings)  # the service's tokens when Redis holds them, else this run's own
    if settings.wechat_app_id and settings.wechat_app_secret:
        senders["wechat"] = OfficialAccountAPI(settings.wechat_api_base, settings.wechat_app_id,
                                               settings.wechat_app_secret, shared=shared).send_text
    if settings.wecom_corp_id and settings.wecom_secret and settings.wecom_agent_id is not None:
        senders["wecom"] = WeComAPI(settings.wecom_api_base, settings.wecom_corp_id, settings.wecom_secret,
                                    settings.wecom_agent_id, shared=shared).send_text
    if settings.telegram_token:
        senders["telegram"] = _telegram_sender(settings)
    return senders


def _telegram_sender(settings: Settings) -> Callable[[str, str], None]:
    import httpx

    token = secret(settings.telegram_token)

    def send(chat_id: str, text: str) -> None:
        response = httpx.post(f"{settings.telegram_api_base}{token}/sendMessage",
                              json={"chat_id": chat_id, "text": text}, timeout=10)
        if response.status_code != 200 or not response.json().get("ok"):
            raise RuntimeError(f"Telegram sendMessage failed with HTTP {response.status_code}")

    return send


def deliver(reminder: Reminder, senders: dict[str, Callable[[str, str], None]]) -> str | None:
    """Send one reminder through the first channel of the user that can carry it; the channel used, or None."""
    for channel, external_id in reminder.identities:
        send = senders.get(channel)
        if send is None:
            continue
        try:
            send(external_id, reminder.text)
            return channel
        except Exception as exc:  # noqa: BLE001 - one failed channel must not stop the run
            log.warning("reminder for user %s not delivered via %s: %s", reminder.user_id, channel,
                        type(exc).__name__)
    return None

"""The channel endpoints the HTTP service mounts, each only when its platform is configured.

``get_core`` returns the service's ``ChannelCore`` (available once the app has started)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter

from zhengwu.channels.common import ChannelCore
from zhengwu.config import Settings


def channel_routers(settings: Settings, get_core: Callable[[], ChannelCore]) -> list[APIRouter]:
    routers: list[APIRouter] = []
    if settings.wechat_token:
        from zhengwu.channels.wechat import wechat_router

        routers.append(wechat_router(settings, get_core))
    if settings.wecom_token:
        from zhengwu.channels.wecom import wecom_router

        routers.append(wecom_router(settings, get_core))
    if settings.telegram_token and settings.telegram_webhook_secret:
        from zhengwu.channels.telegram import telegram_webhook_router

        routers.append(telegram_webhook_router(settings, get_core))
    return routers

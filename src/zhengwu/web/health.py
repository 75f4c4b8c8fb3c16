"""Readiness of the service's dependencies: the database, Redis and a Chroma server, each when configured.

Each check is short (a second at most), so a load balancer's probe gets its answer quickly, and returns a reason
an operator can act on; nothing here raises."""

from __future__ import annotations

import time

from zhengwu.config import Settings

_CACHE_SECONDS = 2.0
_cache: dict = {}


def check_dependencies(settings: Settings, people=None) -> dict[str, str]:
    """``{"database": "ok" | reason, "redis": …, "chroma": …}`` for the configured dependencies."""
    key = (settings.redis_url, settings.chroma_url, id(people))
    cached = _cache.get(key)
    if cached and time.monotonic() - cached[0] < _CACHE_SECONDS:
        return cached[1]
    results: dict[str, str] = {}
    if people is not None:
        results["database"] = _check(lambda: _ping_database(people.engine))
    if settings.redis_url:
        results["redis"] = _check(lambda: _ping_redis(settings.redis_url))
    if settings.chroma_url:
        results["chroma"] = _check(lambda: _ping_chroma(settings.chroma_url))
    _cache[key] = (time.monotonic(), results)
    return results


def _check(probe) -> str:
    try:
        probe()
        return "ok"
    except Exception as exc:  # noqa: BLE001 - any failure is "not ready", with its kind for the operator
        return f"unreachable ({type(exc).__name__})"


def _ping_database(engine) -> None:
    import sqlalchemy as sa

    with engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))


def _ping_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1).ping()


def _ping_chroma(url: str) -> None:
    import httpx

    response = httpx.get(f"{url.rstrip('/')}/api/v2/heartbeat", timeout=1)
    response.raise_for_status()

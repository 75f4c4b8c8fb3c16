"""Per-client rate limits: a token bucket per IP address in this process, or a window shared by all workers in
Redis when ``ZHENGWU_REDIS_URL`` is set."""

from __future__ import annotations

import logging
import math
import threading
import time

log = logging.getLogger("zhengwu.ratelimit")


class RateLimiter:
    def __init__(self, per_minute: int, max_clients: int = 100_000) -> None:
        self.per_minute = per_minute
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, last refill time)
        self._max_clients = max_clients
        self._lock = threading.Lock()

    def check(self, client: str) -> int:
        """0 if the request may go ahead, else the seconds to wait (for Retry-After)."""
        if self.per_minute <= 0:
            return 0
        rate = self.per_minute / 60.0
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(client, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - last) * rate)
            if tokens < 1.0:
                self._buckets[client] = (tokens, now)
                return max(1, math.ceil((1.0 - tokens) / rate))
            if len(self._buckets) >= self._max_clients and client not in self._buckets:
                self._buckets.pop(next(iter(self._buckets)))
            self._buckets[client] = (tokens - 1.0, now)
            return 0


class RedisRateLimiter:
    """The same limit shared by every worker and machine: a fixed one-minute window per client in Redis.

    If Redis stops answering, each worker falls back to its own token bucket (still a limit, per worker) and
    says so in the log; it uses Redis again as soon as Redis answers."""

    def __init__(self, per_minute: int, url: str, prefix: str = "zhengwu:ratelimit:") -> None:
        import redis

        self.per_minute = per_minute
        self._redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._prefix = prefix
        self._fallback = RateLimiter(per_minute)
        self._down = False

    def check(self, client: str) -> int:
        if self.per_minute <= 0:
            return 0
        window = int(time.time() // 60)
        key = f"{self._prefix}{client}:{window}"
        try:
            pipe = self._redis.pipeline()
            pipe.incr(key)
            pipe.expire(key, 120)
            count = pipe.execute()[0]
        except Exception as exc:  # noqa: BLE001 - any Redis failure: limit locally, keep serving
            if not self._down:
                log.error("Redis unreachable for rate limiting (%s): limiting per worker until it returns",
                          type(exc).__name__)
                self._down = True
            return self._fallback.check(client)
        if self._down:
            log.warning("Redis reachable again: rate limits are shared across workers again")
            self._down = False
        if count > self.per_minute:
            return max(1, 60 - int(time.time()) % 60)
        return 0


def make_rate_limiter(per_minute: int, redis_url: str | None):
    return RedisRateLimiter(per_minute, redis_url) if redis_url else RateLimiter(per_minute)

"""Per-client rate limit: a token bucket per IP address, in this process (a later issue shares it via Redis)."""

from __future__ import annotations

import math
import threading
import time


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

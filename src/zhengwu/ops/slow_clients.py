"""``SlowClientProtocol``: uvicorn's HTTP protocol (``zhengwu serve``), closing a connection whose request
headers are not complete within ``ZHENGWU_HEADER_TIMEOUT_SECONDS``. uvicorn times out idle keep-alive
connections but waits for ever on half-sent headers: 220 such connections were held open in issue 15
(slowloris). The body's pace is ``web.limits.BodyLimit``'s business.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol

from zhengwu.config import get_settings

log = logging.getLogger("zhengwu.web")


class SlowClientProtocol(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
    """uvicorn's HTTP protocol, closing connections whose request headers take too long (see the module)."""

    @property
    def header_timeout(self) -> float:
        # Read in the worker process (uvicorn spawns workers: a class attribute set by `serve` would not reach them).
        return get_settings().header_timeout_seconds

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        self._header_timer: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._awaiting_headers():
            self._arm_header_timer()
        elif self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        super().connection_lost(exc)

    def _awaiting_headers(self) -> bool:
        # A request's cycle exists from its last header on; the previous request's cycle is complete.
        cycle = getattr(self, "cycle", None)
        return cycle is None or cycle.response_complete

    def _arm_header_timer(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self._awaiting_headers() and not self.transport.is_closing():
            log.info("closed a connection whose request headers did not arrive within %.0f s", self.header_timeout)
            self.transport.close()

"""The service's typed state, one per app (``app.state.zhengwu``): what every route reads through ``Depends``."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import HTTPException

from zhengwu.answering import wording
from zhengwu.answering.assistant import Assistant
from zhengwu.bootstrap import Services
from zhengwu.channels.common import ChannelCore
from zhengwu.config import Settings
from zhengwu.personal import PeopleStore
from zhengwu.review import ReviewStore
from zhengwu.web.ratelimit import make_rate_limiter

# Answering is CPU work under the GIL: two at a time per worker, the rest wait in order. Forty threads
# contending for one interpreter lock make the slowest answers much slower (load_benchmark.py, 20 clients,
# 2 workers: p95 456 ms unbounded, 277-328 ms with 2, 376 ms with 1). With an LLM most of an answer's time is
# spent waiting for the model, so more may wait at once.
CONCURRENT_ANSWERS = 2
CONCURRENT_ANSWERS_WITH_LLM = 16


@dataclass
class AppState:
    settings: Settings
    services: Services | None = None  # None until the lifespan has opened them
    started: float = field(default_factory=time.time)
    requests: int = 0
    reindex_lock: threading.Lock = field(default_factory=threading.Lock)
    tasks: set[asyncio.Task] = field(default_factory=set)  # streamed answers still being written
    console: Any = None  # the review console's state (``web.console.state.ConsoleState``), when mounted
    _core: ChannelCore | None = None

    def __post_init__(self) -> None:
        self.limiter = make_rate_limiter(self.settings.rate_limit_per_minute, self.settings.redis_url)
        self.answering = asyncio.Semaphore(
            CONCURRENT_ANSWERS_WITH_LLM if self.settings.llm_base_url else CONCURRENT_ANSWERS)

    @property
    def assistant(self) -> Assistant:
        if self.services is None:
            raise HTTPException(503, detail={"message": wording.STILL_STARTING,
                                             "detail": "the assistant is still starting"})
        return self.services.assistant

    @property
    def people(self) -> PeopleStore | None:
        return self.services.people if self.services is not None else None

    @property
    def reviews(self) -> ReviewStore | None:
        return self.services.reviews if self.services is not None else None

    def channel_core(self) -> ChannelCore:
        """The chat channels' core over the assistant (built on the first channel message)."""
        if self._core is None:
            self._core = ChannelCore(self.assistant, self.people, self.reviews)
        return self._core

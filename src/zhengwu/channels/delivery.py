"""Sending answers through the platform API (WeChat 客服消息, WeCom 应用消息) so that they outlive the worker.

An answer goes this way when it missed the passive-reply deadline (all of it) or was too long for one reply
(all but its first piece). Before the worker replies ``success`` it records what it owes in
``pending_replies`` (``channels.pending``), and deletes the row once the last piece is out. What is recorded:

* **the question** while the answer is being computed — a worker dying mid-answer leaves a question, and
  whichever worker takes the row over answers it afresh (the conversation's earlier turns are in the shared
  session store, so the answer is the one the citizen would have had; the turn may be logged twice when the
  worker died between logging and recording the answer);
* **the answer's remaining pieces** from the moment it is ready, shortened after each piece is sent — a
  worker dying mid-delivery leaves the pieces not yet sent, and they go out as they were, in order, never
  recomputed and never repeated (WeChat allows only five 客服消息 per user message: see ``pieces_of``).

Every worker sweeps the table at start-up and every ``SWEEP_SECONDS`` for rows of its own account whose
claim ran out (``pending.CLAIM_SECONDS`` after their owner last showed life). A failed send releases the row
for a later attempt (30 s, 60 s, … ; given up after ``MAX_ATTEMPTS``). WeChat's refusals that no retry can
cure end it at once: 45015 (the user's 48-hour window has closed) and 45047 (the five messages are used up) —
logged, with the recipient as a salted digest, and the row dropped. So is a row older than 48 hours.

Without a database (no people store) answers are sent as before, from this worker's memory only.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from zhengwu.channels.pending import Owed, PendingReplies
from zhengwu.channels.wechat_api import WeChatAPIError
from zhengwu.ops.observability import CHANNEL_ERRORS

log = logging.getLogger("zhengwu.channels.delivery")

FINAL_ERRORS = {45015: "the user's 48-hour window has closed",
                45047: "the user's customer-service message quota is used up"}
WINDOW_SECONDS = 48 * 3600
MAX_ATTEMPTS = 5
RETRY_BASE_SECONDS = 30.0
RETRY_MAX_SECONDS = 900.0
SWEEP_SECONDS = 30.0


def recipient_ref(user: str) -> str:
    """A recipient as logs may name it: a salted digest, enough to tell two users apart in one log."""
    return "u" + hashlib.sha256(f"zhengwu-recipient\x00{user}".encode()).hexdigest()[:10]


class Courier:
    """Delivers the pieces of one channel account's answers, keeping what is owed in the database
    (``get_engine()``: the shared database, or None)."""

    def __init__(self, channel: str, account: str, send: Callable[[str, str], None] | None,
                 get_engine: Callable[[], Engine | None]) -> None:
        self.channel = channel
        self.account = account
        self.send = send
        self.retry_base = RETRY_BASE_SECONDS
        self._get_engine = get_engine
        self._store: PendingReplies | None = None
        self._resolved = False
        self._lock = threading.Lock()

    def store(self) -> PendingReplies | None:
        with self._lock:
            if not self._resolved:
                engine = self._get_engine()
                self._store = PendingReplies(engine) if engine is not None else None
                self._resolved = True
            return self._store

    # -- the owner's side -----------------------------------------------------------------------------------
    def owe(self, user: str, payload: dict) -> Owed | None:
        """Record what ``user`` is owed (``{"question": …}`` or ``{"pieces": […]}``), claimed by this worker;
        None without a database or API credentials (nothing could deliver it), or when the write failed."""
        store = self.store() if self.send is not None else None
        if store is None:
            return None
        try:
            return store.add(self.channel, user, {"account": self.account, **payload})
        except SQLAlchemyError:
            log.exception("%s: could not record an owed answer; it is sent from memory only", self.channel)
            return None

    def deliver(self, user: str, pieces: list[str], owed: Owed | None = None) -> None:
        """Send ``pieces`` in order; with ``owed``, the row records the pieces still to send and is deleted
        after the last. Failures are logged, never raised (this runs in background threads)."""
        if self.send is None:
            log.warning("%s: an answer could not be delivered: API credentials are not configured", self.channel)
            return
        if owed is not None:
            owed = self._renew(owed, pieces)  # from here on a dead worker's answer is re-sent, not recomputed
            if owed is None:
                return
        for n, piece in enumerate(pieces, 1):
            try:
                self.send(user, piece)
            except Exception as exc:  # noqa: BLE001 - background work: log, never crash the worker
                self._failed(user, owed, exc, n, len(pieces))
                return
            if owed is not None and n < len(pieces):
                owed = self._renew(owed, pieces[n:])
                if owed is None:
                    return
        if owed is not None:
            self._finish(owed)

    # -- any worker's side ----------------------------------------------------------------------------------
    def sweep(self, answer: Callable[[str, str], list[str]]) -> int:
        """Deliver what dead (or failed) workers left owed to this account's users; the number of rows taken.
        ``answer(user, question)`` answers a question that was never answered."""
        store = self.store() if self.send is not None else None
        if store is None:
            return 0
        taken = store.claim_due(self.channel, accept=lambda payload: payload.get("account") == self.account)
        for owed in taken:
            ref = recipient_ref(owed.recipient)
            if time.time() - owed.created_at > WINDOW_SECONDS:
                log.warning("%s: an answer owed to %s for over 48 hours is dropped (row %s)", self.channel, ref,
                            owed.id)
                self._finish(owed)
                continue
            if owed.attempts > MAX_ATTEMPTS:
                log.error("%s: an answer owed to %s is dropped after %d attempts (row %s)", self.channel, ref,
                          owed.attempts - 1, owed.id)
                self._finish(owed)
                continue
            pieces = owed.payload.get("pieces")
            if not (isinstance(pieces, list) and pieces):
                question = owed.payload.get("question")
                if not isinstance(question, str) or not question:
                    log.error("%s: an unreadable owed answer is dropped (row %s)", self.channel, owed.id)
                    self._finish(owed)
                    continue
                log.info("%s: answering a question a worker left unanswered (row %s, attempt %d)", self.channel,
                         owed.id, owed.attempts)
                pieces = answer(owed.recipient, question)
            else:
                log.info("%s: sending %d piece(s) a worker left unsent (row %s, attempt %d)", self.channel,
                         len(pieces), owed.id, owed.attempts)
            self.deliver(owed.recipient, [str(p) for p in pieces], owed)
        return len(taken)

    # -- bookkeeping ------------------------------------------------------------------------------------------
    def _renew(self, owed: Owed, pieces: list[str]) -> Owed | None:
        store = self.store()
        assert store is not None
        try:
            renewed = store.renew(owed, {"account": self.account, "pieces": pieces})
        except SQLAlchemyError:  # the database is away: keep sending from memory rather than stop
            log.exception("%s: could not record delivery progress (row %s)", self.channel, owed.id)
            return owed
        if renewed is None:
            log.warning("%s: another worker took over an owed answer (row %s); leaving it to them", self.channel,
                        owed.id)
        return renewed

    def _finish(self, owed: Owed) -> None:
        store = self.store()
        assert store is not None
        try:
            store.finish(owed)
        except SQLAlchemyError:
            log.exception("%s: could not delete a delivered answer's row %s", self.channel, owed.id)

    def _failed(self, user: str, owed: Owed | None, exc: Exception, n: int, total: int) -> None:
        CHANNEL_ERRORS.labels(self.channel).inc()
        ref = recipient_ref(user)
        what = str(exc) if isinstance(exc, WeChatAPIError) else type(exc).__name__
        errcode = exc.errcode if isinstance(exc, WeChatAPIError) else None
        if errcode in FINAL_ERRORS:
            log.warning("%s: %s (errcode %s): %d piece(s) owed to %s dropped%s", self.channel,
                        FINAL_ERRORS[errcode], errcode, total - n + 1, ref,
                        f" (row {owed.id})" if owed is not None else "")
            if owed is not None:
                self._finish(owed)
            return
        if owed is None:
            log.error("%s: piece %d of %d to %s not delivered (%s)", self.channel, n, total, ref, what)
            return
        if owed.attempts >= MAX_ATTEMPTS:
            log.error("%s: piece %d of %d to %s not delivered (%s); given up after %d attempts (row %s)",
                      self.channel, n, total, ref, what, owed.attempts, owed.id)
            self._finish(owed)
            return
        retry_in = min(RETRY_MAX_SECONDS, self.retry_base * 2 ** (owed.attempts - 1))
        log.error("%s: piece %d of %d to %s not delivered (%s); retrying in %.0f s (row %s)", self.channel, n,
                  total, ref, what, retry_in, owed.id)
        try:
            self.store().release(owed, retry_in)  # type: ignore[union-attr]
        except SQLAlchemyError:
            log.exception("%s: could not release row %s; it is retried when its claim runs out", self.channel,
                          owed.id)

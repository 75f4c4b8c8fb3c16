"""One use per callback signature: a captured WeChat/WeCom callback cannot be replayed within its window.

In 明文模式 the ``signature`` covers only [token, timestamp, nonce], not the body: whoever captures one callback
(a proxy log, a leaked URL) could post any message under it for as long as its timestamp is accepted
(``wxcrypto.DEFAULT_MAX_SKEW``, 300 s either way). So every authenticated callback's (timestamp, nonce,
signature) triple is remembered for that window, through the same ``Deduper`` store as the message
de-duplication (Redis or the database, shared by workers; keys under ``replay:``, distinct from the
``{channel}:{account}:msg:…`` message keys). The same code runs for 安全模式 and WeCom, where ``msg_signature``
covers the encrypted body and a replay was already a mere duplicate: one path for all three, and cheap.

A second use of a triple is not always an attack: WeChat retries a callback it got no answer to in time by
sending the very same request again (same query string, same body). Such a retry must keep getting
``success``, as the message de-duplication answers it today, never an error (WeChat counts errors against
the account). So two keys are taken, the body's first:

    replay:body:{channel}:{account}:{ts}:{nonce}:{sig}:{sha256(body)}   taken already → ``RETRY``: ``success``
    replay:sig:{channel}:{account}:{ts}:{nonce}:{sig}                    taken already → ``REPLAY``: 403

A retry (same body) finds its body key taken, whether the first delivery is still being answered or was
answered long ago, and gets ``success``; a replay with another body finds a fresh body key but a used
signature and is refused — never processed as a new message. The body key is taken first so that a retry
racing its original is never mistaken for a replay. Keys live ``2 × max_skew + 60`` seconds: a timestamp up
to ``max_skew`` in the future stays acceptable that long, and after that the signature check itself refuses
the triple as stale. When the store fails the callback is processed (as the message de-duplication does):
an unanswered citizen is the worse outcome, and the store failing is logged.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Literal

from zhengwu.channels.dedupe import Deduper

log = logging.getLogger("zhengwu.channels.replay")

NEW: Literal["new"] = "new"
RETRY: Literal["retry"] = "retry"
REPLAY: Literal["replay"] = "replay"
Verdict = Literal["new", "retry", "replay"]
NO_SKEW_TTL = 3600  # without a timestamp window (tests' vectors only) an hour is as good as any


def replay_ttl(max_skew: float | None) -> int:
    """How long a triple must be remembered: until its timestamp is stale whichever way it was skewed."""
    return NO_SKEW_TTL if max_skew is None else int(2 * max_skew) + 60


def check_callback(deduper: Deduper, channel: str, account: str, timestamp: str, nonce: str,
                   signature: str | None, body: bytes, ttl: int) -> Verdict:
    """``NEW`` for the first use of this authenticated triple, ``RETRY`` for the same request again,
    ``REPLAY`` for the triple with another body. Call only after the signature was verified."""
    # The signature is compared case-insensitively by wxcrypto: normalise so "ABC…" cannot pass as new.
    triple = f"{channel}:{account}:{timestamp}:{nonce}:{(signature or '').strip().lower()}"
    body_digest = hashlib.sha256(body).hexdigest()
    try:
        if not deduper.first(f"replay:body:{triple}:{body_digest}", ttl):
            return RETRY
        if not deduper.first(f"replay:sig:{triple}", ttl):
            log.warning("%s callback refused: a used signature came back with another body (replay)", channel)
            return REPLAY
    except Exception:  # noqa: BLE001 - better a rare replay processed than every citizen unanswered
        log.exception("%s: the replay store failed; processing the callback anyway", channel)
    return NEW

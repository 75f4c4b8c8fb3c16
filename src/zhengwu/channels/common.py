"""What every chat channel does the same way.

A channel knows its user only by an id of its own (a WeChat openid, a WeCom userid, a Telegram user id). Here
that id becomes a conversation session and, through the people store, a user whose consent decides whether
answers are personalised. Consent is given and withdrawn by plain messages ("开启个性化", "不使用个性化"), so it
works on every channel, including those without buttons; so is feedback: "有用" / "没用" (or 👍 / 👎) rates the
user's last answer, for the staff review console.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from dataclasses import dataclass

from zhengwu.answering import wording
from zhengwu.answering.answer import Answer
from zhengwu.answering.assistant import Assistant
from zhengwu.answering.user import UserContext
from zhengwu.chinese import FULL_STOPS
from zhengwu.db.shared_values import server_key
from zhengwu.personal import PeopleStore, personal_context
from zhengwu.review import ReviewStore

CONSENT_ON = re.compile(r"^\s*(开启|同意|打开)个性化\s*$")
CONSENT_OFF = re.compile(r"^\s*(关闭|撤回|取消|不使用)个性化\s*$")
REMIND_ON = re.compile(r"^\s*(开启|订阅)(到期)?提醒\s*$")
REMIND_OFF = re.compile(r"^\s*(退订|关闭|取消)(到期)?提醒\s*$")
RESET = re.compile(r"^\s*(重新开始|清除对话|/reset)\s*$")
FEEDBACK_UP = re.compile(r"^\s*(有用|有帮助|👍|👍🏻|👍🏼|👍🏽|👍🏾|👍🏿)\s*[!！。.]*\s*$")
FEEDBACK_DOWN = re.compile(r"^\s*(没用|没有用|没帮助|没有帮助|无用|👎|👎🏻|👎🏼|👎🏽|👎🏾|👎🏿)\s*[!！。.]*\s*$")

SESSION_KEY_NAME = "channel_session_key"


def session_for(channel: str, external_id: str, epoch: int = 0, key: bytes = b"") -> str:
    """A stable conversation id for a channel user: every worker derives the same one without storing it.

    Keyed (HMAC-SHA256 under a server key, ``ChannelCore.session_key``): knowing a WeCom userid or an openid
    must not let anybody compute the session id. Hex, so the session store accepts it; no raw id inside.
    ``epoch`` starts a fresh conversation ("重新开始")."""
    message = f"{channel}\x00{external_id}\x00{epoch}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


@dataclass
class Reply:
    text: str
    answer: Answer | None = None  # None for command replies (consent, help)


class ChannelCore:
    """The answer to one incoming text message of a channel user."""

    def __init__(self, assistant: Assistant, people: PeopleStore | None = None,
                 reviews: ReviewStore | None = None) -> None:
        self.assistant = assistant
        self.people = people
        self.hotline = assistant.settings.hotline
        self._epochs: dict[tuple[str, str], int] = {}
        # The turn each user's last answer was logged as, for "有用"/"没用". Another worker may hold the user's
        # previous message: the store's latest turn of the session is the fallback.
        self._last_turn: dict[tuple[str, str], int] = {}
        self._session_key: bytes | None = None
        self._key_lock = threading.Lock()
        self.reviews = reviews if reviews is not None else (ReviewStore.of(people) if people is not None else None)

    def handle_text(self, channel: str, external_id: str, text: str) -> Reply:
        command = self._command(channel, external_id, text)
        if command is not None:
            return Reply(command)
        user_id = self._user(channel, external_id)
        personal = personal_context(self.people, user_id) if self.people is not None else None
        session = self.session_id(channel, external_id)
        answer = self.assistant.ask(text, session=session, user=UserContext(personal=personal, user_id=user_id),
                                    channel=channel)
        if answer.turn_id is not None:
            self._last_turn[(channel, external_id)] = answer.turn_id
        return Reply(answer.text, answer)

    @property
    def session_key(self) -> bytes:
        """The key channel session ids are derived under: one per deployment, shared by every worker through
        the database (``shared_values``); without a people store, one per process (sessions are too)."""
        with self._key_lock:
            if self._session_key is None:
                engine = self.people.engine if self.people is not None else None
                self._session_key = (server_key(engine, SESSION_KEY_NAME) if engine is not None
                                     else secrets.token_bytes(32))
            return self._session_key

    def session_id(self, channel: str, external_id: str) -> str:
        """The id of this channel user's current conversation."""
        return session_for(channel, external_id, self._epochs.get((channel, external_id), 0), self.session_key)

    def feedback(self, channel: str, external_id: str, value: int) -> str:
        """Rate the user's last answer in their current conversation (+1 有用, -1 没用)."""
        store = self.reviews
        if store is None or self.people is None:
            return wording.RATING_UNAVAILABLE
        session = self.session_id(channel, external_id)
        turn_id = self._last_turn.get((channel, external_id))
        if turn_id is None:
            latest = self.people.turns(session_id=session, limit=1)
            turn_id = latest[0].id if latest else None
        if turn_id is None:
            return wording.NOTHING_TO_RATE
        try:
            store.record_feedback(turn_id, value, channel, session_id=session)
        except LookupError:  # the turn was purged, or belongs to a conversation the user reset
            return wording.NOTHING_TO_RATE
        return wording.THANKS_UP if value > 0 else wording.say(wording.THANKS_DOWN, self.hotline)

    def consent(self, channel: str, external_id: str, kind: str, granted: bool) -> None:
        if self.people is None:
            return
        self.people.set_consent(self._user(channel, external_id, create=True), kind, granted)

    def _user(self, channel: str, external_id: str, create: bool = True) -> int | None:
        if self.people is None:
            return None
        return self.people.user_for(channel, external_id, create=create)

    def _command(self, channel: str, external_id: str, text: str) -> str | None:
        if RESET.match(text):
            key = (channel, external_id)
            self._epochs[key] = self._epochs.get(key, 0) + 1
            self._last_turn.pop(key, None)
            return wording.NEW_CONVERSATION
        if FEEDBACK_UP.match(text):
            return self.feedback(channel, external_id, 1)
        if FEEDBACK_DOWN.match(text):
            return self.feedback(channel, external_id, -1)
        for pattern, kind, granted, said in (
            (CONSENT_ON, "personalisation", True, wording.PERSONALISATION_ON),
            (CONSENT_OFF, "personalisation", False, wording.PERSONALISATION_OFF),
            (REMIND_ON, "reminders", True, wording.REMINDERS_ON),
            (REMIND_OFF, "reminders", False, wording.REMINDERS_OFF),
        ):
            if pattern.match(text):
                if self.people is None:
                    return wording.PERSONALISATION_UNAVAILABLE
                self.consent(channel, external_id, kind, granted)
                return said
        return None


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of at most ``limit`` characters, cut at line ends (or sentence ends) where possible."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut < limit // 2:
            cut = max(rest.rfind(mark, 0, limit) for mark in FULL_STOPS + "；")
            cut = cut + 1 if cut >= limit // 2 else limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n")
    if rest.strip():
        pieces.append(rest)
    return pieces

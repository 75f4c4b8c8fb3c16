"""What every chat channel does the same way.

A channel knows its user only by an id of its own (a WeChat openid, a WeCom userid, a Telegram user id). Here
that id becomes a conversation session and, through the people store, a user whose consent decides whether
answers are personalised. Consent is given and withdrawn by plain messages ("开启个性化", "不使用个性化"), so it
works on every channel, including those without buttons; so is feedback: "有用" / "没用" (or 👍 / 👎) rates the
user's last answer, for the staff review console.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from zhengwu.answering.answer import Answer
from zhengwu.answering.assistant import Assistant, UserContext
from zhengwu.personal.citizens import personal_context

WELCOME = (
    "您好，我是政务服务助手，可以解答办事指南和政策法规方面的问题，例如：“居住证在哪里办理？”。\n"
    "回答均注明来源；资料没有覆盖的问题，我会如实告知并建议您拨打 12345。\n"
    "如希望我结合您的办件记录提供个性化提示（如下一步办什么、哪些材料已提交过），请回复“开启个性化”；"
    "随时回复“关闭个性化”即可撤回。"
)
HELP = (
    "直接输入您的问题即可，例如：“办理居住证需要什么材料？”。\n"
    "开启个性化：同意使用您的办件记录提供个性化提示\n"
    "关闭个性化：撤回同意，回答不再使用您的个人信息\n"
    "开启提醒 / 退订提醒：证件到期提醒\n"
    "有用 / 没用：评价上一条回答，帮助我们改进\n"
    "重新开始：清除本次对话的上下文"
)
NON_TEXT = "抱歉，目前只能处理文字消息，请用文字描述您的问题。"
CONSENT_ON = re.compile(r"^\s*(开启|同意|打开)个性化\s*$")
CONSENT_OFF = re.compile(r"^\s*(关闭|撤回|取消|不使用)个性化\s*$")
REMIND_ON = re.compile(r"^\s*(开启|订阅)(到期)?提醒\s*$")
REMIND_OFF = re.compile(r"^\s*(退订|关闭|取消)(到期)?提醒\s*$")
RESET = re.compile(r"^\s*(重新开始|清除对话|/reset)\s*$")
FEEDBACK_UP = re.compile(r"^\s*(有用|有帮助|👍|👍🏻|👍🏼|👍🏽|👍🏾|👍🏿)\s*[!！。.]*\s*$")
FEEDBACK_DOWN = re.compile(r"^\s*(没用|没有用|没帮助|没有帮助|无用|👎|👎🏻|👎🏼|👎🏽|👎🏾|👎🏿)\s*[!！。.]*\s*$")
THANKS_UP = "感谢您的反馈！很高兴能帮到您。"
THANKS_DOWN = "感谢您的反馈，我们会据此改进回答。如需人工服务，请拨打 12345 政务服务便民热线。"
NOTHING_TO_RATE = "暂时没有可以评价的回答。请先提问，再回复“有用”或“没用”评价回答。"


def session_for(channel: str, external_id: str, epoch: int = 0) -> str:
    """A stable conversation id for a channel user (hex, so the session store accepts it; no raw id inside).
    ``epoch`` starts a fresh conversation ("重新开始")."""
    return hashlib.sha256(f"{channel}\x00{external_id}\x00{epoch}".encode()).hexdigest()[:32]


@dataclass
class Reply:
    text: str
    answer: Answer | None = None  # None for command replies (consent, help)


class ChannelCore:
    """The answer to one incoming text message of a channel user."""

    def __init__(self, assistant: Assistant, people=None) -> None:
        self.assistant = assistant
        self.people = people if people is not None else assistant.people
        self._epochs: dict[tuple[str, str], int] = {}
        # The turn each user's last answer was logged as, for "有用"/"没用". Another worker may hold the user's
        # previous message: the store's latest turn of the session is the fallback.
        self._last_turn: dict[tuple[str, str], int] = {}
        self._reviews = None

    def handle_text(self, channel: str, external_id: str, text: str) -> Reply:
        command = self._command(channel, external_id, text)
        if command is not None:
            return Reply(command)
        user_id = self._user(channel, external_id)
        personal = personal_context(self.people, user_id) if self.people is not None else None
        session = self._session(channel, external_id)
        answer = self.assistant.ask(text, session=session, user=UserContext(personal=personal, user_id=user_id),
                                    channel=channel)
        if answer.turn_id is not None:
            self._last_turn[(channel, external_id)] = answer.turn_id
        return Reply(answer.text, answer)

    def _session(self, channel: str, external_id: str) -> str:
        return session_for(channel, external_id, self._epochs.get((channel, external_id), 0))

    def feedback(self, channel: str, external_id: str, value: int) -> str:
        """Rate the user's last answer in their current conversation (+1 有用, -1 没用)."""
        store = self._review_store()
        if store is None:
            return "本渠道暂未开通评价功能。"
        session = self._session(channel, external_id)
        turn_id = self._last_turn.get((channel, external_id))
        if turn_id is None:
            latest = self.people.turns(session_id=session, limit=1)
            turn_id = latest[0].id if latest else None
        if turn_id is None:
            return NOTHING_TO_RATE
        try:
            store.record_feedback(turn_id, value, channel, session_id=session)
        except LookupError:  # the turn was purged, or belongs to a conversation the user reset
            return NOTHING_TO_RATE
        return THANKS_UP if value > 0 else THANKS_DOWN

    def _review_store(self):
        if self._reviews is None and getattr(self.people, "engine", None) is not None:
            from zhengwu.review.store import ReviewStore

            self._reviews = ReviewStore.of(self.people)
        return self._reviews

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
            return "好的，已开始新的对话。请问您想咨询什么事项？"
        if FEEDBACK_UP.match(text):
            return self.feedback(channel, external_id, 1)
        if FEEDBACK_DOWN.match(text):
            return self.feedback(channel, external_id, -1)
        for pattern, kind, granted, said in (
            (CONSENT_ON, "personalisation", True, "已开启个性化服务：回答将结合您已授权的办件记录给出提示。回复“关闭个性化”可随时撤回。"),
            (CONSENT_OFF, "personalisation", False, "已关闭个性化服务：回答不再使用您的个人信息。"),
            (REMIND_ON, "reminders", True, "已开启证件到期提醒。回复“退订提醒”可随时取消。"),
            (REMIND_OFF, "reminders", False, "已退订证件到期提醒。"),
        ):
            if pattern.match(text):
                if self.people is None:
                    return "本渠道暂未开通个性化服务。"
                self.consent(channel, external_id, kind, granted)
                return said
        return None


def render_plain(answer: Answer, link=None) -> str:
    """Text with its sources as a numbered list; ``link(citation) -> str`` may shorten URLs."""
    if not answer.citations:
        return answer.text
    lines = [answer.text, "", "参考来源："]
    for c in answer.citations:
        where = f"·{c.section}" if c.section else ""
        url = link(c) if link else c.source_url
        lines.append(f"[{c.n}]《{c.title}》{where} {url}".rstrip())
    return "\n".join(lines)


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of at most ``limit`` characters, cut at line ends (or sentence ends) where possible."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut < limit // 2:
            cut = max(rest.rfind(mark, 0, limit) for mark in "。；！？")
            cut = cut + 1 if cut >= limit // 2 else limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n")
    if rest.strip():
        pieces.append(rest)
    return pieces

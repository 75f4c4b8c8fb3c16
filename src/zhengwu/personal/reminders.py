"""Expiry reminders (居住证, 驾驶证 …) for citizens who opted in: which are due and what they say. Sending them
is the chat channels' business (``zhengwu.channels.reminders``); this package never talks to a channel API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from zhengwu.personal.records import ServiceRecordData
from zhengwu.personal.store import PeopleStore

# Items whose validity matters to a citizen, and what to do before it ends.
RENEWAL_HINTS = {"居住证": "签注或换领", "驾驶证": "换证", "身份证": "换领", "通行证": "换发或签注", "护照": "换发",
                 "许可证": "延续", "执照": "换发"}


@dataclass(frozen=True)
class Reminder:
    user_id: int
    record: ServiceRecordData
    text: str
    identities: list[tuple[str, str]]


def due_reminders(people: PeopleStore, today: date, within_days: int = 30) -> list[Reminder]:
    """Reminders for validity ending within ``within_days``, for users who opted in to reminders."""
    out = []
    for user_id, record in people.due_reminders(today, within_days):
        out.append(Reminder(user_id, record, reminder_text(record, today), people.identities(user_id)))
    return out


def reminder_text(record: ServiceRecordData, today: date) -> str:
    left = (record.valid_until - today).days if record.valid_until else 0
    action = next((v for k, v in RENEWAL_HINTS.items() if k in record.item_name), "续办")
    when = "已到期" if left < 0 else ("今天到期" if left == 0 else f"将于{record.valid_until.isoformat()}到期（还有{left}天）")
    return (f"温馨提示：您办理的「{record.item_name}」{when}，如需继续使用，请及时办理{action}。"
            "具体要求以办事指南和窗口答复为准。回复“退订提醒”可不再接收此类提醒。")

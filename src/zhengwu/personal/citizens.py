"""The citizen side of the personal-data store, as channels, the CLI and the staff API use it: opening the
store, the consenting user's ``PersonalContext``, importing service history, and expiry reminders.

Everything personal goes through here, so the rules live in one place: no consent, no personal context; ID
numbers only with an encryption key (``ZHENGWU_DATA_KEY``); transcripts and logs masked.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from zhengwu.config import Settings, secret
from zhengwu.db.engine import database_url, make_engine, upgrade
from zhengwu.db.people import PeopleStore
from zhengwu.db.records import ServiceRecordData
from zhengwu.personal.history import HistoryImport, HistoryRow, RowError
from zhengwu.personal.personalise import PersonalContext
from zhengwu.privacy import DATA_KEY_ENV, FieldCipher, mask_pii

log = logging.getLogger("zhengwu.citizens")

# Items whose validity matters to a citizen, and what to do before it ends.
RENEWAL_HINTS = {"居住证": "签注或换领", "驾驶证": "换证", "身份证": "换领", "通行证": "换发或签注", "护照": "换发",
                 "许可证": "延续", "执照": "换发"}


def open_people_store(settings: Settings) -> PeopleStore:
    """The store at ``ZHENGWU_DATABASE_URL`` (SQLite under the data dir by default), migrated to head."""
    engine = make_engine(database_url(settings))
    upgrade(engine)
    cipher = FieldCipher.from_env() if os.environ.get(DATA_KEY_ENV) else None
    return PeopleStore(engine, cipher=cipher, mask=mask_pii)


def personal_context(people: PeopleStore, user_id: int | None) -> PersonalContext | None:
    """The user's profile and history, or None unless they consented to personalisation."""
    if user_id is None or not people.has_consent(user_id, "personalisation"):
        return None
    profile = people.profile(user_id)
    # Retrieval knows provinces and cities; a district narrows nothing the corpus distinguishes.
    region = profile.city or profile.province
    return PersonalContext(user_id=user_id, region=region, tags=list(profile.tags),
                           records=people.records(user_id), linked=True)


@dataclass
class ImportReport:
    path: str
    users: int = 0
    inserted: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.path}: {self.inserted} records added, {self.updated} updated, for {self.users} users; "
                f"{len(self.errors)} rows rejected, {len(self.warnings)} warnings")


def doc_ids_by_item_code(docs: dict) -> dict[str, str]:
    """事项编码 -> corpus document id, so an imported record points at its guide."""
    return {str(d.extra["item_code"]): d.doc_id for d in docs.values() if d.extra.get("item_code")}


def import_history(people: PeopleStore, read: HistoryImport, actor: str, doc_ids: dict[str, str]) -> ImportReport:
    """Store the valid rows of a read file. ``doc_ids`` maps 事项编码 to corpus document ids, so a record
    points at its guide. Rows that cannot be stored (an ID number without an encryption key) are reported."""
    report = ImportReport(read.path, errors=list(read.errors), warnings=list(read.warnings))
    by_user: dict[int, list[tuple[int, HistoryRow]]] = {}
    for line, row in _numbered(read):
        try:
            user_id = _user_of(people, row)
        except ValueError as exc:
            report.errors.append(RowError(line, "identity", mask_pii(str(exc))))
            continue
        by_user.setdefault(user_id, []).append((line, row))
    for user_id, rows in by_user.items():
        first = rows[0][1]
        tags = sorted({t for _, r in rows for t in r.tags})
        people.update_profile(user_id, province=first.province, city=first.city or _city(first.region),
                              district=first.district, tags=tags or None,
                              id_number=first.id_number if first.id_number and people.has_cipher else None)
        records = [ServiceRecordData(
            item_code=r.item_code, item_name=r.item_name, status=r.status, submitted_at=r.submitted_at,
            decided_at=r.decided_at, valid_until=r.valid_until, materials=list(r.materials), region=r.region,
            doc_id=doc_ids.get(r.item_code), source=f"import:{os.path.basename(read.path)}",
        ) for _, r in rows]
        inserted, updated = people.add_records(user_id, records)
        report.inserted += inserted
        report.updated += updated
    report.users = len(by_user)
    people.audit(actor, "import_history", detail=f"{os.path.basename(read.path)}: {report.inserted} added, "
                                                  f"{report.updated} updated, {report.users} users")
    return report


def _numbered(read: HistoryImport):
    lines = getattr(read, "lines", None)
    for i, row in enumerate(read.rows):
        yield (lines[i] if lines else i + 1), row


def _user_of(people: PeopleStore, row: HistoryRow) -> int:
    user_id = None
    if row.id_number:
        if not people.has_cipher:
            raise ValueError(f"an ID number cannot be stored without an encryption key: set {DATA_KEY_ENV}")
        user_id = people.user_by_id_number(row.id_number)
    if row.channel and row.external_id:
        linked = people.user_for(row.channel, row.external_id, create=user_id is None)
        if user_id is not None and linked != user_id:
            people.link(user_id, row.channel, row.external_id)
        user_id = user_id or linked
    if user_id is None:  # an ID number seen for the first time, without a channel identity
        user_id = people.create_user()
        people.update_profile(user_id, id_number=row.id_number)
    return user_id


def _city(region: str | None) -> str | None:
    return region if region and region.endswith("市") else None


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


def reminder_senders(settings: Settings) -> dict[str, Callable[[str, str], None]]:
    """``channel -> send(external_id, text)`` for every channel this deployment has credentials for."""
    from zhengwu.channels.wechat_api import OfficialAccountAPI, WeComAPI

    senders: dict[str, Callable[[str, str], None]] = {}
    if settings.wechat_app_id and settings.wechat_app_secret:
        senders["wechat"] = OfficialAccountAPI(settings.wechat_api_base, settings.wechat_app_id,
                                               settings.wechat_app_secret).send_text
    if settings.wecom_corp_id and settings.wecom_secret and settings.wecom_agent_id is not None:
        senders["wecom"] = WeComAPI(settings.wecom_api_base, settings.wecom_corp_id, settings.wecom_secret,
                                    settings.wecom_agent_id).send_text
    if settings.telegram_token:
        senders["telegram"] = _telegram_sender(settings)
    return senders


def _telegram_sender(settings: Settings) -> Callable[[str, str], None]:
    import httpx

    token = secret(settings.telegram_token)

    def send(chat_id: str, text: str) -> None:
        response = httpx.post(f"{settings.telegram_api_base}{token}/sendMessage",
                              json={"chat_id": chat_id, "text": text}, timeout=10)
        if response.status_code != 200 or not response.json().get("ok"):
            raise RuntimeError(f"Telegram sendMessage failed with HTTP {response.status_code}")

    return send


def deliver(reminder: Reminder, senders: dict[str, Callable[[str, str], None]]) -> str | None:
    """Send one reminder through the first channel of the user that can carry it; the channel used, or None."""
    for channel, external_id in reminder.identities:
        send = senders.get(channel)
        if send is None:
            continue
        try:
            send(external_id, reminder.text)
            return channel
        except Exception as exc:  # noqa: BLE001 - one failed channel must not stop the run
            log.warning("reminder for user %s not delivered via %s: %s", reminder.user_id, channel,
                        type(exc).__name__)
    return None


def purge_old_conversations(people: PeopleStore, retention_days: int) -> tuple[int, int]:
    """Delete conversation turns and sessions older than the retention period."""
    cutoff = datetime.now(timezone.utc) - timedelta(days=retention_days)
    return people.purge_turns(cutoff), people.purge_sessions(cutoff.timestamp())


# -- the city portal's signed user token ------------------------------------------------------------------------
# A citizen logged in to the city's portal chats through the widget as that user: the portal signs the user's id
# with the secret it shares with us (ZHENGWU_PORTAL_SECRET) and hands the widget
#   base64url(user id) "." expiry (unix seconds) "." hex HMAC-SHA256(secret, first two parts)


def sign_user_token(secret: str, external_id: str, ttl_seconds: int = 3600, now: float | None = None) -> str:
    body = f"{base64.urlsafe_b64encode(external_id.encode()).decode().rstrip('=')}.{int((now or time.time()) + ttl_seconds)}"
    return f"{body}.{hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()}"


def verify_user_token(secret: str, token: str, now: float | None = None) -> str | None:
    """The portal user id in a valid, unexpired token; None otherwise."""
    try:
        encoded, expiry, signature = token.split(".")
        expected = hmac.new(secret.encode(), f"{encoded}.{expiry}".encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature, expected) or int(expiry) < (now or time.time()):
            return None
        external_id = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return external_id or None

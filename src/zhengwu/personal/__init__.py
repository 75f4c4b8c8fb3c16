"""Citizens' personal data under 个人信息保护法: the people store (identities, consent, service history,
transcripts, reminders, audit), history import, personalisation and life events.

Everything outside this package uses the names below, never its modules: the rules (no consent, no personal
context; ID numbers only with an encryption key; transcripts masked) then live in one place. Modules inside the
package import each other by module path, never from here.

- ``store``: ``PeopleStore`` (one mixin per aggregate) and ``open_people_store``;
- ``records``: the plain values the store returns, and the status and consent vocabularies;
- ``sessions``: conversation sessions in the same database (``DbSessionStore``);
- ``cipher``: encryption of ID numbers at rest;
- ``history``: reading service-history exports; ``importing``: storing them;
- ``context``: the consenting citizen's ``PersonalContext``; ``personalise``, ``life_events``: its uses;
- ``reminders``: which expiry reminders are due and their text (sending them: ``zhengwu.channels.reminders``);
- ``retention``: purging old conversations; ``portal``: the city portal's signed user token.
"""

from zhengwu.personal.cipher import DATA_KEY_ENV, FieldCipher
from zhengwu.personal.context import personal_context
from zhengwu.personal.history import (
    SUPPORTED_SUFFIXES,
    HistoryImport,
    HistoryRow,
    RowError,
    parse_date,
    read_history,
)
from zhengwu.personal.importing import ImportReport, doc_ids_by_item_code, import_history
from zhengwu.personal.life_events import LifeEvents, LifeEventsError, load_life_events
from zhengwu.personal.personalise import PersonalContext, Personaliser, load_personaliser
from zhengwu.personal.portal import sign_user_token, token_expiry, verify_user_token
from zhengwu.personal.records import (
    CONSENT_KINDS,
    DECIDED_STATUSES,
    RECORD_STATUSES,
    STATUS_NAMES,
    STATUS_PHRASES,
    AuditEntry,
    ConsentState,
    Profile,
    ServiceRecordData,
    TurnData,
)
from zhengwu.personal.reminders import RENEWAL_HINTS, Reminder, due_reminders, reminder_text
from zhengwu.personal.retention import purge_old_conversations, purge_security_logs
from zhengwu.personal.sessions import DbSessionStore
from zhengwu.personal.store import (
    EXPORT_FORMAT,
    Cipher,
    PeopleStore,
    normalise_id_number,
    open_people_store,
    turn_data,
)

__all__ = [
    "CONSENT_KINDS",
    "DATA_KEY_ENV",
    "DECIDED_STATUSES",
    "EXPORT_FORMAT",
    "RECORD_STATUSES",
    "RENEWAL_HINTS",
    "STATUS_NAMES",
    "STATUS_PHRASES",
    "SUPPORTED_SUFFIXES",
    "AuditEntry",
    "Cipher",
    "ConsentState",
    "DbSessionStore",
    "FieldCipher",
    "HistoryImport",
    "HistoryRow",
    "ImportReport",
    "LifeEvents",
    "LifeEventsError",
    "PeopleStore",
    "PersonalContext",
    "Personaliser",
    "Profile",
    "Reminder",
    "RowError",
    "ServiceRecordData",
    "TurnData",
    "doc_ids_by_item_code",
    "due_reminders",
    "import_history",
    "load_life_events",
    "load_personaliser",
    "normalise_id_number",
    "open_people_store",
    "parse_date",
    "personal_context",
    "purge_old_conversations",
    "purge_security_logs",
    "read_history",
    "reminder_text",
    "sign_user_token",
    "token_expiry",
    "turn_data",
    "verify_user_token",
]

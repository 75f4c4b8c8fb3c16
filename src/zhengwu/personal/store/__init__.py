"""The personal-data store: who the citizen is, what they consented to, what they applied for, what they asked,
composed from one mixin per aggregate, and ``open_people_store`` that opens it as configured.

Personal information protection (PIPL) shapes the API rather than being bolted on:

* consent is a history of rows (grant, withdrawal, grant again), and the current state is the latest row
  (``consents``);
* ``export`` returns everything held about a person (Art. 45), including their 👍/👎 and staff reviews of
  their answers, ``delete`` erases all of it in one transaction (Art. 47), ``purge_turns``/``purge_sessions``
  enforce retention periods (Art. 19) (``rights``);
* the 身份证号 is stored only as ciphertext plus a keyed hash (blind index) for look-up, and without a
  cipher the store refuses to take one rather than fall back to something weaker (``profiles``, ``identities``);
* question and answer texts pass through ``mask`` before they are written (``transcripts``);
* ``audit`` records staff access (Art. 51) in a table that survives the erasure of the person it is about.

One ``PeopleStore`` per process; it is thread-safe (writes are serialised by a lock, each call has its own
database session) and returns plain dataclasses (``zhengwu.personal.records``), never ORM objects.
"""

from __future__ import annotations

import os

from zhengwu.config import Settings
from zhengwu.db.engine import database_url, make_engine, upgrade
from zhengwu.personal.cipher import DATA_KEY_ENV, FieldCipher
from zhengwu.personal.store._common import Cipher, normalise_id_number
from zhengwu.personal.store.audit import Audit
from zhengwu.personal.store.consents import Consents
from zhengwu.personal.store.identities import Identities
from zhengwu.personal.store.profiles import Profiles
from zhengwu.personal.store.reminders import Reminders
from zhengwu.personal.store.rights import EXPORT_FORMAT, Rights
from zhengwu.personal.store.service_records import ServiceRecords
from zhengwu.personal.store.tokens import Tokens
from zhengwu.personal.store.transcripts import Transcripts, turn_data
from zhengwu.pii import mask_pii

__all__ = [
    "EXPORT_FORMAT",
    "Cipher",
    "PeopleStore",
    "normalise_id_number",
    "open_people_store",
    "turn_data",
]


class PeopleStore(Identities, Profiles, Consents, ServiceRecords, Transcripts, Reminders, Rights, Audit, Tokens):
    """``PeopleStore(engine, cipher=None, mask=None)``: every aggregate of a citizen's data over one engine."""


def open_people_store(settings: Settings) -> PeopleStore:
    """The store at ``ZHENGWU_DATABASE_URL`` (SQLite under the data dir by default), migrated to head."""
    engine = make_engine(database_url(settings))
    upgrade(engine)
    cipher = FieldCipher.from_env() if os.environ.get(DATA_KEY_ENV) else None
    return PeopleStore(engine, cipher=cipher, mask=mask_pii)

"""What several aggregates of the people store share: the base every mixin builds on (engine, cipher, mask,
the user look-up), the ``Cipher`` protocol, the 身份证号 shape check, argument checks and the record row
conversion. Nothing here is about one aggregate alone."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from zhengwu.db.models import ServiceRecord, User
from zhengwu.db.transactions import Transactional
from zhengwu.personal.records import ServiceRecordData

_ID_NUMBER = re.compile(r"\d{17}[\dX]|\d{15}")


class Cipher(Protocol):
    """Encryption of the 身份证号 at rest. ``blind_index`` is a keyed hash (e.g. HMAC-SHA256): equal inputs give
    equal outputs, so a user can be found by id number without decrypting every row."""

    def encrypt(self, plaintext: str) -> str: ...

    def decrypt(self, ciphertext: str) -> str: ...

    def blind_index(self, value: str) -> str: ...


def normalise_id_number(value: str) -> str:
    """18-digit (last may be X) or legacy 15-digit 身份证号, spaces removed and x upper-cased.

    Only the shape is checked: the checksum is the issuing system's business, and a typo is caught when the
    citizen is looked up.
    """
    cleaned = re.sub(r"\s+", "", value).upper()
    if not _ID_NUMBER.fullmatch(cleaned):
        raise ValueError("not a resident id number (18 digits, the last may be X, or 15 digits)")
    return cleaned


def _identity(text: str) -> str:
    return text


def aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: pass a timezone-aware one (e.g. datetime.now(UTC))")
    return moment


def check(value: str, allowed: Sequence[str], what: str) -> str:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; expected one of {', '.join(allowed)}")
    return value


def record_data(row: ServiceRecord) -> ServiceRecordData:
    return ServiceRecordData(
        item_code=row.item_code,
        item_name=row.item_name,
        status=row.status,
        submitted_at=row.submitted_at,
        decided_at=row.decided_at,
        valid_until=row.valid_until,
        materials=list(row.materials or []),
        region=row.region,
        doc_id=row.doc_id,
        source=row.source,
        id=row.id,
    )


class StoreBase(Transactional):
    """The state every aggregate mixin of ``PeopleStore`` uses: the engine's transactions, the optional
    cipher for id numbers and the ``mask`` applied to texts before they are written."""

    def __init__(
        self,
        engine: Engine,
        cipher: Cipher | None = None,
        mask: Callable[[str], str] | None = None,
    ) -> None:
        super().__init__(engine)
        self._cipher = cipher
        self._mask = mask or _identity

    def _require_cipher(self) -> Cipher:
        if self._cipher is None:
            raise RuntimeError(
                "PeopleStore has no cipher: id numbers are stored only encrypted, so configure one "
                "(zhengwu.personal.cipher) before storing or looking up an id number"
            )
        return self._cipher

    @staticmethod
    def _user(session: Session, user_id: int) -> User:
        user = session.get(User, user_id)
        if user is None:
            raise LookupError(f"no user with id {user_id}")
        return user

    @property
    def has_cipher(self) -> bool:
        return self._cipher is not None

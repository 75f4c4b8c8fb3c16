"""The citizen's profile: region, identity tags, display name and the 身份证号 (stored only as ciphertext plus a
blind index, shown only masked), read together with the current consents and identities."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from zhengwu.db.models import User
from zhengwu.personal.records import Profile
from zhengwu.personal.store._common import StoreBase, normalise_id_number
from zhengwu.personal.store.consents import current_consents
from zhengwu.personal.store.identities import identities_of
from zhengwu.pii import mask_id_number


def _clean_tags(tags: Sequence[str]) -> list[str]:
    seen: dict[str, None] = {}
    for tag in tags:
        tag = tag.strip()
        if tag:
            seen.setdefault(tag, None)
    return list(seen)


class Profiles(StoreBase):
    def profile(self, user_id: int) -> Profile:
        with self._read() as session:
            user = self._user(session, user_id)
            masked = None
            if user.id_number_enc and self._cipher is not None:
                masked = mask_id_number(self._cipher.decrypt(user.id_number_enc))
            return Profile(
                user_id=user.id,
                created_at=user.created_at,
                province=user.province,
                city=user.city,
                district=user.district,
                tags=list(user.tags or []),
                display_name=user.display_name,
                id_number_masked=masked,
                consents=current_consents(session, user_id),
                identities=identities_of(session, user_id),
            )

    def update_profile(
        self,
        user_id: int,
        province: str | None = None,
        city: str | None = None,
        district: str | None = None,
        tags: Sequence[str] | None = None,
        id_number: str | None = None,
        display_name: str | None = None,
    ) -> Profile:
        """Change the given fields; None leaves a field as it is, "" clears it (an empty id number removes it)."""
        with self._write() as session:
            user = self._user(session, user_id)
            for name, value in (
                ("province", province),
                ("city", city),
                ("district", district),
                ("display_name", display_name),
            ):
                if value is not None:
                    setattr(user, name, value.strip() or None)
            if tags is not None:
                user.tags = _clean_tags(tags)
            if id_number is not None:
                if not id_number.strip():
                    user.id_number_enc = user.id_number_hash = None
                else:
                    cipher = self._require_cipher()
                    value = normalise_id_number(id_number)
                    digest = cipher.blind_index(value)
                    other = session.scalar(sa.select(User.id).where(User.id_number_hash == digest, User.id != user_id))
                    if other is not None:
                        raise ValueError("this id number is already on file for another user")
                    user.id_number_enc = cipher.encrypt(value)
                    user.id_number_hash = digest
        return self.profile(user_id)

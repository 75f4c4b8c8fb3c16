"""Users and their channel identities: who is behind a WeChat openid, a Telegram id or a portal login, how an
identity is linked to a user, and the look-up of a user by 身份证号 (through its blind index only)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from zhengwu.answering.vocabulary import CHANNELS
from zhengwu.db.models import Identity, User
from zhengwu.personal.store._common import StoreBase, check, normalise_id_number


def identities_of(session: Session, user_id: int) -> list[tuple[str, str]]:
    """(channel, external_id) of the user's identities, oldest first."""
    rows = session.execute(
        sa.select(Identity.channel, Identity.external_id).where(Identity.user_id == user_id).order_by(Identity.id)
    )
    return [(channel, external_id) for channel, external_id in rows]


class Identities(StoreBase):
    @staticmethod
    def _identity_row(session: Session, channel: str, external_id: str) -> Identity | None:
        return session.scalar(
            sa.select(Identity).where(Identity.channel == channel, Identity.external_id == external_id)
        )

    def create_user(self) -> int:
        """A user with no channel identity yet (known to staff by ID number, linked when they first chat)."""
        with self._write() as session:
            user = User(tags=[])
            session.add(user)
            session.flush()
            return user.id

    def user_for(self, channel: str, external_id: str, create: bool = True) -> int | None:
        """The user behind a channel identity; with ``create`` a new user is made for an unknown one."""
        check(channel, CHANNELS, "channel")
        if not external_id:
            raise ValueError("external_id is empty")
        with self._read() as session:
            row = self._identity_row(session, channel, external_id)
            if row is not None or not create:
                return row.user_id if row is not None else None
        try:
            with self._write() as session:
                row = self._identity_row(session, channel, external_id)
                if row is not None:
                    return row.user_id
                user = User(tags=[])
                session.add(user)
                session.flush()
                session.add(Identity(user_id=user.id, channel=channel, external_id=external_id))
                return user.id
        except IntegrityError:  # another process created the same identity in the meantime
            with self._read() as session:
                row = self._identity_row(session, channel, external_id)
                if row is None:
                    raise
                return row.user_id

    def link(self, user_id: int, channel: str, external_id: str, force: bool = False) -> None:
        """Attach an identity to ``user_id``. One already attached to somebody else is moved only with ``force``
        (after the citizen proved both are theirs): silently moving it would hand one person's history to
        another. The previous owner keeps everything else."""
        check(channel, CHANNELS, "channel")
        if not external_id:
            raise ValueError("external_id is empty")
        with self._write() as session:
            self._user(session, user_id)
            row = self._identity_row(session, channel, external_id)
            if row is None:
                session.add(Identity(user_id=user_id, channel=channel, external_id=external_id))
            elif row.user_id != user_id:
                if not force:
                    raise ValueError(f"this {channel} identity belongs to another user; pass force=True to move it")
                row.user_id = user_id

    def identities(self, user_id: int) -> list[tuple[str, str]]:
        with self._read() as session:
            return self._identities(session, user_id)

    _identities = staticmethod(identities_of)

    def user_by_id_number(self, id_number: str) -> int | None:
        digest = self._require_cipher().blind_index(normalise_id_number(id_number))
        with self._read() as session:
            return session.scalar(sa.select(User.id).where(User.id_number_hash == digest))

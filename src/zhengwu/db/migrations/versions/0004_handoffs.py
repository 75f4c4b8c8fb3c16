"""Handed-off messages: a complaint, report, suggestion or plea (or a local matter the sources do not cover)
keeps a structured record on its turn — category, a guess at the department, the place it names — for the
console's handoff list.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: turns that were answered, and turns logged before this revision, have no handoff.
    op.add_column("conversation_turns", sa.Column("handoff", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("conversation_turns") as batch:
        batch.drop_column("handoff")

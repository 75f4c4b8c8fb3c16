"""Ratings in the government's vocabulary (好差评) and 差评 rectification: the satisfaction level of citizens'
feedback (``feedback.level``, NOT NULL: earlier 👍 become 满意 4, 👎 不满意 2) and of reviews (``reviews.level``,
optional), the rectification of each 差评 (``rectifications``) with its steps (``rectification_events``), and the
turns staff added to the review set (``test_cases``). All three tables hang off ``conversation_turns`` with ON
DELETE CASCADE.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-10
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _turn_fk(table: str) -> list:
    return [
        sa.Column("turn_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["turn_id"], ["conversation_turns.id"], name=op.f(f"fk_{table}_turn_id_conversation_turns"),
            ondelete="CASCADE",
        ),
    ]


def upgrade() -> None:
    # The citizen's level: added nullable, filled from the thumbs value, then required (batch mode on SQLite,
    # which rebuilds the table to change a column).
    with op.batch_alter_table("feedback") as batch:
        batch.add_column(sa.Column("level", sa.SmallInteger(), nullable=True))
    op.execute("UPDATE feedback SET level = CASE WHEN value > 0 THEN 4 WHEN value < 0 THEN 2 ELSE 3 END")
    with op.batch_alter_table("feedback") as batch:
        batch.alter_column("level", existing_type=sa.SmallInteger(), nullable=False)
    with op.batch_alter_table("reviews") as batch:
        batch.add_column(sa.Column("level", sa.SmallInteger(), nullable=True))

    op.create_table(
        "rectifications",
        sa.Column("id", sa.Integer(), nullable=False),
        *_turn_fk("rectifications"),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("rated_by", sa.String(128), nullable=False),
        _ts("opened_at"),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(64), nullable=True),
        sa.Column("measures", sa.Text(), nullable=False),
        sa.Column("rectified_by", sa.String(128), nullable=True),
        _ts("rectified_at", nullable=True),
        sa.Column("revisit_result", sa.String(16), nullable=True),
        sa.Column("revisit_note", sa.Text(), nullable=False),
        sa.Column("revisited_by", sa.String(128), nullable=True),
        _ts("revisited_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rectifications")),
        sa.UniqueConstraint("turn_id", name=op.f("uq_rectifications_turn_id")),
    )
    for column in ("opened_at", "deadline", "state", "owner"):
        op.create_index(op.f(f"ix_rectifications_{column}"), "rectifications", [column])

    op.create_table(
        "rectification_events",
        sa.Column("id", sa.Integer(), nullable=False),
        *_turn_fk("rectification_events"),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        _ts("at"),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rectification_events")),
    )
    op.create_index(op.f("ix_rectification_events_turn_id"), "rectification_events", ["turn_id"])

    op.create_table(
        "test_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        *_turn_fk("test_cases"),
        sa.Column("created_by", sa.String(128), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_test_cases")),
        sa.UniqueConstraint("turn_id", name=op.f("uq_test_cases_turn_id")),
    )


def downgrade() -> None:
    op.drop_table("test_cases")
    op.drop_table("rectification_events")
    op.drop_table("rectifications")
    with op.batch_alter_table("reviews") as batch:
        batch.drop_column("level")
    with op.batch_alter_table("feedback") as batch:
        batch.drop_column("level")

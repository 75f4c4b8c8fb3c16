"""Staff evaluation of answers: how each turn was answered, staff accounts, reviews, citizens' feedback and
curated (staff-approved) answers.

Revision ID: 0003
Revises: 0002
Create Date: 2025-03-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None



def _turn_columns() -> list[sa.Column]:
    """New columns of ``conversation_turns``, nullable: turns logged before this revision did not record them."""
    return [
        sa.Column("citations", sa.JSON(), nullable=True),
        sa.Column("retrieved", sa.JSON(), nullable=True),
        sa.Column("path", sa.String(255), nullable=True),
        sa.Column("reason", sa.String(32), nullable=True),
        sa.Column("latency_ms", sa.Double(), nullable=True),
    ]


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
    for column in _turn_columns():
        op.add_column("conversation_turns", column)

    op.create_table(
        "staff_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_users")),
        sa.UniqueConstraint("username", name=op.f("uq_staff_users_username")),
    )

    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        *_turn_fk("reviews"),
        sa.Column("reviewer", sa.String(128), nullable=False),
        sa.Column("rating", sa.String(16), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("corrected_answer", sa.Text(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("must_contain", sa.JSON(), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
    )
    op.create_index(op.f("ix_reviews_turn_id"), "reviews", ["turn_id"])
    op.create_index(op.f("ix_reviews_rating"), "reviews", ["rating"])

    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        *_turn_fk("feedback"),
        sa.Column("value", sa.SmallInteger(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
        sa.UniqueConstraint("turn_id", name=op.f("uq_feedback_turn_id")),
    )

    op.create_table(
        "curated_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("question_key", sa.String(64), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        _ts("created_at"),
        _ts("withdrawn_at", nullable=True),
        sa.Column("withdrawn_by", sa.String(128), nullable=True),
        sa.Column("replaces_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_curated_answers")),
        sa.ForeignKeyConstraint(
            ["replaces_id"], ["curated_answers.id"], name=op.f("fk_curated_answers_replaces_id_curated_answers")
        ),
        sa.UniqueConstraint("question_key", "version", name=op.f("uq_curated_answers_question_key_version")),
    )
    op.create_index(op.f("ix_curated_answers_question_key"), "curated_answers", ["question_key"])
    op.create_index(op.f("ix_curated_answers_status"), "curated_answers", ["status"])


def downgrade() -> None:
    for table in ("curated_answers", "feedback", "reviews", "staff_users"):
        op.drop_table(table)
    with op.batch_alter_table("conversation_turns") as batch:
        for column in reversed(_turn_columns()):
            batch.drop_column(column.name)

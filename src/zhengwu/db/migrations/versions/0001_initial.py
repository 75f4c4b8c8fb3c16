"""Initial schema of the personal-data store.

Hand-written, with every constraint and index named as ``zhengwu.db.models.NAMING_CONVENTION`` names it, so the
tests can check that the migrated schema equals the models on SQLite and PostgreSQL.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _user_fk(table: str, nullable: bool = False) -> list:
    return [
        sa.Column("user_id", sa.Integer(), nullable=nullable),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f(f"fk_{table}_user_id_users"), ondelete="CASCADE"),
    ]


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        _ts("created_at"),
        sa.Column("province", sa.String(64), nullable=True),
        sa.Column("city", sa.String(64), nullable=True),
        sa.Column("district", sa.String(64), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("id_number_enc", sa.String(512), nullable=True),
        sa.Column("id_number_hash", sa.String(128), nullable=True),
        sa.Column("display_name", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    op.create_index(op.f("ix_users_id_number_hash"), "users", ["id_number_hash"], unique=True)

    op.create_table(
        "identities",
        sa.Column("id", sa.Integer(), nullable=False),
        *_user_fk("identities"),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("external_id", sa.String(128), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identities")),
        sa.UniqueConstraint("channel", "external_id", name=op.f("uq_identities_channel_external_id")),
    )
    op.create_index(op.f("ix_identities_user_id"), "identities", ["user_id"])

    op.create_table(
        "consents",
        sa.Column("id", sa.Integer(), nullable=False),
        *_user_fk("consents"),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        _ts("at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    op.create_index(op.f("ix_consents_user_id"), "consents", ["user_id"])

    op.create_table(
        "service_records",
        sa.Column("id", sa.Integer(), nullable=False),
        *_user_fk("service_records"),
        sa.Column("item_code", sa.String(64), nullable=False),
        sa.Column("doc_id", sa.String(255), nullable=True),
        sa.Column("item_name", sa.String(255), nullable=False),
        sa.Column("region", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("submitted_at", sa.Date(), nullable=True),
        sa.Column("decided_at", sa.Date(), nullable=True),
        sa.Column("materials", sa.JSON(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("source", sa.String(255), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_records")),
        sa.UniqueConstraint(
            "user_id", "item_code", "submitted_at", name=op.f("uq_service_records_user_id_item_code_submitted_at")
        ),
    )
    op.create_index(op.f("ix_service_records_valid_until"), "service_records", ["valid_until"])

    op.create_table(
        "sessions",
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        *_user_fk("sessions", nullable=True),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_sessions")),
    )
    op.create_index(op.f("ix_sessions_updated_at"), "sessions", ["updated_at"])
    op.create_index(op.f("ix_sessions_user_id"), "sessions", ["user_id"])

    op.create_table(
        "conversation_turns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=False),
        *_user_fk("conversation_turns", nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_turns")),
    )
    op.create_index(op.f("ix_conversation_turns_session_id"), "conversation_turns", ["session_id"])
    op.create_index(op.f("ix_conversation_turns_user_id"), "conversation_turns", ["user_id"])
    op.create_index(op.f("ix_conversation_turns_created_at"), "conversation_turns", ["created_at"])

    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        *_user_fk("reminders"),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        _ts("sent_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders")),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["service_records.id"],
            name=op.f("fk_reminders_record_id_service_records"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("record_id", "kind", name=op.f("uq_reminders_record_id_kind")),
    )
    op.create_index(op.f("ix_reminders_user_id"), "reminders", ["user_id"])

    op.create_table(
        "audit_logs",
        sa.Column("id", sa.Integer(), nullable=False),
        _ts("at"),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),  # not a FK: the audit trail survives erasure
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_logs")),
    )
    op.create_index(op.f("ix_audit_logs_at"), "audit_logs", ["at"])
    op.create_index(op.f("ix_audit_logs_user_id"), "audit_logs", ["user_id"])


def downgrade() -> None:
    for table in (
        "audit_logs",
        "reminders",
        "conversation_turns",
        "sessions",
        "service_records",
        "consents",
        "identities",
        "users",
    ):
        op.drop_table(table)

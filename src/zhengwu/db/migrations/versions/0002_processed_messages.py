"""De-duplication of inbound chat-platform messages across workers (``processed_messages``).

Revision ID: 0002
Revises: 0001
Create Date: 2025-02-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "processed_messages",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_processed_messages")),
    )
    op.create_index(op.f("ix_processed_messages_created_at"), "processed_messages", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_processed_messages_created_at"), table_name="processed_messages")
    op.drop_table("processed_messages")

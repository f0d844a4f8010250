"""time and SLA

Jurisdiction calendars as immutable revisions (every edit is a new revision, so a case's
history names the calendar its deadlines were computed on); the case's current deadline
(date and instant, shifted by extensions and pauses) and its running pause; outbox messages
that were given up after their last retry.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_revisions")),
    )
    op.create_index("ix_calendar_revisions_country_id", "calendar_revisions", ["country", "id"])
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("due_date", sa.Date(), nullable=True))
        batch.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("pause_kind", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("paused_days", sa.Integer(), nullable=False, server_default="0"))
        batch.create_index("ix_cases_due_at", ["due_at"])
        batch.create_index("ix_cases_closed_at", ["closed_at"])
        batch.create_index("ix_cases_received_at", ["received_at"])
    op.execute("UPDATE cases SET due_date = appointment_date")
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("failed_at")
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_received_at")
        batch.drop_index("ix_cases_closed_at")
        batch.drop_index("ix_cases_due_at")
        batch.drop_column("paused_days")
        batch.drop_column("pause_kind")
        batch.drop_column("paused_at")
        batch.drop_column("due_at")
        batch.drop_column("due_date")
    op.drop_index("ix_calendar_revisions_country_id", table_name="calendar_revisions")
    op.drop_table("calendar_revisions")

"""directory changes

Every change an admin makes to users, role grants and org units, with its actor, time
and the values before and after. Like case_events, the table is append-only.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

APPEND_ONLY_SQLITE = [
    "CREATE TRIGGER directory_changes_no_update BEFORE UPDATE ON directory_changes "
    "BEGIN SELECT RAISE(ABORT, 'directory_changes is append-only'); END",
    "CREATE TRIGGER directory_changes_no_delete BEFORE DELETE ON directory_changes "
    "BEGIN SELECT RAISE(ABORT, 'directory_changes is append-only'); END",
]

APPEND_ONLY_POSTGRESQL = [
    "CREATE FUNCTION onestop_refuse_directory_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'directory_changes is append-only'; END $$",
    "CREATE TRIGGER directory_changes_append_only BEFORE UPDATE OR DELETE ON directory_changes "
    "FOR EACH ROW EXECUTE FUNCTION onestop_refuse_directory_change()",
]


def upgrade() -> None:
    op.create_table(
        "directory_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_changes")),
    )
    op.create_index(op.f("ix_directory_changes_subject"), "directory_changes", ["subject"])
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in APPEND_ONLY_SQLITE if sqlite else APPEND_ONLY_POSTGRESQL:
        op.execute(statement)


def downgrade() -> None:
    op.drop_index(op.f("ix_directory_changes_subject"), table_name="directory_changes")
    op.drop_table("directory_changes")
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP FUNCTION onestop_refuse_directory_change()")

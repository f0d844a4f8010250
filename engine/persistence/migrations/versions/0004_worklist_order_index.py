"""worklist order index

The worklist shows open items soonest due first, undated ones last. With the sort columns
(and the holder, for "mine only") in the partial index of open items, a worklist page for
one role in one unit is a range scan that stops after the page, and for several units a
scan of the index alone.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

OPEN = sa.text("state IN ('open', 'claimed')")


def upgrade() -> None:
    op.drop_index("ix_work_items_open", table_name="work_items")
    op.create_index(
        "ix_work_items_open",
        "work_items",
        ["role", "org_unit_id", sa.text("(due_at IS NULL)"), "due_at", "ready_at", "assignee"],
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )


def downgrade() -> None:
    op.drop_index("ix_work_items_open", table_name="work_items")
    op.create_index(
        "ix_work_items_open", "work_items", ["role", "org_unit_id"], sqlite_where=OPEN, postgresql_where=OPEN
    )

"""lean work-item indexes

Every command writes work-item rows, and every index on them is one more page in the
commit. ``ix_work_items_case_id`` repeats the unique (case_id, ref) index; the worklist
index now holds only open and claimed items (a worklist never asks for closed ones), and
the assignee index only items someone holds.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

OPEN = sa.text("state IN ('open', 'claimed')")
HELD = sa.text("assignee IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("work_items") as batch_op:
        batch_op.drop_index("ix_work_items_case_id")
        batch_op.drop_index("ix_work_items_open")
        batch_op.drop_index("ix_work_items_assignee")
    op.create_index(
        "ix_work_items_open", "work_items", ["role", "org_unit_id"], sqlite_where=OPEN, postgresql_where=OPEN
    )
    op.create_index(
        "ix_work_items_assignee", "work_items", ["assignee"], sqlite_where=HELD, postgresql_where=HELD
    )


def downgrade() -> None:
    op.drop_index("ix_work_items_assignee", table_name="work_items")
    op.drop_index("ix_work_items_open", table_name="work_items")
    with op.batch_alter_table("work_items") as batch_op:
        batch_op.create_index("ix_work_items_assignee", ["assignee"], unique=False)
        batch_op.create_index("ix_work_items_case_id", ["case_id"], unique=False)
        batch_op.create_index("ix_work_items_open", ["state", "role", "org_unit_id"], unique=False)

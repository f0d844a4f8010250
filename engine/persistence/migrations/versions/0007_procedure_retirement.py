"""procedure retirement

Who retired a procedure version and when: by hand, or by publishing its successor.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("procedure_versions") as batch:
        batch.add_column(sa.Column("retired_by", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("procedure_versions") as batch:
        batch.drop_column("retired_at")
        batch.drop_column("retired_by")

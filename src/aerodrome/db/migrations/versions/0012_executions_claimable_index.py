"""a partial index of unfinished executions by lease expiry, for the engines' claim

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 16:55:00.000000

The claim (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) looks for unfinished executions whose lease is free
or expired, oldest first. Without this index SQLite walked the table in id order and read every row,
finished ones included, on each claim under the write lock (65 ms with 21,000 rows); with it a claim
reads only the unfinished rows' index entries.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

UNFINISHED = "phase NOT IN ('ABORTED', 'FAILED', 'SUCCEEDED', 'TIMED_OUT')"


def upgrade() -> None:
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_executions_claimable",
            ["lease_expires_at"],
            unique=False,
            sqlite_where=sa.text(UNFINISHED),
            postgresql_where=sa.text(UNFINISHED),
        )


def downgrade() -> None:
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.drop_index("ix_executions_claimable")

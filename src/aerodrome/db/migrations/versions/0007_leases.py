"""engine processes (the live processes sharing a database, for leases and ``aerodrome status``)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 10:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "engine_processes",
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("executions", sa.Integer(), nullable=False),
        sa.Column("task_processes", sa.Integer(), nullable=False),
        sa.Column("max_executions", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engine_processes")),
        sa.UniqueConstraint("owner", name=op.f("uq_engine_processes_owner")),
    )


def downgrade() -> None:
    op.drop_table("engine_processes")

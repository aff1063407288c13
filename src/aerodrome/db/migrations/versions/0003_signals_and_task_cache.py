"""signals for gate nodes, the task-output cache and its reservations

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 10:30:45.936252
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "cache_reservations",
        sa.Column("dataset_project", sa.String(length=255), nullable=False),
        sa.Column("dataset_domain", sa.String(length=255), nullable=False),
        sa.Column("dataset_name", sa.String(length=255), nullable=False),
        sa.Column("dataset_version", sa.String(length=255), nullable=False),
        sa.Column("tag", sa.String(length=255), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cache_reservations")),
        sa.UniqueConstraint(
            "dataset_project",
            "dataset_domain",
            "dataset_name",
            "dataset_version",
            "tag",
            name=op.f("uq_cache_reservations_dataset_project_dataset_domain_dataset_name_dataset_version_tag"),
        ),
    )
    op.create_table(
        "cached_artifacts",
        sa.Column("dataset_project", sa.String(length=255), nullable=False),
        sa.Column("dataset_domain", sa.String(length=255), nullable=False),
        sa.Column("dataset_name", sa.String(length=255), nullable=False),
        sa.Column("dataset_version", sa.String(length=255), nullable=False),
        sa.Column("tag", sa.String(length=255), nullable=False),
        sa.Column("artifact_id", sa.String(length=64), nullable=False),
        sa.Column("outputs_uri", sa.Text(), nullable=False),
        sa.Column("source", sa.LargeBinary(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cached_artifacts")),
        sa.UniqueConstraint(
            "dataset_project",
            "dataset_domain",
            "dataset_name",
            "dataset_version",
            "tag",
            name=op.f("uq_cached_artifacts_dataset_project_dataset_domain_dataset_name_dataset_version_tag"),
        ),
    )
    op.create_table(
        "signals",
        sa.Column("execution_project", sa.String(length=255), nullable=False),
        sa.Column("execution_domain", sa.String(length=255), nullable=False),
        sa.Column("execution_name", sa.String(length=255), nullable=False),
        sa.Column("signal_id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.LargeBinary(), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signals")),
        sa.UniqueConstraint(
            "execution_project",
            "execution_domain",
            "execution_name",
            "signal_id",
            name=op.f("uq_signals_execution_project_execution_domain_execution_name_signal_id"),
        ),
    )


def downgrade() -> None:

    op.drop_table("signals")
    op.drop_table("cached_artifacts")
    op.drop_table("cache_reservations")

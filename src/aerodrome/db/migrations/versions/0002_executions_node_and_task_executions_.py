"""executions, node and task executions, tags and events

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 10:39:19.715849
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("execution_project", sa.String(length=255), nullable=False),
        sa.Column("execution_domain", sa.String(length=255), nullable=False),
        sa.Column("execution_name", sa.String(length=255), nullable=False),
        sa.Column("node_id", sa.String(length=255), nullable=False),
        sa.Column("retry_attempt", sa.Integer(), nullable=False),
        sa.Column("phase", sa.String(length=32), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_events_execution", ["execution_project", "execution_domain", "execution_name"], unique=False
        )

    op.create_table(
        "execution_tags",
        sa.Column("execution_project", sa.String(length=255), nullable=False),
        sa.Column("execution_domain", sa.String(length=255), nullable=False),
        sa.Column("execution_name", sa.String(length=255), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_execution_tags")),
        sa.UniqueConstraint(
            "execution_project",
            "execution_domain",
            "execution_name",
            "key",
            "value",
            name=op.f("uq_execution_tags_execution_project_execution_domain_execution_name_key_value"),
        ),
    )
    op.create_table(
        "executions",
        sa.Column("execution_project", sa.String(length=255), nullable=False),
        sa.Column("execution_domain", sa.String(length=255), nullable=False),
        sa.Column("execution_name", sa.String(length=255), nullable=False),
        sa.Column("launch_plan_id", sa.Integer(), nullable=True),
        sa.Column("workflow_id", sa.Integer(), nullable=True),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("phase", sa.String(length=32), nullable=False),
        sa.Column("closure", sa.LargeBinary(), nullable=False),
        sa.Column("spec", sa.LargeBinary(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("execution_created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("execution_updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration", sa.BigInteger(), nullable=False),
        sa.Column("abort_cause", sa.Text(), nullable=False),
        sa.Column("mode", sa.Integer(), nullable=False),
        sa.Column("source_execution_id", sa.Integer(), nullable=True),
        sa.Column("parent_node_execution_id", sa.Integer(), nullable=True),
        sa.Column("cluster", sa.String(length=255), nullable=False),
        sa.Column("inputs_uri", sa.Text(), nullable=False),
        sa.Column("user_inputs_uri", sa.Text(), nullable=False),
        sa.Column("error_kind", sa.String(length=32), nullable=True),
        sa.Column("error_code", sa.String(length=255), nullable=True),
        sa.Column("user", sa.String(length=255), nullable=False),
        sa.Column("state", sa.Integer(), nullable=False),
        sa.Column("launch_entity", sa.String(length=32), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=False),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["launch_plan_id"], ["launch_plans.id"], name=op.f("fk_executions_launch_plan_id_launch_plans")
        ),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], name=op.f("fk_executions_task_id_tasks")),
        sa.ForeignKeyConstraint(["workflow_id"], ["workflows.id"], name=op.f("fk_executions_workflow_id_workflows")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_executions")),
        sa.UniqueConstraint(
            "execution_project",
            "execution_domain",
            "execution_name",
            name=op.f("uq_executions_execution_project_execution_domain_execution_name"),
        ),
    )
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_executions_launch_plan_id"), ["launch_plan_id"], unique=False)
        batch_op.create_index("ix_executions_phase_lease", ["phase", "lease_expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_executions_task_id"), ["task_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_executions_workflow_id"), ["workflow_id"], unique=False)

    op.create_table(
        "node_executions",
        sa.Column("execution_id", sa.Integer(), nullable=False),
        sa.Column("execution_project", sa.String(length=255), nullable=False),
        sa.Column("execution_domain", sa.String(length=255), nullable=False),
        sa.Column("execution_name", sa.String(length=255), nullable=False),
        sa.Column("node_id", sa.String(length=255), nullable=False),
        sa.Column("phase", sa.String(length=32), nullable=False),
        sa.Column("input_uri", sa.Text(), nullable=False),
        sa.Column("closure", sa.LargeBinary(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("node_execution_created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("node_execution_updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration", sa.BigInteger(), nullable=False),
        sa.Column("node_execution_metadata", sa.LargeBinary(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("parent_task_execution_id", sa.Integer(), nullable=True),
        sa.Column("error_kind", sa.String(length=32), nullable=True),
        sa.Column("error_code", sa.String(length=255), nullable=True),
        sa.Column("cache_status", sa.String(length=32), nullable=True),
        sa.Column("dynamic_workflow_remote_closure_reference", sa.Text(), nullable=False),
        sa.Column("internal_data", sa.LargeBinary(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["execution_id"], ["executions.id"], name=op.f("fk_node_executions_execution_id_executions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_node_executions")),
        sa.UniqueConstraint(
            "execution_project",
            "execution_domain",
            "execution_name",
            "node_id",
            name=op.f("uq_node_executions_execution_project_execution_domain_execution_name_node_id"),
        ),
    )
    with op.batch_alter_table("node_executions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_node_executions_execution_id"), ["execution_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_node_executions_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_node_executions_parent_task_execution_id"), ["parent_task_execution_id"], unique=False
        )

    op.create_table(
        "task_executions",
        sa.Column("node_execution_id", sa.Integer(), nullable=False),
        sa.Column("project", sa.String(length=255), nullable=False),
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("version", sa.String(length=255), nullable=False),
        sa.Column("execution_project", sa.String(length=255), nullable=False),
        sa.Column("execution_domain", sa.String(length=255), nullable=False),
        sa.Column("execution_name", sa.String(length=255), nullable=False),
        sa.Column("node_id", sa.String(length=255), nullable=False),
        sa.Column("retry_attempt", sa.Integer(), nullable=False),
        sa.Column("phase", sa.String(length=32), nullable=False),
        sa.Column("phase_version", sa.Integer(), nullable=False),
        sa.Column("input_uri", sa.Text(), nullable=False),
        sa.Column("closure", sa.LargeBinary(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("task_execution_created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("task_execution_updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["node_execution_id"],
            ["node_executions.id"],
            name=op.f("fk_task_executions_node_execution_id_node_executions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_executions")),
        sa.UniqueConstraint(
            "project",
            "domain",
            "name",
            "version",
            "execution_project",
            "execution_domain",
            "execution_name",
            "node_id",
            "retry_attempt",
            name=op.f(
                "uq_task_executions_project_domain_name_version_execution_project_execution_domain_execution_name_node_id_retry_attempt"
            ),
        ),
    )
    with op.batch_alter_table("task_executions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_task_executions_node_execution_id"), ["node_execution_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("task_executions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_task_executions_node_execution_id"))

    op.drop_table("task_executions")
    with op.batch_alter_table("node_executions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_node_executions_parent_task_execution_id"))
        batch_op.drop_index(batch_op.f("ix_node_executions_parent_id"))
        batch_op.drop_index(batch_op.f("ix_node_executions_execution_id"))

    op.drop_table("node_executions")
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_executions_workflow_id"))
        batch_op.drop_index(batch_op.f("ix_executions_task_id"))
        batch_op.drop_index("ix_executions_phase_lease")
        batch_op.drop_index(batch_op.f("ix_executions_launch_plan_id"))

    op.drop_table("executions")
    op.drop_table("execution_tags")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_execution")

    op.drop_table("events")

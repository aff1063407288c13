"""initial registry schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 10:18:54.434608
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "description_entities",
        sa.Column("resource_type", sa.Integer(), nullable=False),
        sa.Column("project", sa.String(length=255), nullable=False),
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("version", sa.String(length=255), nullable=False),
        sa.Column("short_description", sa.String(length=255), nullable=False),
        sa.Column("long_description", sa.LargeBinary(), nullable=False),
        sa.Column("link", sa.Text(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_description_entities")),
        sa.UniqueConstraint(
            "resource_type",
            "project",
            "domain",
            "name",
            "version",
            name=op.f("uq_description_entities_resource_type_project_domain_name_version"),
        ),
    )
    op.create_table(
        "named_entity_metadata",
        sa.Column("resource_type", sa.Integer(), nullable=False),
        sa.Column("project", sa.String(length=255), nullable=False),
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("state", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_named_entity_metadata")),
        sa.UniqueConstraint(
            "resource_type",
            "project",
            "domain",
            "name",
            name=op.f("uq_named_entity_metadata_resource_type_project_domain_name"),
        ),
    )
    op.create_table(
        "projects",
        sa.Column("identifier", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("labels", sa.LargeBinary(), nullable=False),
        sa.Column("state", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        sa.UniqueConstraint("identifier", name=op.f("uq_projects_identifier")),
    )
    op.create_table(
        "resources",
        sa.Column("project", sa.String(length=255), nullable=False),
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("workflow", sa.String(length=255), nullable=False),
        sa.Column("launch_plan", sa.String(length=255), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("attributes", sa.LargeBinary(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resources")),
        sa.UniqueConstraint(
            "project",
            "domain",
            "workflow",
            "launch_plan",
            "resource_type",
            name=op.f("uq_resources_project_domain_workflow_launch_plan_resource_type"),
        ),
    )
    op.create_table(
        "tasks",
        sa.Column("project", sa.String(length=255), nullable=False),
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("version", sa.String(length=255), nullable=False),
        sa.Column("closure", sa.LargeBinary(), nullable=False),
        sa.Column("digest", sa.LargeBinary(), nullable=False),
        sa.Column("type", sa.String(length=255), nullable=False),
        sa.Column("short_description", sa.String(length=255), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
        sa.UniqueConstraint("project", "domain", "name", "version", name=op.f("uq_tasks_project_domain_name_version")),
    )
    op.create_table(
        "workflows",
        sa.Column("project", sa.String(length=255), nullable=False),
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("version", sa.String(length=255), nullable=False),
        sa.Column("typed_interface", sa.LargeBinary(), nullable=False),
        sa.Column("closure", sa.LargeBinary(), nullable=False),
        sa.Column("remote_closure_identifier", sa.String(length=1024), nullable=False),
        sa.Column("digest", sa.LargeBinary(), nullable=False),
        sa.Column("short_description", sa.String(length=255), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflows")),
        sa.UniqueConstraint(
            "project", "domain", "name", "version", name=op.f("uq_workflows_project_domain_name_version")
        ),
    )
    op.create_table(
        "launch_plans",
        sa.Column("project", sa.String(length=255), nullable=False),
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("version", sa.String(length=255), nullable=False),
        sa.Column("spec", sa.LargeBinary(), nullable=False),
        sa.Column("workflow_id", sa.Integer(), nullable=False),
        sa.Column("closure", sa.LargeBinary(), nullable=False),
        sa.Column("state", sa.Integer(), nullable=False),
        sa.Column("digest", sa.LargeBinary(), nullable=False),
        sa.Column("schedule_type", sa.String(length=16), nullable=False),
        sa.Column("launch_condition_type", sa.String(length=32), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["workflow_id"], ["workflows.id"], name=op.f("fk_launch_plans_workflow_id_workflows")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_launch_plans")),
        sa.UniqueConstraint(
            "project", "domain", "name", "version", name=op.f("uq_launch_plans_project_domain_name_version")
        ),
    )
    with op.batch_alter_table("launch_plans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_launch_plans_workflow_id"), ["workflow_id"], unique=False)
        batch_op.create_index(
            "uq_launch_plans_one_active",
            ["project", "domain", "name"],
            unique=True,
            sqlite_where=sa.text("state = 1"),
            postgresql_where=sa.text("state = 1"),
        )


def downgrade() -> None:
    with op.batch_alter_table("launch_plans", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_launch_plans_one_active",
            sqlite_where=sa.text("state = 1"),
            postgresql_where=sa.text("state = 1"),
        )
        batch_op.drop_index(batch_op.f("ix_launch_plans_workflow_id"))

    op.drop_table("launch_plans")
    op.drop_table("workflows")
    op.drop_table("tasks")
    op.drop_table("resources")
    op.drop_table("projects")
    op.drop_table("named_entity_metadata")
    op.drop_table("description_entities")

"""providers, execution providers, product types, products and product workflows

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 10:35:33.202022
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "execution_providers",
        sa.Column("execution_project", sa.String(length=255), nullable=False),
        sa.Column("execution_domain", sa.String(length=255), nullable=False),
        sa.Column("execution_name", sa.String(length=255), nullable=False),
        sa.Column("node_id", sa.String(length=255), nullable=False),
        sa.Column("provider_name", sa.String(length=255), nullable=False),
        sa.Column("level", sa.String(length=32), nullable=False),
        sa.Column("device", sa.String(length=16), nullable=False),
        sa.Column("python", sa.Text(), nullable=False),
        sa.Column("code_path", sa.Text(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_execution_providers")),
        sa.UniqueConstraint(
            "execution_project",
            "execution_domain",
            "execution_name",
            "node_id",
            name=op.f("uq_execution_providers_execution_project_execution_domain_execution_name_node_id"),
        ),
    )
    with op.batch_alter_table("execution_providers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_execution_providers_provider_name"), ["provider_name"], unique=False)

    op.create_table(
        "product_types",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_types")),
        sa.UniqueConstraint("name", name=op.f("uq_product_types_name")),
    )
    op.create_table(
        "product_workflows",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("is_task", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "target IN ('CREATE', 'MODIFY', 'TERMINATE', 'SYSTEM', 'VALIDATE', 'RECONCILE')",
            name=op.f("ck_product_workflows_target"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_workflows")),
        sa.UniqueConstraint("name", name=op.f("uq_product_workflows_name")),
    )
    op.create_table(
        "providers",
        sa.Column("provider_name", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("version", sa.String(length=100), nullable=False),
        sa.Column("device", sa.String(length=16), nullable=False),
        sa.Column("device_metadata", sa.Text(), nullable=False),
        sa.Column("components_description", sa.Text(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_providers")),
        sa.UniqueConstraint("provider_name", name=op.f("uq_providers_provider_name")),
    )
    with op.batch_alter_table("providers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_providers_name"), ["name"], unique=False)

    op.create_table(
        "product_workflow_types",
        sa.Column("workflow_id", sa.Integer(), nullable=False),
        sa.Column("product_type_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_type_id"],
            ["product_types.id"],
            name=op.f("fk_product_workflow_types_product_type_id_product_types"),
        ),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["product_workflows.id"],
            name=op.f("fk_product_workflow_types_workflow_id_product_workflows"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workflow_id", "product_type_id", name=op.f("pk_product_workflow_types")),
    )
    with op.batch_alter_table("product_workflow_types", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_product_workflow_types_product_type_id"), ["product_type_id"], unique=False
        )

    op.create_table(
        "products",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("product_type_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["product_type_id"], ["product_types.id"], name=op.f("fk_products_product_type_id_product_types")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        sa.UniqueConstraint("name", name=op.f("uq_products_name")),
    )
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_products_product_type_id"), ["product_type_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_products_product_type_id"))

    op.drop_table("products")
    with op.batch_alter_table("product_workflow_types", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_workflow_types_product_type_id"))

    op.drop_table("product_workflow_types")
    with op.batch_alter_table("providers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_providers_name"))

    op.drop_table("providers")
    op.drop_table("product_workflows")
    op.drop_table("product_types")
    with op.batch_alter_table("execution_providers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_execution_providers_provider_name"))

    op.drop_table("execution_providers")

"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

A data migration of this deployment (the "data" branch): it registers product types and product
workflows with the helpers of aerodrome.products.migrations. Fill in the lists; downgrade undoes
upgrade in reverse order. Apply with `aerodrome db upgrade heads`, undo with `aerodrome db downgrade`.
"""

from __future__ import annotations

from typing import Any

from alembic import op

from aerodrome.products.migrations import (
    create_product_type,
    create_workflow,
    delete_product_type,
    delete_workflow,
)

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}

# e.g. {"name": "User", "description": "A user account"}
PRODUCT_TYPES: list[dict[str, Any]] = []

# e.g. {"name": "create_user", "target": "CREATE", "description": "Create a user", "product_type": "User"}
WORKFLOWS: list[dict[str, Any]] = []


def upgrade() -> None:
    conn = op.get_bind()
    for product_type in PRODUCT_TYPES:
        create_product_type(conn, product_type)
    for workflow in WORKFLOWS:
        create_workflow(conn, workflow)


def downgrade() -> None:
    conn = op.get_bind()
    for workflow in reversed(WORKFLOWS):
        delete_workflow(conn, workflow["name"])
    for product_type in reversed(PRODUCT_TYPES):
        delete_product_type(conn, product_type["name"])

"""the cluster (address, runtime_env) of a ray provider, frozen with each node of an execution

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 13:40:00.000000

Nodes resolved to a ``ray`` provider run on the cluster its metadata names; like the interpreter and code
path of a local provider, the address and runtime_env are copied at execution creation so a later
``--replace`` of the provider cannot move a running execution to another cluster.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("execution_providers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cluster", sa.Text(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("execution_providers", schema=None) as batch_op:
        batch_op.drop_column("cluster")

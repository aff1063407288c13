"""an index for execution lists of a project-domain, newest first

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 11:25:00.000000

ListExecutions (and the console's executions list) filter on project and domain and sort on the
creation time; without this index every page sorted all of the project's executions (bench/console.py:
about 100-400 ms at 100,000 executions, 56-60 ms with it).
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_executions_project_domain_created",
        "executions",
        ["execution_project", "execution_domain", "execution_created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_executions_project_domain_created", table_name="executions")

"""Tables of executions, node executions, task executions, their tags and the events that moved them.

Column names follow FlyteAdmin's models because list filters address them by name
(``execution_created_at``, ``phase``, ``duration`` …). Closures and specs are serialized flyteidl bytes.
Phases are stored as enum names, as the reference does, so ``value_in(phase,RUNNING;QUEUED)`` works.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from aerodrome.db.models.base import Base, RowMixin, UtcDateTime

# Unfinished executions: what the engines' claim looks for. Its partial index holds only these rows, so a
# claim costs the same with 100,000 finished executions in the table as with none (a scan in id order
# read every row under SQLite's write lock); the claim uses this very clause so the planners match it.
UNFINISHED = "phase NOT IN ('ABORTED', 'FAILED', 'SUCCEEDED', 'TIMED_OUT')"


class ExecutionRow(RowMixin, Base):
    """One workflow execution."""

    __tablename__ = "executions"
    __table_args__ = (
        UniqueConstraint("execution_project", "execution_domain", "execution_name"),
        Index("ix_executions_phase_lease", "phase", "lease_expires_at"),
        Index(
            "ix_executions_claimable",
            "lease_expires_at",
            sqlite_where=text(UNFINISHED),
            postgresql_where=text(UNFINISHED),
        ),
        # Lists of one project-domain, newest first (ListExecutions, the console).
        Index("ix_executions_project_domain_created", "execution_project", "execution_domain", "execution_created_at"),
    )

    execution_project: Mapped[str] = mapped_column(String(255))
    execution_domain: Mapped[str] = mapped_column(String(255))
    execution_name: Mapped[str] = mapped_column(String(255))
    launch_plan_id: Mapped[int | None] = mapped_column(ForeignKey("launch_plans.id"), nullable=True, index=True)
    workflow_id: Mapped[int | None] = mapped_column(ForeignKey("workflows.id"), nullable=True, index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"), nullable=True, index=True)
    phase: Mapped[str] = mapped_column(String(32), default="UNDEFINED")
    closure: Mapped[bytes] = mapped_column(LargeBinary)
    spec: Mapped[bytes] = mapped_column(LargeBinary)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    execution_created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    execution_updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    duration: Mapped[int] = mapped_column(BigInteger, default=0)  # nanoseconds, as filters compare it
    abort_cause: Mapped[str] = mapped_column(Text, default="")
    mode: Mapped[int] = mapped_column(Integer, default=0)
    # The fire time of a scheduled execution (``metadata.scheduled_at``), for ``scheduled_at`` filters.
    scheduled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True, index=True)
    source_execution_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    parent_node_execution_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cluster: Mapped[str] = mapped_column(String(255), default="")
    inputs_uri: Mapped[str] = mapped_column(Text, default="")
    user_inputs_uri: Mapped[str] = mapped_column(Text, default="")
    error_kind: Mapped[str | None] = mapped_column(String(32), nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(255), nullable=True)
    user: Mapped[str] = mapped_column(String(255), default="")
    state: Mapped[int] = mapped_column(Integer, default=0)
    launch_entity: Mapped[str] = mapped_column(String(32), default="launch_plan")
    # Which engine drives this execution, until when (several processes may share a PostgreSQL database).
    lease_owner: Mapped[str] = mapped_column(String(64), default="")
    lease_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class ExecutionTagRow(RowMixin, Base):
    """One label (key, value) or tag (key, "") of an execution, for ``execution_tag.`` filters."""

    __tablename__ = "execution_tags"
    __table_args__ = (UniqueConstraint("execution_project", "execution_domain", "execution_name", "key", "value"),)

    execution_project: Mapped[str] = mapped_column(String(255))
    execution_domain: Mapped[str] = mapped_column(String(255))
    execution_name: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(String(255), default="")


class NodeExecutionRow(RowMixin, Base):
    """One node execution (top level or nested under a parent node or task execution)."""

    __tablename__ = "node_executions"
    __table_args__ = (UniqueConstraint("execution_project", "execution_domain", "execution_name", "node_id"),)

    execution_id: Mapped[int] = mapped_column(ForeignKey("executions.id"), index=True)
    execution_project: Mapped[str] = mapped_column(String(255))
    execution_domain: Mapped[str] = mapped_column(String(255))
    execution_name: Mapped[str] = mapped_column(String(255))
    node_id: Mapped[str] = mapped_column(String(255))
    phase: Mapped[str] = mapped_column(String(32), default="UNDEFINED")
    input_uri: Mapped[str] = mapped_column(Text, default="")
    closure: Mapped[bytes] = mapped_column(LargeBinary)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    node_execution_created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    node_execution_updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    duration: Mapped[int] = mapped_column(BigInteger, default=0)
    node_execution_metadata: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    parent_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    parent_task_execution_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    error_kind: Mapped[str | None] = mapped_column(String(32), nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(255), nullable=True)
    cache_status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    dynamic_workflow_remote_closure_reference: Mapped[str] = mapped_column(Text, default="")
    internal_data: Mapped[bytes] = mapped_column(LargeBinary, default=b"")


class TaskExecutionRow(RowMixin, Base):
    """One attempt of a task in a node execution."""

    __tablename__ = "task_executions"
    __table_args__ = (
        UniqueConstraint(
            "project",
            "domain",
            "name",
            "version",
            "execution_project",
            "execution_domain",
            "execution_name",
            "node_id",
            "retry_attempt",
        ),
    )

    node_execution_id: Mapped[int] = mapped_column(ForeignKey("node_executions.id"), index=True)
    project: Mapped[str] = mapped_column(String(255))
    domain: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    version: Mapped[str] = mapped_column(String(255))
    execution_project: Mapped[str] = mapped_column(String(255))
    execution_domain: Mapped[str] = mapped_column(String(255))
    execution_name: Mapped[str] = mapped_column(String(255))
    node_id: Mapped[str] = mapped_column(String(255))
    retry_attempt: Mapped[int] = mapped_column(Integer, default=0)
    phase: Mapped[str] = mapped_column(String(32), default="UNDEFINED")
    phase_version: Mapped[int] = mapped_column(Integer, default=0)
    input_uri: Mapped[str] = mapped_column(Text, default="")
    closure: Mapped[bytes] = mapped_column(LargeBinary)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    task_execution_created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    task_execution_updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    duration: Mapped[int] = mapped_column(BigInteger, default=0)


class EventRow(RowMixin, Base):
    """Every accepted event as it arrived (audit trail and the source for rebuilding engine state)."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_execution", "execution_project", "execution_domain", "execution_name"),)

    kind: Mapped[str] = mapped_column(String(16))  # workflow | node | task
    execution_project: Mapped[str] = mapped_column(String(255))
    execution_domain: Mapped[str] = mapped_column(String(255))
    execution_name: Mapped[str] = mapped_column(String(255))
    node_id: Mapped[str] = mapped_column(String(255), default="")
    retry_attempt: Mapped[int] = mapped_column(Integer, default=0)
    phase: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    payload: Mapped[bytes] = mapped_column(LargeBinary)

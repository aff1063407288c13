"""Tables of registered entities: tasks, workflows, launch plans and their descriptions.

Closures are stored as serialized flyteidl protobuf bytes; only what lists filter or sort on is promoted
to a column (decision 1 of the architecture).
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from aerodrome.db.models.base import Base, RowMixin


class TaskRow(RowMixin, Base):
    """One task version."""

    __tablename__ = "tasks"
    __table_args__ = (UniqueConstraint("project", "domain", "name", "version"),)

    project: Mapped[str] = mapped_column(String(255))
    domain: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    version: Mapped[str] = mapped_column(String(255))
    closure: Mapped[bytes] = mapped_column(LargeBinary)
    digest: Mapped[bytes] = mapped_column(LargeBinary)
    type: Mapped[str] = mapped_column(String(255), default="")
    short_description: Mapped[str] = mapped_column(String(255), default="")


class WorkflowRow(RowMixin, Base):
    """One workflow version with its compiled closure."""

    __tablename__ = "workflows"
    __table_args__ = (UniqueConstraint("project", "domain", "name", "version"),)

    project: Mapped[str] = mapped_column(String(255))
    domain: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    version: Mapped[str] = mapped_column(String(255))
    typed_interface: Mapped[bytes] = mapped_column(LargeBinary)
    closure: Mapped[bytes] = mapped_column(LargeBinary)
    remote_closure_identifier: Mapped[str] = mapped_column(String(1024), default="")
    digest: Mapped[bytes] = mapped_column(LargeBinary)
    short_description: Mapped[str] = mapped_column(String(255), default="")


class LaunchPlanRow(RowMixin, Base):
    """One launch-plan version; at most one version per name is ACTIVE (state 1)."""

    __tablename__ = "launch_plans"
    __table_args__ = (
        UniqueConstraint("project", "domain", "name", "version"),
        Index(
            "uq_launch_plans_one_active",
            "project",
            "domain",
            "name",
            unique=True,
            sqlite_where=text("state = 1"),
            postgresql_where=text("state = 1"),
        ),
    )

    project: Mapped[str] = mapped_column(String(255))
    domain: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    version: Mapped[str] = mapped_column(String(255))
    spec: Mapped[bytes] = mapped_column(LargeBinary)
    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id"), index=True)
    closure: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[int] = mapped_column(Integer, default=0)
    digest: Mapped[bytes] = mapped_column(LargeBinary)
    schedule_type: Mapped[str] = mapped_column(String(16), default="NONE")
    launch_condition_type: Mapped[str] = mapped_column(String(32), default="")


class DescriptionEntityRow(RowMixin, Base):
    """Long descriptions and source links of task and workflow versions."""

    __tablename__ = "description_entities"
    __table_args__ = (UniqueConstraint("resource_type", "project", "domain", "name", "version"),)

    resource_type: Mapped[int] = mapped_column(Integer)
    project: Mapped[str] = mapped_column(String(255))
    domain: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    version: Mapped[str] = mapped_column(String(255))
    short_description: Mapped[str] = mapped_column(String(255), default="")
    long_description: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    link: Mapped[str] = mapped_column(Text, default="")


class NamedEntityMetadataRow(RowMixin, Base):
    """Description and state of a named entity; rows exist only after UpdateNamedEntity."""

    __tablename__ = "named_entity_metadata"
    __table_args__ = (UniqueConstraint("resource_type", "project", "domain", "name"),)

    resource_type: Mapped[int] = mapped_column(Integer)
    project: Mapped[str] = mapped_column(String(255))
    domain: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(String(300), default="")
    state: Mapped[int] = mapped_column(Integer, default=0)

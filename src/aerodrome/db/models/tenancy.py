"""Tables of projects and matchable attributes (per project, domain, workflow or launch plan)."""

from __future__ import annotations

from sqlalchemy import Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from aerodrome.db.models.base import Base, RowMixin


class ProjectRow(RowMixin, Base):
    """A project; domains are system wide."""

    __tablename__ = "projects"

    identifier: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(64), default="")
    description: Mapped[str] = mapped_column(String(300), default="")
    labels: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    state: Mapped[int] = mapped_column(Integer, default=0)


class ResourceRow(RowMixin, Base):
    """One matchable attribute; the most specific (highest priority) matching row wins at lookup."""

    __tablename__ = "resources"
    __table_args__ = (UniqueConstraint("project", "domain", "workflow", "launch_plan", "resource_type"),)

    project: Mapped[str] = mapped_column(String(255), default="")
    domain: Mapped[str] = mapped_column(String(255), default="")
    workflow: Mapped[str] = mapped_column(String(255), default="")
    launch_plan: Mapped[str] = mapped_column(String(255), default="")
    resource_type: Mapped[str] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(Integer)
    attributes: Mapped[bytes] = mapped_column(LargeBinary)

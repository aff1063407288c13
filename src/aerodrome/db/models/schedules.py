"""The schedule of each launch-plan name: which version fires, from when, when it last and next fires.

One row per (project, domain, name), written by launch-plan activation in the same transaction as the
launch plans' states (so moving a schedule from one version to another is atomic) and advanced by the
scheduler after each fire. Every process reads the same row, so every process agrees on the fire times.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from aerodrome.db.models.base import Base, RowMixin, UtcDateTime


class ScheduleRow(RowMixin, Base):
    """A launch-plan name's schedule state (absent until a version with a schedule was first activated)."""

    __tablename__ = "schedules"
    __table_args__ = (
        UniqueConstraint("project", "domain", "name"),
        Index("ix_schedules_active_next_fire_at", "active", "next_fire_at"),
    )

    project: Mapped[str] = mapped_column(String(255))
    domain: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    launch_plan_id: Mapped[int] = mapped_column(ForeignKey("launch_plans.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Interval schedules count from here; catch-up never reaches before it (the activation time).
    anchor_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_fire_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # NULL means "to be computed by the scheduler" (after activation or a version switch).
    next_fire_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

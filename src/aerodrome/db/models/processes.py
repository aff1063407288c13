"""The live aerodrome processes of a database: one row per running engine, renewed by its heartbeat."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from aerodrome.db.models.base import Base, RowMixin, UtcDateTime


class EngineProcessRow(RowMixin, Base):
    """One aerodrome process driving executions (its ``owner`` is the lease owner on execution rows)."""

    __tablename__ = "engine_processes"

    owner: Mapped[str] = mapped_column(String(64), unique=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    version: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UtcDateTime)  # database time of the last heartbeat
    executions: Mapped[int] = mapped_column(Integer, default=0)  # executions it drives
    task_processes: Mapped[int] = mapped_column(Integer, default=0)  # task processes it runs
    max_executions: Mapped[int] = mapped_column(Integer, default=0)

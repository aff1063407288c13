"""Tables the engine needs while executions run: signals for gate nodes and the task-output cache.

A signal is keyed by (execution, signal_id) and keeps its declared type and, once set, its value, both as
serialized flyteidl bytes. A cached artifact is keyed by the dataset (project, domain, ``flyte_task-<name>``,
``<cache_version>-<in8>-<out8>``) and the tag computed from the inputs, as datacatalog keys them; a
reservation is held by one node attempt while a ``cache_serialize`` task runs.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from aerodrome.db.models.base import Base, RowMixin, UtcDateTime


class SignalRow(RowMixin, Base):
    """One signal of an execution (approve, wait_for_input)."""

    __tablename__ = "signals"
    __table_args__ = (UniqueConstraint("execution_project", "execution_domain", "execution_name", "signal_id"),)

    execution_project: Mapped[str] = mapped_column(String(255))
    execution_domain: Mapped[str] = mapped_column(String(255))
    execution_name: Mapped[str] = mapped_column(String(255))
    signal_id: Mapped[str] = mapped_column(String(255))
    type: Mapped[bytes] = mapped_column(LargeBinary)
    value: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class DatasetKeyMixin:
    """The cache key columns: the dataset (project, domain, name, version) and the tag of the inputs."""

    dataset_project: Mapped[str] = mapped_column(String(255))
    dataset_domain: Mapped[str] = mapped_column(String(255))
    dataset_name: Mapped[str] = mapped_column(String(255))
    dataset_version: Mapped[str] = mapped_column(String(255))
    tag: Mapped[str] = mapped_column(String(255))


class CachedArtifactRow(DatasetKeyMixin, RowMixin, Base):
    """The outputs of one successful cacheable task run, found again by dataset and input tag."""

    __tablename__ = "cached_artifacts"
    __table_args__ = (UniqueConstraint("dataset_project", "dataset_domain", "dataset_name", "dataset_version", "tag"),)

    artifact_id: Mapped[str] = mapped_column(String(64))
    outputs_uri: Mapped[str] = mapped_column(Text)
    # Where the artifact came from, for catalog_key.source_task_execution.
    source: Mapped[bytes] = mapped_column(LargeBinary, default=b"")


class CacheReservationRow(RowMixin, Base):
    """Who may compute a ``cache_serialize`` artifact right now, and until when."""

    __tablename__ = "cache_reservations"
    __table_args__ = (UniqueConstraint("dataset_project", "dataset_domain", "dataset_name", "dataset_version", "tag"),)

    dataset_project: Mapped[str] = mapped_column(String(255))
    dataset_domain: Mapped[str] = mapped_column(String(255))
    dataset_name: Mapped[str] = mapped_column(String(255))
    dataset_version: Mapped[str] = mapped_column(String(255))
    tag: Mapped[str] = mapped_column(String(255))
    owner: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)

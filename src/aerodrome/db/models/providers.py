"""Tables of the algorithm-provider registry and of the provider each node of an execution was resolved to.

A provider is a versioned runtime environment (``name:version@device``). Its device metadata and component
descriptions are JSON text: they are shown and compared as a whole, never filtered on. The resolution of
an execution is frozen at creation, one row per task node, with the runtime fields copied from the
provider, so a later re-registration (``--replace``) cannot change what an existing execution runs with.
"""

from __future__ import annotations

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from aerodrome.db.models.base import Base, RowMixin


class ProviderRow(RowMixin, Base):
    """One registered provider; ``provider_name`` is the canonical id ``name:version@device``."""

    __tablename__ = "providers"
    __table_args__ = (UniqueConstraint("provider_name"),)

    provider_name: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[str] = mapped_column(String(100))
    device: Mapped[str] = mapped_column(String(16))
    device_metadata: Mapped[str] = mapped_column(Text, default="{}")
    components_description: Mapped[str] = mapped_column(Text, default="{}")


class ExecutionProviderRow(RowMixin, Base):
    """The provider one task node of one execution runs with, resolved and frozen at execution creation."""

    __tablename__ = "execution_providers"
    __table_args__ = (UniqueConstraint("execution_project", "execution_domain", "execution_name", "node_id"),)

    execution_project: Mapped[str] = mapped_column(String(255))
    execution_domain: Mapped[str] = mapped_column(String(255))
    execution_name: Mapped[str] = mapped_column(String(255))
    node_id: Mapped[str] = mapped_column(String(255))
    provider_name: Mapped[str] = mapped_column(String(255), index=True)
    level: Mapped[str] = mapped_column(String(32))
    device: Mapped[str] = mapped_column(String(16))
    python: Mapped[str] = mapped_column(Text, default="")
    code_path: Mapped[str] = mapped_column(Text, default="")
    # The cluster of a ray provider: {"address": ..., "runtime_env": {...}} (JSON), "{}" for other devices.
    cluster: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")

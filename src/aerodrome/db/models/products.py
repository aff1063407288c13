"""Tables of the product-workflow registry: product types, products, workflow registrations and their links.

Registrations are written by data migrations (``aerodrome.products.migrations``), read by the server.
A registration links to product *types*, not to the products that exist at registration time, so a
product created later is covered too. ``target`` is checked by the database as well as by the helpers.
"""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from aerodrome.db.models.base import Base, RowMixin

TARGETS = ("CREATE", "MODIFY", "TERMINATE", "SYSTEM", "VALIDATE", "RECONCILE")


class ProductTypeRow(RowMixin, Base):
    """A kind of product (``User``, ``UserGroup``)."""

    __tablename__ = "product_types"
    __table_args__ = (UniqueConstraint("name"),)

    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")


class ProductRow(RowMixin, Base):
    """A product of one type (several products may share a type, e.g. internal and external users)."""

    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("name"),)

    name: Mapped[str] = mapped_column(String(255))
    product_type_id: Mapped[int] = mapped_column(ForeignKey("product_types.id"), index=True)
    tag: Mapped[str] = mapped_column(String(64), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(32), default="active")


class ProductWorkflowRow(RowMixin, Base):
    """A workflow registration: which workflow (by name) does what (target) for which product types."""

    __tablename__ = "product_workflows"
    __table_args__ = (
        UniqueConstraint("name"),
        CheckConstraint("target IN ('CREATE', 'MODIFY', 'TERMINATE', 'SYSTEM', 'VALIDATE', 'RECONCILE')", "target"),
    )

    name: Mapped[str] = mapped_column(String(255))
    target: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, default="")
    is_task: Mapped[bool] = mapped_column(Boolean, default=False)


class ProductWorkflowTypeRow(Base):
    """Link of a registration to a product type; removing the registration removes its links."""

    __tablename__ = "product_workflow_types"

    workflow_id: Mapped[int] = mapped_column(ForeignKey("product_workflows.id", ondelete="CASCADE"), primary_key=True)
    product_type_id: Mapped[int] = mapped_column(ForeignKey("product_types.id"), primary_key=True, index=True)

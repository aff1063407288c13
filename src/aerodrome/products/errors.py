"""The error a data migration raises when a registration is wrong (Alembic then rolls the revision back)."""

from __future__ import annotations


class ProductRegistrationError(ValueError):
    """A product type, product or workflow registration that cannot be applied; the message says why."""

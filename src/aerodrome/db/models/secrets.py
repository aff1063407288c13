"""Operator secrets that tasks request with ``secret_requests``: one row per (group, key), the value
encrypted with a key kept outside the database (see ``managers/secrets.py``)."""

from __future__ import annotations

from sqlalchemy import LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from aerodrome.db.models.base import Base, RowMixin


class SecretRow(RowMixin, Base):
    """One secret: its group and key as flytekit's ``Secret(group=…, key=…)`` names it, and the ciphertext."""

    __tablename__ = "secrets"
    __table_args__ = (UniqueConstraint("secret_group", "secret_key"),)

    secret_group: Mapped[str] = mapped_column(String(255))
    secret_key: Mapped[str] = mapped_column(String(255))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)

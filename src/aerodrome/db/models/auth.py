"""Who may call the server: OAuth2 clients (machines), users (people) and the token signing keys.

Secrets and passwords are kept only as argon2 hashes. ``grants`` is a space-separated list of
``project:role`` entries (``*:admin`` is the server-wide admin), small enough to travel inside tokens.
"""

from __future__ import annotations

from sqlalchemy import Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from aerodrome.db.models.base import Base, RowMixin


class AuthClientRow(RowMixin, Base):
    """A confidential OAuth2 client (client-credentials grant)."""

    __tablename__ = "auth_clients"

    client_id: Mapped[str] = mapped_column(String(255), unique=True)
    secret_hash: Mapped[str] = mapped_column(Text)
    grants: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class AuthUserRow(RowMixin, Base):
    """A person who logs in with a password (self mode) or is mapped from an OIDC claim (oidc mode)."""

    __tablename__ = "auth_users"

    username: Mapped[str] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str] = mapped_column(Text, default="")
    grants: Mapped[str] = mapped_column(Text, default="")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)


class AuthKeyRow(RowMixin, Base):
    """A token signing key (a private JWK); the newest active one signs, every active one verifies."""

    __tablename__ = "auth_keys"

    kid: Mapped[str] = mapped_column(String(64), unique=True)
    private_jwk: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

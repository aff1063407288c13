"""SQL of the auth tables: clients, users and signing keys (one small repository, used by the CLI and server)."""

from __future__ import annotations

from sqlalchemy import select

from aerodrome.auth.hashing import hash_secret, new_secret
from aerodrome.auth.identity import format_grants
from aerodrome.db.engine import Database
from aerodrome.db.models import AuthClientRow, AuthKeyRow, AuthUserRow
from aerodrome.errors import AlreadyExists, NotFound


class AuthStore:
    """Clients, users and keys; every write is its own transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create_client(self, client_id: str, grants: dict[str, str], description: str = "") -> str:
        """Create a client and return its secret (shown once, stored only as a hash)."""
        secret = new_secret()
        async with self.db.transaction(write=True) as uow:
            if await self._client(uow.session, client_id) is not None:
                raise AlreadyExists(f"client {client_id} already exists")
            uow.session.add(
                AuthClientRow(
                    client_id=client_id,
                    secret_hash=hash_secret(secret),
                    grants=format_grants(grants),
                    description=description,
                    revoked=False,
                )
            )
        return secret

    async def find_client(self, client_id: str) -> AuthClientRow | None:
        async with self.db.transaction() as uow:
            return await self._client(uow.session, client_id)

    async def list_clients(self) -> list[AuthClientRow]:
        async with self.db.transaction() as uow:
            return list((await uow.session.execute(select(AuthClientRow).order_by(AuthClientRow.client_id))).scalars())

    async def revoke_client(self, client_id: str) -> None:
        async with self.db.transaction(write=True) as uow:
            row = await self._client(uow.session, client_id)
            if row is None:
                raise NotFound(f"no client {client_id}")
            row.revoked = True

    async def create_user(self, username: str, password: str, grants: dict[str, str]) -> None:
        async with self.db.transaction(write=True) as uow:
            if await self._user(uow.session, username) is not None:
                raise AlreadyExists(f"user {username} already exists")
            uow.session.add(
                AuthUserRow(
                    username=username,
                    password_hash=hash_secret(password) if password else "",
                    grants=format_grants(grants),
                    disabled=False,
                )
            )

    async def find_user(self, username: str) -> AuthUserRow | None:
        async with self.db.transaction() as uow:
            return await self._user(uow.session, username)

    async def list_users(self) -> list[AuthUserRow]:
        async with self.db.transaction() as uow:
            return list((await uow.session.execute(select(AuthUserRow).order_by(AuthUserRow.username))).scalars())

    async def disable_user(self, username: str) -> None:
        async with self.db.transaction(write=True) as uow:
            row = await self._user(uow.session, username)
            if row is None:
                raise NotFound(f"no user {username}")
            row.disabled = True

    async def active_keys(self) -> list[AuthKeyRow]:
        """Active signing keys, newest first."""
        async with self.db.transaction() as uow:
            query = select(AuthKeyRow).where(AuthKeyRow.active.is_(True)).order_by(AuthKeyRow.id.desc())
            return list((await uow.session.execute(query)).scalars())

    async def add_key(self, kid: str, private_jwk: str, *, retire_all_but: int = 0) -> None:
        """Add a signing key; with ``retire_all_but`` > 0 keep only that many of the previous active keys."""
        async with self.db.transaction(write=True) as uow:
            if retire_all_but:
                query = select(AuthKeyRow).where(AuthKeyRow.active.is_(True)).order_by(AuthKeyRow.id.desc())
                for old in list((await uow.session.execute(query)).scalars())[retire_all_but:]:
                    old.active = False
            uow.session.add(AuthKeyRow(kid=kid, private_jwk=private_jwk, active=True))

    @staticmethod
    async def _client(session: object, client_id: str) -> AuthClientRow | None:
        query = select(AuthClientRow).where(AuthClientRow.client_id == client_id)
        return (await session.execute(query)).scalar_one_or_none()  # type: ignore[attr-defined,no-any-return]

    @staticmethod
    async def _user(session: object, username: str) -> AuthUserRow | None:
        query = select(AuthUserRow).where(AuthUserRow.username == username)
        return (await session.execute(query)).scalar_one_or_none()  # type: ignore[attr-defined,no-any-return]

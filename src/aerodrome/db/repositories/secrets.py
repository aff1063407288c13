"""Repository of operator secrets (ciphertexts only; the manager encrypts and decrypts)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select

from aerodrome.db.models import SecretRow
from aerodrome.db.repositories.base import Repository


class SecretRepository(Repository[SecretRow]):
    """Secrets by (group, key)."""

    async def find(self, group: str, key: str) -> SecretRow | None:
        query = select(SecretRow).where(SecretRow.secret_group == group, SecretRow.secret_key == key)
        row: SecretRow | None = (await self.session.execute(query)).scalar_one_or_none()
        return row

    async def put(self, group: str, key: str, ciphertext: bytes) -> None:
        row = await self.find(group, key)
        if row is None:
            await self.add(SecretRow(secret_group=group, secret_key=key, ciphertext=ciphertext))
        else:
            row.ciphertext = ciphertext

    async def remove(self, group: str, key: str) -> bool:
        result = await self.session.execute(
            delete(SecretRow).where(SecretRow.secret_group == group, SecretRow.secret_key == key)
        )
        return bool(getattr(result, "rowcount", 0))

    async def names(self) -> Sequence[tuple[str, str]]:
        query = select(SecretRow.secret_group, SecretRow.secret_key).order_by(
            SecretRow.secret_group, SecretRow.secret_key
        )
        return [(g, k) for g, k in (await self.session.execute(query)).all()]

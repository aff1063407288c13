"""Plain SQL against a test PostgreSQL database (the multi-process tests look at leases and attempts)."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.engine import make_url


async def _fetch(url: str, sql: str, *args: Any) -> list[Any]:
    import asyncpg

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


def fetch(url: str, sql: str, *args: Any) -> list[Any]:
    """Rows of one query (asyncpg records: index or key access)."""
    return asyncio.run(_fetch(url, sql, *args))

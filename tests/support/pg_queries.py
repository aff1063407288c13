"""Plain SQL against a test PostgreSQL database (the multi-process tests look at leases and attempts)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy.engine import make_url


async def _fetch(url: str, sql: str, *args: Any) -> list[Any]:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await connect_patiently(dsn)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def connect_patiently(dsn: str) -> Any:
    """An asyncpg connection, waiting up to a minute while the cluster has no connection to spare (other test runs on
    the shared cluster can fill ``max_connections`` for a while); the harness must not die of that."""
    import asyncpg

    deadline = time.monotonic() + 60
    while True:
        try:
            return await asyncpg.connect(dsn, timeout=10)
        except (asyncpg.TooManyConnectionsError, asyncpg.CannotConnectNowError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(1)


def fetch(url: str, sql: str, *args: Any) -> list[Any]:
    """Rows of one query (asyncpg records: index or key access)."""
    return asyncio.run(_fetch(url, sql, *args))

"""Fresh PostgreSQL databases for tests, from ``AERODROME_TEST_DATABASE_URL``."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy.engine import make_url

ENV = "AERODROME_TEST_DATABASE_URL"


def admin_url() -> str:
    """The configured server URL; skips (or, under CI, fails) when it is not set."""
    url = os.environ.get(ENV, "")
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{ENV} must point at PostgreSQL under CI")
        pytest.skip(f"PostgreSQL tests need {ENV} (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/postgres)")
    return url


async def _execute(url: str, statement: str) -> None:
    from tests.support.pg_queries import connect_patiently

    conn = await connect_patiently(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextmanager
def fresh_database() -> Iterator[str]:
    """Create an empty database on the configured server, yield its URL, drop it afterwards."""
    base = admin_url()
    name = f"aerodrome_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_execute(base, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_execute(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

"""The one Alembic tree: upgrades and downgrades on SQLite and PostgreSQL, and matches the models."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from tests.support.postgres import fresh_database

from aerodrome.db import migrate
from aerodrome.db.engine import Database
from aerodrome.db.models import Base


async def _cycle(url: str) -> None:
    db = Database(url)
    try:
        await migrate.upgrade(db)
        assert "(head)" in await migrate.run(db, "current")
        async with db.engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
            diff = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata))
        assert {"tasks", "workflows", "launch_plans", "projects", "resources"} <= tables
        assert diff == [], f"models and migrations differ: {diff}"
        await migrate.run(db, "downgrade", "base")
        async with db.engine.connect() as conn:
            remaining = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert remaining <= {"alembic_version"}
        await migrate.upgrade(db)
    finally:
        await db.dispose()


def test_sqlite_upgrade_downgrade(tmp_path: Path) -> None:
    asyncio.run(_cycle(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"))


def test_postgres_upgrade_downgrade() -> None:
    with fresh_database() as url:
        asyncio.run(_cycle(url))


@pytest.mark.parametrize("action", ["history", "current"])
def test_cli_db_commands(tmp_path: Path, action: str) -> None:
    from click.testing import CliRunner

    from aerodrome.cli.main import main

    runner = CliRunner()
    upgraded = runner.invoke(main, ["db", "upgrade", "--home", str(tmp_path)])
    assert upgraded.exit_code == 0, upgraded.output
    result = runner.invoke(main, ["db", action, "--home", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "(head)" in result.output

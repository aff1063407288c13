"""The deployment's data branch beside aerodrome's packaged schema: revisions, upgrade heads, downgrade."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text

from aerodrome.db import data_branch, migrate
from aerodrome.db.engine import Database
from aerodrome.db.migrate import MigrationError, schema_head

TYPES = 'PRODUCT_TYPES: list[dict[str, Any]] = [{"name": "Thing", "description": "things"}]'
WORKFLOWS = (
    'WORKFLOWS: list[dict[str, Any]] = [{"name": "create_thing", "target": "CREATE", '
    '"description": "Create a thing", "product_type": "Thing"}]'
)


def fill(path: Path, old: str, new: str) -> None:
    source = path.read_text()
    assert old in source
    path.write_text(source.replace(old, new))


async def query(db: Database, sql: str) -> list[str]:
    async with db.engine.connect() as conn:
        return [str(r[0]) for r in (await conn.execute(text(sql))).all()]


def test_revisions_upgrade_heads_and_downgrade(tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    first = data_branch.new_data_revision(folder, "product types")
    second = data_branch.new_data_revision(folder, "workflows", head="data@head")
    source = first.read_text()
    assert "branch_labels = ('data',)" in source and f"depends_on = '{schema_head()}'" in source
    assert "down_revision = None" in source
    assert f"down_revision = '{first.name.split('_')[0]}'" in second.read_text()
    fill(first, "PRODUCT_TYPES: list[dict[str, Any]] = []", TYPES)
    fill(second, "WORKFLOWS: list[dict[str, Any]] = []", WORKFLOWS)

    async def scenario() -> None:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'd.db'}")
        try:
            await data_branch.upgrade(db, "heads", folder)
            assert await query(db, "SELECT name FROM product_workflows") == ["create_thing"]
            heads = await migrate.run(db, "heads", migrations_dir=folder)
            assert "(data) (head)" in heads and schema_head() in heads
            with pytest.raises(MigrationError, match="defined neither by aerodrome nor by a migrations folder"):
                await migrate.upgrade(db)  # a server that was not told about the folder
            await migrate.upgrade(db, migrations_dir=folder)  # one that was: only the schema, nothing to do
            await data_branch.downgrade(db, "-1", folder)  # the default step is on the data branch
            assert await query(db, "SELECT name FROM product_workflows") == []
            assert await query(db, "SELECT name FROM product_types") == ["Thing"]
            await data_branch.downgrade(db, "-1", folder)
            assert await query(db, "SELECT name FROM product_types") == []
            assert await query(db, "SELECT version_num FROM alembic_version") == [schema_head()]
        finally:
            await db.dispose()

    asyncio.run(scenario())


def test_a_failing_data_revision_writes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    revision = data_branch.new_data_revision(folder, "bad")
    fill(revision, "WORKFLOWS: list[dict[str, Any]] = []", WORKFLOWS)  # its product type does not exist
    fill(revision, "PRODUCT_TYPES: list[dict[str, Any]] = []", '[{"name": "Other"}]'.join(["PRODUCT_TYPES = ", ""]))

    async def scenario() -> None:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'd.db'}")
        try:
            await migrate.upgrade(db)
            with pytest.raises(Exception, match="unknown product type\\(s\\) Thing"):
                await data_branch.upgrade(db, "heads", folder)
            assert await query(db, "SELECT name FROM product_types") == []
            assert await query(db, "SELECT version_num FROM alembic_version") == [schema_head()]
        finally:
            await db.dispose()

    asyncio.run(scenario())


@pytest.mark.parametrize(("head", "message"), [("schema@head", "--head data"), ("data", "needs a --message")])
def test_revision_arguments(tmp_path: Path, head: str, message: str) -> None:
    with pytest.raises(MigrationError, match=message):
        data_branch.new_data_revision(tmp_path / "m", "" if head == "data" else "x", head)

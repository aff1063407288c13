"""Schema migrations through one Alembic tree, usable from inside a running event loop."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from aerodrome.db.engine import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None, output: io.StringIO | None = None) -> Config:
    """An Alembic config pointing at the packaged migration scripts."""
    cfg = Config(stdout=output) if output is not None else Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


async def run(db: Database, action: str, *args: Any) -> str:
    """Run an Alembic command (``upgrade``, ``downgrade``, ``current``, ``history``); returns its output."""
    output = io.StringIO()

    def _call(connection: Connection) -> None:
        getattr(command, action)(alembic_config(connection, output), *args)

    async with db.engine.begin() as conn:
        await conn.run_sync(_call)
    return output.getvalue()


async def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the schema up to ``revision``."""
    await run(db, "upgrade", revision)

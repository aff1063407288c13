"""Schema migrations through one Alembic tree, usable from inside a running event loop.

aerodrome's own revisions (the packaged tree, ``0001``…) form the schema. A deployment may add a second
branch, ``data``, in a migrations folder of its own (``aerodrome db revision --head data``): revisions
that register product types and product workflows. Both live in one version table, so the folder must be
on the version path of every command that reads it (``alembic_config(migrations_dir=…)``). The server
upgrades only the packaged schema on start; ``upgrade heads`` brings the schema to its head first and
then the data branch, so data revisions always meet the newest tables (see ``data_branch.py``).
"""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from aerodrome.db.engine import Database

MIGRATIONS = Path(__file__).parent / "migrations"
PACKAGED_VERSIONS = MIGRATIONS / "versions"
WRITES = frozenset({"upgrade", "downgrade", "stamp"})


class _MigrationsThatRan(logging.Filter):
    """Of Alembic's start-up chatter (dialect, DDL mode) a user needs only the migrations that actually
    ran, and any warning. (Its plugin set-up lines are logged on import: ``aerodrome start`` quiets them.)"""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or record.getMessage().startswith("Running ")


logging.getLogger("alembic.runtime.migration").addFilter(_MigrationsThatRan())


class MigrationError(Exception):
    """A migration command cannot run as asked; the message says why and what to do."""


def alembic_config(
    connection: Connection | None = None,
    output: io.StringIO | None = None,
    migrations_dir: Path | None = None,
    script_location: Path = MIGRATIONS,
) -> Config:
    """An Alembic config for the packaged scripts plus, when given and present, a data migrations folder."""
    cfg = Config(stdout=output) if output is not None else Config()
    cfg.set_main_option("script_location", str(script_location))
    locations = [PACKAGED_VERSIONS]
    if migrations_dir is not None and migrations_dir.is_dir():
        locations.append(migrations_dir.resolve())
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", os.pathsep.join(str(p) for p in locations))
    cfg.attributes["connection"] = connection
    return cfg


def schema_head() -> str:
    """The newest packaged revision."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def _unknown_revisions(connection: Connection, cfg: Config) -> list[str]:
    """Revisions recorded in the database that no script on the version path defines."""
    if "alembic_version" not in inspect(connection).get_table_names():
        return []
    recorded = [r[0] for r in connection.execute(text("SELECT version_num FROM alembic_version"))]
    script = ScriptDirectory.from_config(cfg)
    known = {rev.revision for rev in script.walk_revisions()}
    return [r for r in recorded if r not in known]


async def run(db: Database, action: str, *args: Any, migrations_dir: Path | None = None) -> str:
    """Run an Alembic command (``upgrade``, ``downgrade``, ``current``, ``history``, ``heads``); returns its output."""
    output = io.StringIO()

    def _call(connection: Connection) -> None:
        cfg = alembic_config(connection, output, migrations_dir)
        unknown = _unknown_revisions(connection, cfg)
        if unknown:
            where = f"the migrations folder {migrations_dir}" if migrations_dir else "a migrations folder (none given)"
            raise MigrationError(
                f"the database is at revision(s) {', '.join(unknown)}, defined neither by aerodrome nor by {where}; "
                "point --migrations-dir (AERODROME_DB_MIGRATIONS_DIR) at the folder of the deployment's data migrations"
            )
        if action in WRITES and connection.dialect.name == "sqlite":
            # The connection is in driver autocommit mode; one explicit transaction makes a run all-or-nothing
            # (a data revision that raises leaves no row behind, as on PostgreSQL).
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        getattr(command, action)(cfg, *args)

    async with db.engine.begin() as conn:
        await conn.run_sync(_call)
    return output.getvalue()


async def upgrade(db: Database, revision: str = "head", migrations_dir: Path | None = None) -> None:
    """Bring the schema up to ``revision`` (``head`` means aerodrome's own head, whatever data branch exists)."""
    await run(db, "upgrade", schema_head() if revision == "head" else revision, migrations_dir=migrations_dir)

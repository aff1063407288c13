"""The deployment's ``data`` branch: new revisions in its migrations folder, and upgrades that keep order.

Pitfalls of the original design (orchestrator-core) and what this module does about them:

- The first data revision starts the branch: no ``down_revision``, ``branch_labels=("data",)`` and
  ``depends_on`` the schema head of the time, so it never runs before the tables it writes exist.
- ``upgrade heads`` on a fresh database could otherwise interleave an old data revision with newer
  schema revisions that change the tables its helpers write; here the schema goes to its head first.
- ``downgrade`` with two heads is ambiguous for Alembic; the default step (``-1``) is taken on the data
  branch when the database has one, which is what "undo my last data migration" means.
- Revisions are rendered from aerodrome's own template (no formatter or other tool is shelled out to).
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from aerodrome.db import migrate
from aerodrome.db.engine import Database
from aerodrome.db.migrate import MigrationError, alembic_config, schema_head

DATA = "data"
DATA_TEMPLATE = Path(__file__).parent / "data_template"


def new_data_revision(migrations_dir: Path, message: str, head: str = DATA) -> Path:
    """Create an empty data revision in ``migrations_dir`` (starting the branch if needed); returns its file."""
    if head not in (DATA, f"{DATA}@head"):
        raise MigrationError(
            f"--head {head}: revisions of a deployment go on the data branch (--head data); "
            "aerodrome's schema revisions ship with aerodrome"
        )
    if not message.strip():
        raise MigrationError("a revision needs a --message saying what it does")
    migrations_dir.mkdir(parents=True, exist_ok=True)
    cfg = alembic_config(output=io.StringIO(), migrations_dir=migrations_dir, script_location=DATA_TEMPLATE)
    cfg.cmd_opts = argparse.Namespace(quiet=True)  # the caller reports the new file itself
    script = ScriptDirectory.from_config(cfg)
    started = any(r.revision not in packaged_revisions() for r in script.walk_revisions())
    if started:
        created = command.revision(cfg, message, head=f"{DATA}@head", version_path=str(migrations_dir.resolve()))
    else:
        created = command.revision(
            cfg,
            message,
            head="base",
            branch_label=DATA,
            depends_on=schema_head(),
            version_path=str(migrations_dir.resolve()),
        )
    assert created is not None and not isinstance(created, list)
    return Path(created.path)


def packaged_revisions() -> set[str]:
    return {r.revision for r in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def _recorded(connection: Connection) -> list[str]:
    if "alembic_version" not in inspect(connection).get_table_names():
        return []
    return [r[0] for r in connection.execute(text("SELECT version_num FROM alembic_version"))]


async def recorded_revisions(db: Database) -> list[str]:
    """The revisions in the database's version table."""
    async with db.engine.connect() as conn:
        return await conn.run_sync(_recorded)


async def upgrade(db: Database, revision: str, migrations_dir: Path | None) -> str:
    """``heads`` (the default) upgrades the schema to its head first, then every branch."""
    if revision != "heads":
        return await migrate.run(db, "upgrade", revision, migrations_dir=migrations_dir)
    first = await migrate.run(db, "upgrade", schema_head(), migrations_dir=migrations_dir)
    return first + await migrate.run(db, "upgrade", "heads", migrations_dir=migrations_dir)


async def downgrade(db: Database, revision: str, migrations_dir: Path | None) -> str:
    """``-1`` steps back on the data branch when the database has one, else on the schema."""
    if revision == "-1" and set(await recorded_revisions(db)) - packaged_revisions():
        revision = f"{DATA}@-1"
    return await migrate.run(db, "downgrade", revision, migrations_dir=migrations_dir)

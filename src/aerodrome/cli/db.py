"""``aerodrome db``: schema migrations for operators, and the deployment's own data migrations.

Every command sees aerodrome's packaged revisions plus the deployment's migrations folder
(``--migrations-dir``, default ``./migrations``), where ``db revision --head data`` puts new revisions.
The database layer is imported when a command runs, so other commands start fast.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from aerodrome.cli.options import build_settings, settings_options

if TYPE_CHECKING:
    from aerodrome.db.engine import Database

migrations_dir_option = click.option(
    "--migrations-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="AERODROME_DB_MIGRATIONS_DIR",
    default=Path("migrations"),
    show_default=True,
    help="The deployment's data migrations folder.",
)


def _run(work: Callable[[Database, Path], Awaitable[str]], action: str, migrations_dir: Path, **kwargs: Any) -> None:
    from alembic.util.exc import CommandError

    from aerodrome.db.engine import Database
    from aerodrome.db.migrate import MigrationError
    from aerodrome.products.errors import ProductRegistrationError

    settings = build_settings(**kwargs)
    settings.home.mkdir(parents=True, exist_ok=True)

    async def go() -> str:
        database = Database(settings.database_url)
        try:
            return await work(database, migrations_dir)
        finally:
            await database.dispose()

    try:
        output = asyncio.run(go())
    except (MigrationError, ProductRegistrationError, CommandError) as exc:
        raise click.ClickException(f"{action} failed: {exc}") from None
    click.echo(output.rstrip() or f"{action}: done ({settings.database_url})")


@click.group()
def db() -> None:
    """Database schema migrations and the deployment's data migrations."""


@db.command()
@settings_options
@migrations_dir_option
@click.argument("revision", default="heads")
def upgrade(revision: str, migrations_dir: Path, **kwargs: Any) -> None:
    """Upgrade to REVISION (default heads: aerodrome's schema first, then the data branch)."""
    from aerodrome.db import data_branch

    _run(lambda d, m: data_branch.upgrade(d, revision, m), "upgrade", migrations_dir, **kwargs)


@db.command()
@settings_options
@migrations_dir_option
@click.argument("revision", default="-1")
def downgrade(revision: str, migrations_dir: Path, **kwargs: Any) -> None:
    """Downgrade to REVISION (default one step back, on the data branch when there is one; 'base' drops all)."""
    from aerodrome.db import data_branch

    _run(lambda d, m: data_branch.downgrade(d, revision, m), "downgrade", migrations_dir, **kwargs)


@db.command()
@settings_options
@migrations_dir_option
def current(migrations_dir: Path, **kwargs: Any) -> None:
    """Show the current revision(s)."""
    from aerodrome.db import migrate

    _run(lambda d, m: migrate.run(d, "current", migrations_dir=m), "current", migrations_dir, **kwargs)


@db.command()
@settings_options
@migrations_dir_option
def history(migrations_dir: Path, **kwargs: Any) -> None:
    """List the migrations."""
    from aerodrome.db import migrate

    _run(lambda d, m: migrate.run(d, "history", migrations_dir=m), "history", migrations_dir, **kwargs)


@db.command()
@settings_options
@migrations_dir_option
def heads(migrations_dir: Path, **kwargs: Any) -> None:
    """Show the head of each branch (aerodrome's schema, and data when the folder has revisions)."""
    from aerodrome.db import migrate

    _run(lambda d, m: migrate.run(d, "heads", migrations_dir=m), "heads", migrations_dir, **kwargs)


@db.command()
@migrations_dir_option
@click.option("--head", default="data", show_default=True, help="The branch to add to (only data).")
@click.option("--message", "-m", required=True, help="What the revision does.")
def revision(migrations_dir: Path, head: str, message: str) -> None:
    """Create an empty data revision in the migrations folder (the first one starts the data branch)."""
    from alembic.util.exc import CommandError

    from aerodrome.db import data_branch
    from aerodrome.db.migrate import MigrationError

    try:
        path = data_branch.new_data_revision(migrations_dir, message, head)
    except (MigrationError, CommandError) as exc:
        raise click.ClickException(f"revision failed: {exc}") from None
    click.echo(f"created {path}")

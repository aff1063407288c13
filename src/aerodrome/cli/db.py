"""``aerodrome db``: schema migrations for operators."""

from __future__ import annotations

import asyncio
from typing import Any

import click

from aerodrome.cli.options import build_settings, settings_options
from aerodrome.db import migrate
from aerodrome.db.engine import Database


def _run(action: str, *args: str, **kwargs: Any) -> None:
    settings = build_settings(**kwargs)
    settings.home.mkdir(parents=True, exist_ok=True)

    async def go() -> str:
        database = Database(settings.database_url)
        try:
            return await migrate.run(database, action, *args)
        finally:
            await database.dispose()

    output = asyncio.run(go())
    click.echo(output.rstrip() or f"{action}: done ({settings.database_url})")


@click.group()
def db() -> None:
    """Database schema migrations."""


@db.command()
@settings_options
@click.argument("revision", default="head")
def upgrade(revision: str, **kwargs: Any) -> None:
    """Upgrade the schema to REVISION (default head)."""
    _run("upgrade", revision, **kwargs)


@db.command()
@settings_options
@click.argument("revision", default="-1")
def downgrade(revision: str, **kwargs: Any) -> None:
    """Downgrade the schema to REVISION (default one step back; 'base' drops everything)."""
    _run("downgrade", revision, **kwargs)


@db.command()
@settings_options
def current(**kwargs: Any) -> None:
    """Show the current revision."""
    _run("current", **kwargs)


@db.command()
@settings_options
def history(**kwargs: Any) -> None:
    """List the migrations."""
    _run("history", **kwargs)

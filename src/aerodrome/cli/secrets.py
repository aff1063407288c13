"""``aerodrome secrets``: the secrets tasks request with ``secret_requests``, kept encrypted in the
database. Values are read from standard input (or ``--value``) and never printed."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from aerodrome.cli.options import build_settings, settings_options

if TYPE_CHECKING:
    from aerodrome.managers.secrets import SecretManager

T = TypeVar("T")


def _run(work: Callable[[SecretManager], Awaitable[T]], **kwargs: Any) -> T:
    from aerodrome.db.engine import Database
    from aerodrome.db.migrate import upgrade
    from aerodrome.errors import AdminError
    from aerodrome.managers.secrets import SecretManager

    settings = build_settings(**kwargs)
    settings.home.mkdir(parents=True, exist_ok=True)

    async def go() -> T:
        database = Database(settings.database_url)
        try:
            if settings.db.migrate_on_start:
                await upgrade(database, migrations_dir=None)
            return await work(SecretManager.from_settings(database, settings))
        finally:
            await database.dispose()

    try:
        return asyncio.run(go())
    except AdminError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def secrets() -> None:
    """Secrets for tasks (Secret(group=…, key=…)), encrypted at rest with a key outside the database."""


@secrets.command("set")
@click.argument("group")
@click.argument("key")
@click.option("--value", help="The value; without it the value is read from standard input.")
@settings_options
def set_secret(group: str, key: str, value: str | None, **kwargs: Any) -> None:
    """Create or replace the secret GROUP/KEY."""
    if value is None:
        if sys.stdin.isatty():
            value = click.prompt(f"value of {group}/{key}", hide_input=True)
        else:
            value = sys.stdin.read().rstrip("\n")
    secret = value
    _run(lambda m: m.set(group, key, secret), **kwargs)
    click.echo(f"secret {group}/{key} set")


@secrets.command("list")
@settings_options
def list_secrets(**kwargs: Any) -> None:
    """The group and key of every stored secret (never the values)."""
    for group, key in _run(lambda m: m.names(), **kwargs):
        click.echo(f"{group}/{key}")


@secrets.command("delete")
@click.argument("group")
@click.argument("key")
@settings_options
def delete_secret(group: str, key: str, **kwargs: Any) -> None:
    """Delete the secret GROUP/KEY."""
    _run(lambda m: m.delete(group, key), **kwargs)
    click.echo(f"secret {group}/{key} deleted")

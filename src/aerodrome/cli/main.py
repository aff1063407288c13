"""The ``aerodrome`` command."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.logging import RichHandler

from aerodrome import __version__
from aerodrome.cli.auth import auth
from aerodrome.cli.db import db
from aerodrome.cli.events import events, notifications
from aerodrome.cli.launch import launch
from aerodrome.cli.options import build_settings, settings_options
from aerodrome.cli.products import products
from aerodrome.cli.provider import provider
from aerodrome.cli.schedules import schedules
from aerodrome.cli.secrets import secrets
from aerodrome.cli.status import status
from aerodrome.settings import Settings

console = Console(stderr=True)


def flytekit_config(settings: Settings) -> str:
    """A flytekit YAML config for this server (no auth type: the server has no authentication)."""
    return (
        "admin:\n"
        f"  endpoint: dns:///{settings.server.host}:{settings.server.grpc_port}\n"
        "  insecure: true\n"
        "console:\n"
        f"  endpoint: {settings.http_base_url}\n"
    )


@click.group()
@click.version_option(__version__, prog_name="aerodrome")
def main() -> None:
    """aerodrome: a Flyte-compatible control plane in one process."""


@main.command()
@settings_options
@click.option("--log-level", default="INFO", envvar="AERODROME_LOG_LEVEL", show_default=True)
@click.option(
    "--log-format",
    type=click.Choice(["rich", "json"]),
    default="rich",
    envvar="AERODROME_LOG_FORMAT",
    show_default=True,
    help="json: one JSON object per line on stderr, with request_id and execution_id where known.",
)
def start(log_level: str, log_format: str, **kwargs: Any) -> None:
    """Run the server (gRPC and HTTP) on the embedded defaults until SIGINT/SIGTERM."""
    from aerodrome.observability.logs import json_handler

    handler = json_handler() if log_format == "json" else RichHandler(console=console, show_path=False)
    logging.basicConfig(level=log_level.upper(), format="%(message)s", handlers=[handler])
    # Alembic logs a line per plugin when it is first imported (below, with the server): noise to a user.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    settings = build_settings(**kwargs)
    from aerodrome.auth.setup import AuthConfigError
    from aerodrome.db.migrate import MigrationError
    from aerodrome.engine.launchers.on_ray.launcher import RayConfigError
    from aerodrome.serving import Addresses, serve

    def ready(addresses: Addresses) -> None:
        print(
            f"aerodrome ready: gRPC {addresses.grpc}  HTTP {addresses.http}  console {addresses.http}/console  "
            f"database {settings.database_url}  "
            f"| point flytekit at it: `aerodrome config flytekit` (writes ~/.flyte/config.yaml) or "
            f"FLYTE_PLATFORM_URL={addresses.grpc} FLYTE_PLATFORM_INSECURE=True",
            flush=True,
        )

    try:
        asyncio.run(serve(settings, on_ready=ready))
    except (OSError, MigrationError, AuthConfigError, RayConfigError) as exc:
        console.print(f"[red]aerodrome could not start:[/red] {exc}")
        sys.exit(1)


@main.group()
def config() -> None:
    """Client configuration for this server."""


@config.command("flytekit")
@settings_options
@click.option(
    "--path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path.home() / ".flyte" / "config.yaml",
    show_default=True,
    help="Where to write; '-' prints.",
)
def config_flytekit(path: Path, **kwargs: Any) -> None:
    """Write a flytekit config YAML pointing at this server."""
    text = flytekit_config(build_settings(**kwargs))
    if str(path) == "-":
        click.echo(text, nl=False)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    console.print(f"wrote {path}; use it with `pyflyte -c {path} …` or FLYTECTL_CONFIG={path}")


main.add_command(db)
main.add_command(auth)
main.add_command(secrets)
main.add_command(provider)
main.add_command(products)
main.add_command(launch)
main.add_command(schedules)
main.add_command(status)
main.add_command(events)
main.add_command(notifications)

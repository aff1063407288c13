"""Options shared by the commands that need the settings tree."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from aerodrome.settings import Settings, load_settings

F = TypeVar("F", bound=Callable[..., Any])


def settings_options(func: F) -> F:
    """--home, --config, --host, --grpc-port, --http-port and --db-url (each also an env var)."""
    options = [
        click.option(
            "--home",
            type=click.Path(path_type=Path),
            envvar="AERODROME_HOME",
            help="State directory (default ~/.aerodrome).",
        ),
        click.option(
            "--config",
            "config_file",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            envvar="AERODROME_CONFIG",
            help="YAML settings file.",
        ),
        click.option("--host", envvar="AERODROME_SERVER_HOST", help="Bind address (default 127.0.0.1)."),
        click.option("--grpc-port", type=int, envvar="AERODROME_SERVER_GRPC_PORT", help="gRPC port (default 8089)."),
        click.option("--http-port", type=int, envvar="AERODROME_SERVER_HTTP_PORT", help="HTTP port (default 8088)."),
        click.option("--db-url", envvar="AERODROME_DB_URL", help="SQLAlchemy async database URL."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def build_settings(
    home: Path | None,
    config_file: Path | None,
    host: str | None,
    grpc_port: int | None,
    http_port: int | None,
    db_url: str | None,
) -> Settings:
    """Settings from the file and environment, with command-line flags on top."""
    server = {k: v for k, v in {"host": host, "grpc_port": grpc_port, "http_port": http_port}.items() if v is not None}
    overrides: dict[str, Any] = {"server": server, "db": {"url": db_url} if db_url else {}}
    if home is not None:
        overrides["home"] = home
    return load_settings(config_file, **overrides)

"""``aerodrome status``: the processes sharing a database, read from the database itself (no server needed)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from aerodrome.cli.options import build_settings, settings_options


@click.command()
@settings_options
@click.option("--all", "include_stale", is_flag=True, help="Also list processes whose heartbeat stopped.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def status(include_stale: bool, as_json: bool, **kwargs: Any) -> None:
    """List the aerodrome processes of the configured database: executions driven, task processes, heartbeat."""
    from aerodrome.db.engine import Database
    from aerodrome.managers.processes import ProcessManager

    settings = build_settings(**kwargs)

    async def read() -> list[dict[str, Any]]:
        db = Database(settings.database_url)
        try:
            return await ProcessManager(db, ttl_seconds=settings.leases.ttl_seconds).list(include_stale=include_stale)
        finally:
            await db.dispose()

    try:
        processes = asyncio.run(read())
    except Exception as exc:  # an unreachable or not yet migrated database: say which
        raise click.ClickException(f"cannot read the processes of {settings.database_url}: {exc}") from None
    if as_json:
        click.echo(json.dumps(processes, indent=2))
        return
    table = Table(title=f"aerodrome processes on {settings.database_url}")
    for column in ("host", "pid", "version", "executions", "task processes", "heartbeat age", "live"):
        table.add_column(column)
    for p in processes:
        table.add_row(
            p["host"],
            str(p["pid"]),
            p["version"],
            f"{p['executions']}/{p['max_executions']}",
            str(p["task_processes"]),
            f"{p['heartbeat_age_seconds']:.1f} s",
            "yes" if p["live"] else "no",
        )
    Console().print(table if processes else "no live aerodrome process on this database")

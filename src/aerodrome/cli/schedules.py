"""``aerodrome schedules``: what fires when, on a running server."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from aerodrome.cli.client import call, echo_json, url_option


@click.group()
def schedules() -> None:
    """Active launch-plan schedules."""


@schedules.command("list")
@url_option
@click.option("--project", default="", help="Only this project.")
@click.option("--domain", default="", help="Only this domain.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_schedules(url: str, project: str, domain: str, as_json: bool) -> None:
    """Every active schedule with its version, last fire, next fire and the last execution's phase."""
    rows = call(url, "GET", "/api/v1/schedules", query={"project": project, "domain": domain})
    if as_json:
        echo_json(rows)
        return
    table = Table("launch plan", "version", "schedule", "last fire", "next fire", "last execution", "phase")
    for r in rows:
        table.add_row(
            f"{r['project']}/{r['domain']}/{r['name']}",
            r["version"],
            r["schedule"],
            r["last_fire_at"] or "-",
            r["next_fire_at"] or "-",
            r["last_execution"] or "-",
            r["last_phase"] or "-",
        )
    Console(width=200).print(table)

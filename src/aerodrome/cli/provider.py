"""``aerodrome provider``: register, query and delete algorithm providers on a running server."""

from __future__ import annotations

import json
from pathlib import Path

import click

from aerodrome.cli.client import call, echo_json, url_option


@click.group()
def provider() -> None:
    """Algorithm providers (name:version@device)."""


@provider.command()
@url_option
@click.option(
    "-c",
    "--conf",
    "conf",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON file with name, version, device, metadata and optional components_description.",
)
@click.option("--replace", is_flag=True, help="Overwrite a different registration under the same id.")
def register(url: str, conf: Path, replace: bool) -> None:
    """Register the provider described in a JSON file."""
    try:
        body = json.loads(conf.read_text())
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"{conf} is not valid JSON: {exc}") from None
    data = call(url, "POST", "/api/v1/providers", query={"replace": "true" if replace else ""}, body=body)
    echo_json({"code": 0, "message": "success", "data": data})


@provider.command()
@url_option
@click.option("--name", default="", help="Only this name.")
@click.option("--version", default="", help="Only this version.")
@click.option("--device", default="", help="Only this device.")
@click.option("--provider-name", default="", help="Only this id name:version@device.")
def query(url: str, name: str, version: str, device: str, provider_name: str) -> None:
    """List providers matching every given filter (no filter lists all)."""
    filters = {"name": name, "version": version, "device": device, "provider_name": provider_name}
    echo_json({"code": 0, "message": "success", "data": call(url, "GET", "/api/v1/providers", query=filters)})


@provider.command()
@url_option
@click.option("--name", default="", help="Delete providers with this name …")
@click.option("--version", default="", help="… and this version …")
@click.option("--device", default="", help="… and this device (at least one filter is required).")
def delete(url: str, name: str, version: str, device: str) -> None:
    """Delete the providers matching every given filter."""
    filters = {"name": name, "version": version, "device": device}
    echo_json({"code": 0, "message": "success", "data": call(url, "DELETE", "/api/v1/providers", query=filters)})


@provider.command("execution")
@url_option
@click.option("--project", default="flytesnacks", show_default=True)
@click.option("--domain", default="development", show_default=True)
@click.argument("name")
def execution(url: str, project: str, domain: str, name: str) -> None:
    """Show the provider each task node of execution NAME runs with (resolved at creation)."""
    data = call(url, "GET", f"/api/v1/providers/executions/{project}/{domain}/{name}")
    echo_json({"code": 0, "message": "success", "data": data})

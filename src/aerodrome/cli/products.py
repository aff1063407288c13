"""``aerodrome products``: list, check and start product workflows on a running server."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import click

from aerodrome.cli.client import call, echo_json, url_option
from aerodrome.products.check import check as check_registry
from aerodrome.products.code import ALL_WORKFLOWS

project_option = click.option("--project", default="flytesnacks", show_default=True, help="Flyte project.")
domain_option = click.option("--domain", default="development", show_default=True, help="Flyte domain.")


@click.group()
def products() -> None:
    """Product types and the workflows registered for them."""


@products.command("types")
@url_option
def types(url: str) -> None:
    """List product types and their products."""
    echo_json(call(url, "GET", "/api/v1/products/types"))


@products.command("list")
@url_option
@click.option("--product-type", default="", help="Only workflows of this product type.")
@click.option("--target", default="", help="Only workflows with this target (CREATE, MODIFY, …).")
@project_option
@domain_option
def list_workflows(url: str, product_type: str, target: str, project: str, domain: str) -> None:
    """List workflow registrations (with the Flyte workflow each one starts in PROJECT/DOMAIN)."""
    query = {"product_type": product_type, "target": target, "project": project, "domain": domain}
    echo_json(call(url, "GET", "/api/v1/products/workflows", query=query))


@products.command()
@url_option
@click.option(
    "--registry",
    default="workflows",
    show_default=True,
    help="Module whose import runs the LazyWorkflowInstance(...) calls (imported from the current directory).",
)
@project_option
@domain_option
def check(url: str, registry: str, project: str, domain: str) -> None:
    """Compare database registrations, the code registry and the registered Flyte workflows."""
    sys.path.insert(0, str(Path.cwd()))
    try:
        importlib.import_module(registry)
    except Exception as exc:
        raise click.ClickException(
            f"cannot import the code registry {registry!r}: {type(exc).__name__}: {exc}"
        ) from None
    registrations = call(url, "GET", "/api/v1/products/workflows", query={"project": project, "domain": domain})
    problems = check_registry(registrations, ALL_WORKFLOWS)
    for problem in problems:
        click.echo(problem)
    if problems:
        raise click.ClickException(f"products check: {len(problems)} problem(s)")
    click.echo(f"products check: clean ({len(registrations)} registered workflows, all with code and a Flyte workflow)")


@products.command()
@url_option
@click.option("--product-type", required=True, help="The product type (e.g. UserGroup).")
@click.option("--target", required=True, help="CREATE, MODIFY, TERMINATE, SYSTEM, VALIDATE or RECONCILE.")
@click.option("--inputs", default="{}", show_default=True, help="The workflow inputs as a JSON object.")
@click.option("--workflow", default="", help="Which registration, when several match.")
@project_option
@domain_option
def start(url: str, product_type: str, target: str, inputs: str, workflow: str, project: str, domain: str) -> None:
    """Start the workflow registered for a product type and target; prints the execution id."""
    try:
        values = json.loads(inputs)
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"--inputs is not valid JSON: {exc}") from None
    body = {
        "product_type": product_type,
        "target": target,
        "inputs": values,
        "project": project,
        "domain": domain,
        "workflow": workflow,
    }
    started = call(url, "POST", "/api/v1/products/start", body=body)
    execution = started["execution"]
    click.echo(
        f"started {started['workflow']} ({started['flyte_workflow']}, launch plan version "
        f"{started['launch_plan']['version']})",
        err=True,
    )
    click.echo(execution["name"])

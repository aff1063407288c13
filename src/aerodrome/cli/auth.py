"""``aerodrome auth``: clients, users and signing keys, written straight to the server's database.

Run on the server host (same ``--home`` / ``--db-url`` as ``aerodrome start``); it needs no token, which
is how the first server-wide admin comes to exist.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from aerodrome.cli.options import build_settings, settings_options
from aerodrome.settings import Settings

if TYPE_CHECKING:
    from aerodrome.auth.store import AuthStore

T = TypeVar("T")
roles_option = click.option(
    "--role", "roles", multiple=True, metavar="PROJECT:ROLE", help="viewer, runner or admin in a project (repeatable)."
)
admin_option = click.option("--server-admin", is_flag=True, help="Admin of every project and of the server.")


def _with_store(settings: Settings, work: Callable[[AuthStore], Awaitable[T]]) -> T:
    from aerodrome.auth.store import AuthStore
    from aerodrome.db import migrate
    from aerodrome.db.engine import Database
    from aerodrome.errors import AdminError

    async def go() -> T:
        database = Database(settings.database_url)
        try:
            await migrate.upgrade(database)
            return await work(AuthStore(database))
        finally:
            await database.dispose()

    settings.home.mkdir(parents=True, exist_ok=True)
    try:
        return asyncio.run(go())
    except AdminError as exc:
        raise click.ClickException(exc.message) from None


def _grants(roles: tuple[str, ...], server_admin: bool) -> dict[str, str]:
    from aerodrome.auth.identity import parse_grants

    try:
        grants = parse_grants(list(roles))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--role") from None
    if server_admin:
        grants["*"] = "admin"
    return grants


def client_config(settings: Settings, client_id: str, secret_file: Path | None) -> str:
    """A flytekit YAML config that logs in as this client (secret from a file or $FLYTE_CLIENT_SECRET)."""
    tls = settings.auth
    lines = ["admin:", f"  endpoint: dns:///{settings.server.host}:{settings.server.grpc_port}"]
    lines.append(f"  insecure: {'false' if tls.tls_cert_file else 'true'}")
    if tls.tls_cert_file:
        lines.append(f"  caCertFilePath: {tls.tls_ca_file or tls.tls_cert_file}")
    lines += ["  authType: ClientSecret", f"  clientId: {client_id}"]
    lines.append(
        f"  clientSecretLocation: {secret_file}" if secret_file else "  clientSecretEnvVar: FLYTE_CLIENT_SECRET"
    )
    lines += ["console:", f"  endpoint: {settings.http_base_url}", ""]
    return "\n".join(lines)


@click.group()
def auth() -> None:
    """Authentication: OAuth2 clients, users and token signing keys."""


@auth.group()
def clients() -> None:
    """Machine clients (client-credentials grant, flytekit authType ClientSecret)."""


@clients.command("create")
@click.argument("client_id")
@roles_option
@admin_option
@click.option("--description", default="")
@click.option(
    "--secret-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the secret to this file (mode 0600) instead of printing it.",
)
@settings_options
def create_client(
    client_id: str, roles: tuple[str, ...], server_admin: bool, description: str, secret_file: Path | None, **kw: Any
) -> None:
    """Create a client; its secret is shown (or written) once and stored only as a hash."""
    settings = build_settings(**kw)
    grants = _grants(roles, server_admin)
    secret = _with_store(settings, lambda s: s.create_client(client_id, grants, description))
    if secret_file is not None:
        secret_file.parent.mkdir(parents=True, exist_ok=True)
        secret_file.touch(mode=0o600)
        os.chmod(secret_file, 0o600)
        secret_file.write_text(secret)
        click.echo(f"# secret of {client_id} written to {secret_file}", err=True)
    else:
        click.echo(f"# client secret (shown once): export FLYTE_CLIENT_SECRET={secret}", err=True)
    click.echo(client_config(settings, client_id, secret_file), nl=False)


@clients.command("list")
@settings_options
def list_clients(**kw: Any) -> None:
    """Every client with its roles."""
    rows = _with_store(build_settings(**kw), lambda s: s.list_clients())
    table = Table("client id", "roles", "state", "created", "description")
    for r in rows:
        table.add_row(
            r.client_id, r.grants, "revoked" if r.revoked else "active", f"{r.created_at:%Y-%m-%d %H:%M}", r.description
        )
    Console(width=200).print(table)


@clients.command("revoke")
@click.argument("client_id")
@settings_options
def revoke_client(client_id: str, **kw: Any) -> None:
    """Refuse new tokens to a client (tokens already issued end at their expiry)."""
    _with_store(build_settings(**kw), lambda s: s.revoke_client(client_id))
    click.echo(f"revoked {client_id}")


@auth.group()
def users() -> None:
    """People (login page, device flow, PKCE; or mapped from the OIDC user claim)."""


@users.command("create")
@click.argument("username")
@roles_option
@admin_option
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--no-password", is_flag=True, help="No password (oidc mode: the issuer authenticates).")
@settings_options
def create_user(
    username: str, roles: tuple[str, ...], server_admin: bool, password_stdin: bool, no_password: bool, **kw: Any
) -> None:
    """Create a user; the password is stored only as an argon2 hash."""
    if no_password:
        password = ""
    elif password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not no_password and len(password) < 8:
        raise click.BadParameter("use at least 8 characters", param_hint="password")
    grants = _grants(roles, server_admin)
    _with_store(build_settings(**kw), lambda s: s.create_user(username, password, grants))
    click.echo(f"created user {username}")


@users.command("list")
@settings_options
def list_users(**kw: Any) -> None:
    """Every user with its roles."""
    rows = _with_store(build_settings(**kw), lambda s: s.list_users())
    table = Table("user", "roles", "state", "created")
    for r in rows:
        table.add_row(r.username, r.grants, "disabled" if r.disabled else "active", f"{r.created_at:%Y-%m-%d %H:%M}")
    Console(width=200).print(table)


@users.command("disable")
@click.argument("username")
@settings_options
def disable_user(username: str, **kw: Any) -> None:
    """Refuse logins and token refreshes of a user."""
    _with_store(build_settings(**kw), lambda s: s.disable_user(username))
    click.echo(f"disabled {username}")


@auth.group()
def keys() -> None:
    """Token signing keys."""


@keys.command("rotate")
@click.option("--keep", default=1, show_default=True, help="Previous keys that stay valid for verification.")
@settings_options
def rotate_keys(keep: int, **kw: Any) -> None:
    """Sign new tokens with a fresh key (servers pick it up on restart); older keys beyond --keep are retired."""
    from aerodrome.auth.keys import new_key

    kid, jwk = new_key()
    _with_store(build_settings(**kw), lambda s: s.add_key(kid, jwk, retire_all_but=keep))
    click.echo(f"new signing key {kid}")

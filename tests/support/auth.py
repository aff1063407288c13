"""Helpers for tests against a server with authentication: CLI-made clients and users, tokens, stubs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
import httpx
from flyteidl.service import admin_pb2_grpc

from tests.integration.conftest import Server

PYFLYTE = str(Path(sys.executable).with_name("pyflyte"))
AUTH_APP = Path(__file__).parents[1] / "integration" / "projects" / "auth_app"


def copy_auth_app(root: Path) -> Path:
    """A scratch copy of the auth test project (pyflyte writes into the directory it packages)."""
    shutil.copytree(AUTH_APP, root, dirs_exist_ok=True)
    return root


def pyflyte(config: Path, cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``pyflyte -c config args…`` in ``cwd`` with ``env``; the caller checks the result."""
    return subprocess.run(
        [PYFLYTE, "-c", str(config), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def aerodrome_cli(
    server: Server, *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``aerodrome auth …`` on the server's home (and ``env``, its settings), as an operator on the server host."""
    grpc_port, http_port = server.grpc.rsplit(":", 1)[1], server.http.rsplit(":", 1)[1]
    env = {**os.environ, "AERODROME_HOME": str(server.home), **(env or {})}
    env.pop("AERODROME_DB_URL", None)
    settings_file = server.home / "cli.yaml"  # the server's database, when it is not the default SQLite file
    if settings_file.exists():
        env["AERODROME_CONFIG"] = str(settings_file)
    cmd = [sys.executable, "-m", "aerodrome", "auth", *args, "--grpc-port", grpc_port, "--http-port", http_port]
    return subprocess.run(cmd, env=env, input=stdin, capture_output=True, text=True, timeout=60, check=True)


def create_client(server: Server, client_id: str, *roles: str, env: dict[str, str] | None = None) -> tuple[str, Path]:
    """A client made with the CLI: its secret and the flytekit config the CLI printed (written to a file)."""
    flags = [f"--role={r}" for r in roles if r != "server-admin"] + (
        ["--server-admin"] if "server-admin" in roles else []
    )
    done = aerodrome_cli(server, "clients", "create", client_id, *flags, env=env)
    match = re.search(r"FLYTE_CLIENT_SECRET=(\S+)", done.stderr)
    assert match, done.stderr
    config = server.home / f"{client_id}.yaml"
    config.write_text(done.stdout)
    return match.group(1), config


def token(server: Server, client_id: str, secret: str) -> str:
    """An access token from the token endpoint (client credentials, HTTP Basic as flytekit sends it)."""
    reply = httpx.post(
        f"{server.http}/oauth2/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret), timeout=30
    )
    assert reply.status_code == 200, reply.text
    return str(reply.json()["access_token"])


def flyte_env(server: Server, secret: str = "") -> dict[str, str]:
    """Environment for pyflyte: nothing FLYTE_* inherited, no OS keyring, the client secret if any."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLYTE", "_FLYTECTL"))}
    env.update(FLYTE_SDK_RICH_TRACEBACKS="0", PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring")
    if secret:
        env["FLYTE_CLIENT_SECRET"] = secret
    return env


def share_database(server: Server, db_url: str) -> None:
    """Let the CLI helpers reach the server's database (as an operator passes the server's --config)."""
    if db_url:
        (server.home / "cli.yaml").write_text(f"db:\n  url: {db_url}\n")


@contextmanager
def channel(address: str, access_token: str = "") -> Iterator[grpc.Channel]:
    """An insecure channel that sends the token as flytekit does (``flyte-authorization: Bearer …``)."""
    raw = grpc.insecure_channel(address)
    try:
        yield grpc.intercept_channel(raw, _MetadataInterceptor(access_token)) if access_token else raw
    finally:
        raw.close()


@contextmanager
def stub(address: str, access_token: str = "") -> Iterator[Any]:
    """An AdminService stub on ``channel``."""
    with channel(address, access_token) as ch:
        yield admin_pb2_grpc.AdminServiceStub(ch)


class _MetadataInterceptor(grpc.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    def __init__(self, access_token: str) -> None:
        self.metadata = (("flyte-authorization", f"Bearer {access_token}"),)

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        new = details._replace(metadata=[*(details.metadata or ()), *self.metadata])
        return continuation(new, request)

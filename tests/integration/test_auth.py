"""Self mode with real flytekit: client credentials, per-project roles, bad tokens, the device flow.

One server (SQLite) in ``auth.mode: self`` for the module; clients and users are made with the real
``aerodrome auth`` CLI, and flytekit runs as the ``pyflyte`` CLI a user would type.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import asyncpg
import grpc
import httpx
import pytest
import yaml
from flyteidl.admin import common_pb2, execution_pb2, project_pb2, signal_pb2, task_pb2
from flyteidl.core import identifier_pb2
from flyteidl.service import dataproxy_pb2, dataproxy_pb2_grpc, signal_pb2_grpc
from flytekit.configuration import Config, PlatformConfig
from flytekit.models.core.execution import WorkflowExecutionPhase
from flytekit.models.filters import Filter
from flytekit.remote import FlyteRemote
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy.engine import make_url

from tests.integration.conftest import Server, start_server, stop_server
from tests.support.auth import (
    PYFLYTE,
    aerodrome_cli,
    channel,
    copy_auth_app,
    create_client,
    flyte_env,
    pyflyte,
    share_database,
    stub,
    token,
)
from tests.support.postgres import fresh_database

PASSWORD = "correct horse battery staple"


ENV = {
    "AERODROME_AUTH_MODE": "self",
    "AERODROME_REGISTRATION_BOOTSTRAP_PROJECTS": '["flytesnacks","authb"]',
    "AERODROME_AUTH_DEVICE_POLL_INTERVAL_SECONDS": "1",
}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def auth_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp(f"auth-self-{request.param}")
    if request.param == "postgres":
        with fresh_database() as url:
            server = start_server(home, url, "postgres", extra_env=ENV)
            share_database(server, url)
            yield server
            stop_server(server)
        return
    server = start_server(home, "", "sqlite", extra_env=ENV)
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def admin(auth_server: Server) -> tuple[str, Path]:
    """A client that is admin of flytesnacks (can register and run there), made with the CLI."""
    return create_client(auth_server, "ci-admin", "flytesnacks:admin")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_auth_app(tmp_path_factory.mktemp("auth-app"))


@pytest.fixture(scope="module")
def registered(auth_server: Server, admin: tuple[str, Path], workdir: Path) -> str:
    """``pyflyte register`` with authType ClientSecret and the CLI-made client."""
    secret, config = admin
    version = f"auth-{int(time.time())}"
    done = pyflyte(config, workdir, flyte_env(auth_server, secret), "register", "--version", version, "workflows")
    assert done.returncode == 0, done.stdout + done.stderr
    return version


def lp_id(version: str, project: str = "flytesnacks") -> identifier_pb2.Identifier:
    return identifier_pb2.Identifier(
        resource_type=identifier_pb2.LAUNCH_PLAN,
        project=project,
        domain="development",
        name="workflows.simple.wf",
        version=version,
    )


def test_client_secret_runs_a_workflow_and_the_principal_is_the_client(
    auth_server: Server, admin: tuple[str, Path], workdir: Path, registered: str
) -> None:
    secret, config = admin
    done = pyflyte(
        config,
        workdir,
        flyte_env(auth_server, secret),
        "run",
        "--remote",
        "--wait",
        "--poll-interval",
        "1",
        "workflows/simple.py",
        "wf",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "has succeeded" in done.stdout
    name = re.search(r"executions/([a-z0-9]+)", done.stdout)
    assert name
    with stub(auth_server.grpc, token(auth_server, "ci-admin", secret)) as admin_stub:
        got = admin_stub.GetExecution(
            execution_pb2.WorkflowExecutionGetRequest(
                id=identifier_pb2.WorkflowExecutionIdentifier(project="flytesnacks", domain="development", name=name[1])
            )
        )
    assert got.spec.metadata.principal == "ci-admin"


def test_wrong_secret_fails_with_flytekits_auth_error_and_no_token_is_unauthenticated(
    auth_server: Server, admin: tuple[str, Path], workdir: Path
) -> None:
    _, config = admin
    done = pyflyte(
        config, workdir, flyte_env(auth_server, "not-the-secret"), "register", "--version", "x1", "workflows"
    )
    assert done.returncode != 0
    assert "AuthenticationError" in done.stdout + done.stderr and "401" in done.stdout + done.stderr
    with stub(auth_server.grpc) as anonymous, pytest.raises(grpc.RpcError) as err:
        anonymous.ListProjects(project_pb2.ProjectListRequest())
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    reply = httpx.get(f"{auth_server.http}/api/v1/projects", timeout=10)
    assert reply.status_code == 401 and reply.json()["code"] == grpc.StatusCode.UNAUTHENTICATED.value[0]
    # A browser asking for a page is sent to the login page instead.
    page = httpx.get(f"{auth_server.http}/console/projects", headers={"Accept": "text/html"}, timeout=10)
    assert page.status_code == 303 and page.headers["location"] == "/auth/login?next=%2Fconsole%2Fprojects"
    # flytekit's discovery answers stay open.
    meta = httpx.get(f"{auth_server.http}/.well-known/oauth-authorization-server", timeout=10).json()
    assert meta["token_endpoint"] == f"{auth_server.http}/oauth2/token"


def denied(call: object, *args: object) -> str:
    with pytest.raises(grpc.RpcError) as err:
        call(*args)  # type: ignore[operator]
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED, err.value
    return str(err.value.details())


def test_runner_of_a_launches_in_a_but_cannot_register_nor_touch_project_b(
    auth_server: Server, registered: str
) -> None:
    secret, _ = create_client(auth_server, "runner-a", "flytesnacks:runner")
    access = token(auth_server, "runner-a", secret)
    b_exec = identifier_pb2.WorkflowExecutionIdentifier(project="authb", domain="development", name="anything")
    with stub(auth_server.grpc, access) as runner, channel(auth_server.grpc, access) as ch:
        # Allowed in A: launch, read, list.
        created = runner.CreateExecution(
            execution_pb2.ExecutionCreateRequest(
                project="flytesnacks",
                domain="development",
                spec=execution_pb2.ExecutionSpec(launch_plan=lp_id(registered)),
            )
        )
        got = runner.GetExecution(execution_pb2.WorkflowExecutionGetRequest(id=created.id))
        assert got.spec.metadata.principal == "runner-a"
        projects = runner.ListProjects(project_pb2.ProjectListRequest())
        assert [p.id for p in projects.projects] == ["flytesnacks"]
        # Registering in A needs admin.
        task_id = identifier_pb2.Identifier(
            resource_type=identifier_pb2.TASK, project="flytesnacks", domain="development", name="t", version="v"
        )
        message = denied(runner.CreateTask, task_pb2.TaskCreateRequest(id=task_id))
        assert "admin role in project flytesnacks" in message and "runner-a" in message
        # Nothing of B, and no hint whether it exists.
        message = denied(runner.GetExecution, execution_pb2.WorkflowExecutionGetRequest(id=b_exec))
        assert "viewer role in project authb" in message
        denied(
            runner.ListExecutions,
            common_pb2.ResourceListRequest(
                id=common_pb2.NamedEntityIdentifier(project="authb", domain="development"), limit=10
            ),
        )
        denied(
            runner.CreateExecution,
            execution_pb2.ExecutionCreateRequest(
                project="authb", domain="development", spec=execution_pb2.ExecutionSpec(launch_plan=lp_id("v", "authb"))
            ),
        )
        denied(runner.TerminateExecution, execution_pb2.ExecutionTerminateRequest(id=b_exec, cause="x"))
        denied(
            dataproxy_pb2_grpc.DataProxyServiceStub(ch).CreateDownloadLink,
            dataproxy_pb2.CreateDownloadLinkRequest(
                node_execution_id=identifier_pb2.NodeExecutionIdentifier(node_id="n0", execution_id=b_exec)
            ),
        )
        denied(
            signal_pb2_grpc.SignalServiceStub(ch).SetSignal,
            signal_pb2.SignalSetRequest(id=identifier_pb2.SignalIdentifier(signal_id="s", execution_id=b_exec)),
        )
        denied(
            runner.RegisterProject, project_pb2.ProjectRegisterRequest(project=project_pb2.Project(id="new", name="n"))
        )
    headers = {"Authorization": f"Bearer {access}"}
    reply = httpx.get(f"{auth_server.http}/api/v1/executions/authb/development", headers=headers, timeout=10)
    assert reply.status_code == 403 and "authb" in reply.json()["message"]
    listed = httpx.get(f"{auth_server.http}/api/v1/projects", headers=headers, timeout=10).json()
    assert [p["id"] for p in listed["projects"]] == ["flytesnacks"]


def server_key(server: Server) -> RSAKey:
    """The server's signing key, read from its database (only a test on the server host can do this)."""
    query = "select private_jwk from auth_keys where active order by id desc limit 1"
    settings_file = server.home / "cli.yaml"
    if not settings_file.exists():
        with sqlite3.connect(server.home / "aerodrome.db") as db:
            (jwk,) = db.execute(query).fetchone()
        return RSAKey.import_key(json.loads(jwk))
    url = make_url(yaml.safe_load(settings_file.read_text())["db"]["url"])

    async def fetch() -> str:
        conn = await asyncpg.connect(host=url.host, port=url.port, user=url.username, database=url.database)
        try:
            return str(await conn.fetchval(query.replace("where active", "where active is true")))
        finally:
            await conn.close()

    return RSAKey.import_key(json.loads(asyncio.run(fetch())))


def test_expired_tampered_and_wrongly_signed_tokens_are_refused(auth_server: Server, admin: tuple[str, Path]) -> None:
    secret, _ = admin
    good = token(auth_server, "ci-admin", secret)
    key = server_key(auth_server)
    now = int(time.time())
    claims = {"iss": auth_server.http, "sub": "ci-admin", "typ": "access", "grants": "flytesnacks:admin", "iat": now}
    header = {"alg": "RS256", "kid": key.kid}
    expired = jwt.encode(header, {**claims, "exp": now - 5}, key)
    head, _, signature = good.split(".")
    forged_payload = jwt.encode(header, {**claims, "grants": "*:admin", "exp": now + 600}, key).split(".")[1]
    tampered = ".".join([head, forged_payload, signature])
    stranger = RSAKey.generate_key(2048, parameters={"kid": key.kid}, private=True)
    wrongly_signed = jwt.encode(header, {**claims, "grants": "*:admin", "exp": now + 600}, stranger)
    for bad, reason in (
        (expired, "expired"),
        (tampered, "invalid"),
        (wrongly_signed, "invalid"),
        ("garbage", "invalid"),
    ):
        with stub(auth_server.grpc, bad) as client, pytest.raises(grpc.RpcError) as err:
            client.ListProjects(project_pb2.ProjectListRequest())
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED, bad
        assert reason in str(err.value.details())
    with stub(auth_server.grpc, good) as client:
        assert client.ListProjects(project_pb2.ProjectListRequest()).projects


def test_a_revoked_client_gets_no_new_token(auth_server: Server) -> None:
    secret, _ = create_client(auth_server, "to-revoke", "flytesnacks:viewer")
    token(auth_server, "to-revoke", secret)
    aerodrome_cli(auth_server, "clients", "revoke", "to-revoke")
    reply = httpx.post(
        f"{auth_server.http}/oauth2/token", data={"grant_type": "client_credentials"}, auth=("to-revoke", secret)
    )
    assert reply.status_code == 401 and reply.json()["error"] == "invalid_client"


def approve_device(server: Server, url: str, user: str, password: str) -> None:
    """What a person does with the printed URL: log in, then approve the code."""
    with httpx.Client(base_url=server.http, follow_redirects=True, timeout=30) as browser:
        page = browser.get(url)
        assert "/auth/login" in str(page.url)
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        target = re.search(r'name="next" value="([^"]+)"', page.text)
        assert csrf and target
        form = {"csrf": csrf[1], "next": target[1].replace("&amp;", "&"), "username": user, "password": password}
        page = browser.post("/auth/login", data=form)
        assert page.status_code == 200 and "Approve" in page.text, page.text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        code = re.search(r'name="user_code" value="([^"]+)"', page.text)
        assert csrf and code
        done = browser.post("/auth/device", data={"csrf": csrf[1], "user_code": code[1], "action": "approve"})
        assert done.status_code == 200 and "Approved" in done.text


def test_device_flow_with_pyflyte_approved_through_the_login_page(
    auth_server: Server, workdir: Path, registered: str
) -> None:
    aerodrome_cli(
        auth_server,
        "users",
        "create",
        "alice",
        "--role",
        "flytesnacks:admin",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    config = auth_server.home / "device.yaml"
    config.write_text(f"admin:\n  endpoint: dns:///{auth_server.grpc}\n  insecure: true\n  authType: DeviceFlow\n")
    process = subprocess.Popen(
        [PYFLYTE, "-c", str(config), "run", "--remote", "workflows/simple.py", "wf", "--a", "5"],
        cwd=workdir,
        env=flyte_env(auth_server),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        seen = []
        for line in process.stdout:
            seen.append(line)
            found = re.search(r"(http://\S+/auth/device\?user_code=[A-Z]+)", line)
            if found:
                approve_device(auth_server, found[1], "alice", PASSWORD)
                break
        else:
            pytest.fail("".join(seen))
        rest = process.stdout.read()
        assert process.wait(timeout=120) == 0, "".join(seen) + rest
    finally:
        if process.poll() is None:
            process.kill()
    name = re.search(r"executions/([a-z0-9]+)", rest)
    assert name, rest
    secret, _ = create_client(auth_server, "reader", "flytesnacks:viewer")
    with stub(auth_server.grpc, token(auth_server, "reader", secret)) as reader:
        got = reader.GetExecution(
            execution_pb2.WorkflowExecutionGetRequest(
                id=identifier_pb2.WorkflowExecutionIdentifier(project="flytesnacks", domain="development", name=name[1])
            )
        )
    assert got.spec.metadata.principal == "alice"


def test_pkce_with_pyflyte_through_the_login_page(auth_server: Server, workdir: Path, registered: str) -> None:
    aerodrome_cli(
        auth_server, "users", "create", "pat", "--role", "flytesnacks:admin", "--password-stdin", stdin=PASSWORD + "\n"
    )
    config = auth_server.home / "pkce.yaml"
    config.write_text(f"admin:\n  endpoint: dns:///{auth_server.grpc}\n  insecure: true\n  authType: Pkce\n")
    browser = Path(__file__).parents[1] / "support" / "pkce_browser.py"
    env = {
        **flyte_env(auth_server),
        "BROWSER": f"{sys.executable} {browser} %s",
        "PKCE_USER": "pat",
        "PKCE_PASSWORD": PASSWORD,
    }
    done = pyflyte(config, workdir, env, "run", "--remote", "workflows/simple.py", "wf", "--a", "7")
    assert done.returncode == 0, done.stdout + done.stderr
    name = re.search(r"executions/([a-z0-9]+)", done.stdout)
    assert name, done.stdout
    secret, _ = create_client(auth_server, "pkce-reader", "flytesnacks:viewer")
    with stub(auth_server.grpc, token(auth_server, "pkce-reader", secret)) as reader:
        got = reader.GetExecution(
            execution_pb2.WorkflowExecutionGetRequest(
                id=identifier_pb2.WorkflowExecutionIdentifier(project="flytesnacks", domain="development", name=name[1])
            )
        )
    assert got.spec.metadata.principal == "pat"


def test_console_pages_need_a_login_and_the_project_role(auth_server: Server) -> None:
    aerodrome_cli(
        auth_server, "users", "create", "vic", "--role", "flytesnacks:viewer", "--password-stdin", stdin=PASSWORD + "\n"
    )
    with httpx.Client(base_url=auth_server.http, timeout=30) as browser:
        page = browser.get("/console/projects/flytesnacks/domains/development", headers={"Accept": "text/html"})
        assert page.status_code == 303 and page.headers["location"].startswith("/auth/login?next=")
        form = browser.get(page.headers["location"])
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        target = re.search(r'name="next" value="([^"]+)"', form.text)
        assert csrf and target and target[1] == "/console/projects/flytesnacks/domains/development"
        login = {"csrf": csrf[1], "next": target[1], "username": "vic", "password": PASSWORD}
        back = browser.post("/auth/login", data=login)
        assert back.status_code == 303 and back.headers["location"] == target[1]
        dashboard = browser.get(target[1])
        assert dashboard.status_code == 200
        assert '<span class="who" title="signed in as">vic</span>' in dashboard.text  # the console knows who
        assert browser.get("/console/projects/authb/domains/development").status_code == 403
        acted = browser.post("/console/projects/flytesnacks/domains/development/executions/x/terminate")
        assert acted.status_code == 403 and "runner role in project flytesnacks" in acted.json()["message"]
        # The session also works for the JSON API, with the same roles.
        assert browser.get("/api/v1/projects").status_code == 200
        assert browser.get("/api/v1/executions/authb/development").status_code == 403


def test_failed_logins_are_rate_limited_and_no_secret_reaches_the_log(
    auth_server: Server, admin: tuple[str, Path]
) -> None:
    with httpx.Client(base_url=auth_server.http, timeout=30) as browser:
        statuses = []
        for _ in range(12):
            form = browser.get("/auth/login")
            csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
            assert csrf
            reply = browser.post(
                "/auth/login", data={"csrf": csrf[1], "next": "/", "username": "alice", "password": "wrong-pass"}
            )
            statuses.append((reply.status_code, "too many" in reply.text))
        assert statuses[0] == (401, False) and statuses[-1] == (401, True)
        # Without the double-submit cookie the form is refused.
        browser.cookies.clear()
        assert browser.post("/auth/login", data={"csrf": "x", "username": "a", "password": "b"}).status_code == 403
    log = (auth_server.home / "server.log").read_text()
    assert "failed login for user 'alice'" in log
    assert admin[0] not in log and PASSWORD not in log and "wrong-pass" not in log


def client_remote(server: Server, client_id: str, secret: str) -> FlyteRemote:
    """FlyteRemote in this process, logging in with client credentials."""
    platform = PlatformConfig(
        endpoint=server.grpc,
        insecure=True,
        auth_mode="ClientSecret",
        client_id=client_id,
        client_credentials_secret=secret,
    )
    return FlyteRemote(Config(platform=platform), default_project="flytesnacks", default_domain="development")


def test_eager_task_children_run_with_the_tasks_project_scoped_credential(
    auth_server: Server, admin: tuple[str, Path], registered: str
) -> None:
    remote = client_remote(auth_server, "ci-admin", admin[0])
    task = remote.fetch_task(name="workflows.eager_calls.eager_square", version=registered)
    done = remote.wait(
        remote.execute(task, inputs={"x": 4}), timeout=timedelta(minutes=3), poll_interval=timedelta(seconds=1)
    )
    assert done.closure.phase == WorkflowExecutionPhase.SUCCEEDED, done.closure.error.message
    assert done.outputs["o0"] == 16
    children, _ = remote.client.list_executions_paginated(
        "flytesnacks", "development", limit=100, filters=[Filter.from_python_std("eq(execution_tag.key,eager-exec)")]
    )
    mine = [c for c in children if c.spec.labels.values.get("eager-exec") == done.id.name]
    assert len(mine) == 1
    assert mine[0].spec.metadata.principal == f"task/flytesnacks/{done.id.name}"
    assert done.spec.metadata.principal == "ci-admin"

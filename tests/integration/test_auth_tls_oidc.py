"""TLS for gRPC and HTTP, and oidc mode against a second, independent aerodrome acting as the issuer.

The issuer runs in self mode over TLS (a CA and certificate made at test time with ``cryptography``); the
relying server runs in oidc mode and trusts only tokens the issuer signed, verified against its JWKS.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from flyteidl.admin import common_pb2, execution_pb2, project_pb2, task_pb2
from flyteidl.core import identifier_pb2
from flyteidl.service import admin_pb2_grpc

from tests.integration.conftest import Server, start_server, stop_server
from tests.support.auth import aerodrome_cli, copy_auth_app, create_client, flyte_env, pyflyte, stub
from tests.support.tls import make_ca_and_server_cert


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return make_ca_and_server_cert(tmp_path_factory.mktemp("tls"))


def tls_env(certs: tuple[Path, Path, Path]) -> dict[str, str]:
    ca, cert, key = certs
    return {
        "AERODROME_AUTH_MODE": "self",
        "AERODROME_AUTH_TLS_CERT_FILE": str(cert),
        "AERODROME_AUTH_TLS_KEY_FILE": str(key),
        "AERODROME_AUTH_TLS_CA_FILE": str(ca),
    }


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory, certs: tuple[Path, Path, Path]) -> Iterator[Server]:
    env = tls_env(certs)
    server = start_server(tmp_path_factory.mktemp("issuer"), "", "sqlite", extra_env=env)
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def relying(
    tmp_path_factory: pytest.TempPathFactory, issuer: Server, certs: tuple[Path, Path, Path]
) -> Iterator[Server]:
    env = {
        "AERODROME_AUTH_MODE": "oidc",
        "AERODROME_AUTH_OIDC_ISSUER": issuer.http,
        "AERODROME_AUTH_OIDC_CA_FILE": str(certs[0]),
    }
    server = start_server(tmp_path_factory.mktemp("relying"), "", "sqlite", extra_env=env)
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_auth_app(tmp_path_factory.mktemp("auth-app"))


def test_flytekit_registers_and_runs_over_tls_with_a_ca_file(
    issuer: Server, certs: tuple[Path, Path, Path], workdir: Path
) -> None:
    assert issuer.http.startswith("https://")
    secret, config = create_client(issuer, "tls-admin", "flytesnacks:admin", env=tls_env(certs))
    assert "insecure: false" in config.read_text() and f"caCertFilePath: {certs[0]}" in config.read_text()
    env = flyte_env(issuer, secret)
    done = pyflyte(config, workdir, env, "register", "--version", f"tls-{int(time.time())}", "workflows")
    assert done.returncode == 0, done.stdout + done.stderr
    done = pyflyte(
        config, workdir, env, "run", "--remote", "--wait", "--poll-interval", "1", "workflows/simple.py", "wf"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "has succeeded" in done.stdout


def test_plaintext_to_the_tls_ports_fails_cleanly(issuer: Server, certs: tuple[Path, Path, Path]) -> None:
    channel = grpc.insecure_channel(issuer.grpc)
    try:
        with pytest.raises(grpc.RpcError) as err:
            admin_pb2_grpc.AdminServiceStub(channel).ListProjects(project_pb2.ProjectListRequest(), timeout=10)
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        channel.close()
    with pytest.raises(httpx.HTTPError):
        httpx.get(issuer.http.replace("https://", "http://") + "/healthz", timeout=10).raise_for_status()
    assert (
        httpx.get(
            f"{issuer.http}/healthz", verify=ssl.create_default_context(cafile=str(certs[0])), timeout=10
        ).status_code
        == 200
    )


def issuer_token(issuer: Server, certs: tuple[Path, Path, Path], client_id: str, secret: str) -> str:
    reply = httpx.post(
        f"{issuer.http}/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
        verify=ssl.create_default_context(cafile=str(certs[0])),
        timeout=30,
    )
    assert reply.status_code == 200, reply.text
    return str(reply.json()["access_token"])


def test_oidc_mode_trusts_the_issuers_tokens_and_maps_roles_by_user(
    issuer: Server, relying: Server, certs: tuple[Path, Path, Path]
) -> None:
    secret, _ = create_client(issuer, "oidc-runner")
    aerodrome_cli(relying, "users", "create", "oidc-runner", "--no-password", "--role", "flytesnacks:runner")
    access = issuer_token(issuer, certs, "oidc-runner", secret)
    with stub(relying.grpc, access) as client:
        assert [p.id for p in client.ListProjects(project_pb2.ProjectListRequest()).projects] == ["flytesnacks"]
        task_id = identifier_pb2.Identifier(
            resource_type=identifier_pb2.TASK, project="flytesnacks", domain="development", name="t", version="v"
        )
        with pytest.raises(grpc.RpcError) as err:
            client.CreateTask(task_pb2.TaskCreateRequest(id=task_id))
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "admin role in project flytesnacks" in str(err.value.details())
    # A token the relying server signed itself is not from the issuer.
    own_secret, _ = create_client(relying, "local-client", "server-admin")
    own = httpx.post(
        f"{relying.http}/oauth2/token", data={"grant_type": "client_credentials"}, auth=("local-client", own_secret)
    ).json()["access_token"]
    with stub(relying.grpc, own) as client, pytest.raises(grpc.RpcError) as err:
        client.ListProjects(project_pb2.ProjectListRequest())
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_pyflyte_registers_on_the_oidc_server_with_a_token_from_the_issuer(
    issuer: Server, relying: Server, certs: tuple[Path, Path, Path], workdir: Path
) -> None:
    secret, _ = create_client(issuer, "oidc-admin")
    aerodrome_cli(relying, "users", "create", "oidc-admin", "--no-password", "--role", "flytesnacks:admin")
    config = relying.home / "oidc.yaml"
    config.write_text(
        f"admin:\n  endpoint: dns:///{relying.grpc}\n  insecure: true\n  authType: ClientSecret\n"
        "  clientId: oidc-admin\n  clientSecretEnvVar: FLYTE_CLIENT_SECRET\n"
    )
    # flytekit learns the issuer's token endpoint from the relying server and trusts the test CA for it.
    env = {**flyte_env(relying, secret), "REQUESTS_CA_BUNDLE": str(certs[0])}
    version = f"oidc-{int(time.time())}"
    done = pyflyte(config, workdir, env, "register", "--version", version, "workflows")
    assert done.returncode == 0, done.stdout + done.stderr
    access = issuer_token(issuer, certs, "oidc-admin", secret)
    with stub(relying.grpc, access) as client:
        lp = client.GetLaunchPlan(
            common_pb2.ObjectGetRequest(
                id=identifier_pb2.Identifier(
                    resource_type=identifier_pb2.LAUNCH_PLAN,
                    project="flytesnacks",
                    domain="development",
                    name="workflows.simple.wf",
                    version=version,
                )
            )
        )
        created = client.CreateExecution(
            execution_pb2.ExecutionCreateRequest(
                project="flytesnacks", domain="development", spec=execution_pb2.ExecutionSpec(launch_plan=lp.id)
            )
        )
        got = client.GetExecution(execution_pb2.WorkflowExecutionGetRequest(id=created.id))
    assert got.spec.metadata.principal == "oidc-admin"

"""The provider journey: register (CLI and HTTP), query, resolve per level at execution creation, run a task
with the provider's interpreter and code, refuse unknown providers, and delete.

One server per backend for the module, started with the party identity guest/9999, and a second
virtualenv (its own ``sys.executable``, flytekit visible through a ``.pth``) that the local provider names.
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from flyteidl.admin import execution_pb2, matchable_resource_pb2, project_domain_attributes_pb2
from flyteidl.core import identifier_pb2
from flytekit.core.options import Options
from flytekit.models.common import Annotations
from flytekit.models.core.execution import WorkflowExecutionPhase
from flytekit.remote import FlyteRemote

from tests.integration.conftest import Server, start_server, stop_server
from tests.support.clients import admin_stub, flyte_remote, status_of
from tests.support.postgres import fresh_database
from tests.support.projects import register_project

PROJECT_DIR = Path(__file__).parent / "projects" / "provider_app"
TWO_NODES = "workflows.where.two_nodes"
NESTED = "workflows.where.nested"
JOB_CONF = "aerodrome/job-conf"


@dataclass(frozen=True)
class Setup:
    """The module's server, registered version, second interpreter and provider code directory."""

    server: Server
    version: str
    python: str
    code: Path
    scratch: Path


def make_venv(root: Path, *, with_flytekit: bool) -> str:
    """A fast virtualenv (no pip); flytekit comes from the test environment through a .pth file."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=120)
    python = root / "bin" / "python"
    if with_flytekit:
        site = subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        Path(site, "aerodrome-test-flytekit.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return str(python)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def setup(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    scratch = tmp_path_factory.mktemp(f"providers-{request.param}")
    party = {"AERODROME_PARTY_ROLE": "guest", "AERODROME_PARTY_ID": "9999"}
    python = make_venv(scratch / "fate-venv", with_flytekit=True)
    code = scratch / "fate-code"
    code.mkdir()
    (code / "provider_lib.py").write_text('VERSION = "2.0.1"\n')

    def run(url: str) -> Iterator[Setup]:
        server = start_server(scratch / "home", url, request.param, extra_env=party)
        try:
            yield Setup(server, register_project(server, PROJECT_DIR, scratch), python, code, scratch)
        finally:
            stop_server(server)

    if request.param == "postgres":
        with fresh_database() as url:
            yield from run(url)
    else:
        yield from run("")


def cli(setup: Setup, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**setup.server.env(), "AERODROME_URL": setup.server.http, "AERODROME_GRPC": setup.server.grpc}
    return subprocess.run(
        [sys.executable, "-m", "aerodrome", *args], env=env, capture_output=True, text=True, timeout=120
    )


def api(setup: Setup, method: str, path: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    response = httpx.request(method, f"{setup.server.http}{path}", timeout=60, **kwargs)
    return response.status_code, response.json()


def remote(setup: Setup) -> FlyteRemote:
    return flyte_remote(setup.server.grpc)


def launch(setup: Setup, conf: str = "", workflow: str = TWO_NODES) -> str:
    """Create an execution through the API with the job configuration annotation; returns its name."""
    rem = remote(setup)
    plan = rem.fetch_launch_plan(name=workflow, version=setup.version)
    options = Options(annotations=Annotations({JOB_CONF: conf})) if conf else None
    return str(rem.execute(plan, inputs={}, options=options).id.name)


def shown(setup: Setup, name: str) -> dict[str, str]:
    status, body = api(setup, "GET", f"/api/v1/providers/executions/flytesnacks/development/{name}")
    assert status == 200 and body["code"] == 0, body
    return {n["node_id"]: f"{n['provider_name']}/{n['level']}" for n in body["data"]}


def provider_file(setup: Setup, name: str, **metadata: Any) -> Path:
    path = setup.scratch / f"{name}-{uuid.uuid4().hex[:6]}.json"
    version, device = name.split(":")[1].split("@")
    path.write_text(
        json.dumps({"name": name.split(":")[0], "version": version, "device": device, "metadata": metadata})
    )
    return path


def test_register_query_replace_and_delete_through_the_cli(setup: Setup) -> None:
    conf = provider_file(setup, "fate:2.0.1@local", path=str(setup.code), venv=setup.python)
    created = cli(setup, "provider", "register", "-c", str(conf))
    assert created.returncode == 0, created.stderr
    first = json.loads(created.stdout)
    assert first["code"] == 0 and first["message"] == "success" and first["data"]["outcome"] == "created"

    again = json.loads(cli(setup, "provider", "register", "-c", str(conf)).stdout)
    assert again["data"]["outcome"] == "unchanged"
    assert again["data"]["update_time"] == first["data"]["update_time"]

    different = provider_file(setup, "fate:2.0.1@local", path=str(setup.scratch), venv=setup.python)
    refused = cli(setup, "provider", "register", "-c", str(different))
    assert refused.returncode == 1
    assert "already registered with a different body" in refused.stderr and "metadata.path" in refused.stderr
    assert "Traceback" not in refused.stderr

    queried = json.loads(cli(setup, "provider", "query", "--name", "fate").stdout)["data"]
    assert [p["provider_name"] for p in queried] == ["fate:2.0.1@local"]
    assert queried[0]["metadata"] == {"path": str(setup.code), "venv": setup.python}
    assert queried[0]["create_time"].endswith("Z") and queried[0]["update_time"] >= queried[0]["create_time"]

    replaced = json.loads(cli(setup, "provider", "register", "-c", str(different), "--replace").stdout)["data"]
    assert replaced["outcome"] == "replaced" and replaced["update_time"] > replaced["create_time"]
    restored = cli(setup, "provider", "register", "-c", str(conf), "--replace")
    assert json.loads(restored.stdout)["data"]["outcome"] == "replaced"

    scratch = provider_file(setup, "scratch:1@local")
    assert cli(setup, "provider", "register", "-c", str(scratch)).returncode == 0
    deleted = json.loads(cli(setup, "provider", "delete", "--name", "scratch").stdout)
    assert deleted["data"] == {"deleted": ["scratch:1@local"]}
    assert json.loads(cli(setup, "provider", "query", "--name", "scratch").stdout)["data"] == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "fa:te", "version": "1", "device": "local"}, "must not contain ':' or '@'"),
        ({"name": "x", "version": "1", "device": "spark"}, "device 'spark' is not supported"),
        ({"name": "x", "version": "1", "device": "docker", "metadata": {"image": "i"}}, "base_url: field required"),
        ({"name": "x", "version": "1", "device": "local", "metadata": {"path": "/no/such"}}, "is not a directory"),
        ({"name": "x", "version": "1", "device": "local", "metadata": {"venv": "/no/python"}}, "not an executable"),
    ],
)
def test_invalid_registrations_are_refused_and_write_nothing(setup: Setup, body: Any, message: str) -> None:
    status, answer = api(setup, "POST", "/api/v1/providers", json=body)
    assert status == 400 and answer["code"] == 3 and message in answer["message"] and answer["data"] is None
    assert api(setup, "GET", "/api/v1/providers", params={"name": "x"})[1]["data"] == []


def test_a_venv_without_flytekit_is_refused(setup: Setup) -> None:
    bare = make_venv(setup.scratch / f"bare-{uuid.uuid4().hex[:6]}", with_flytekit=False)
    body = {"name": "bare", "version": "1", "device": "local", "metadata": {"venv": bare}}
    status, answer = api(setup, "POST", "/api/v1/providers", json=body)
    assert status == 400 and "does not have flytekit" in answer["message"]


def test_filterless_delete_is_refused_and_an_empty_query_lists_all(setup: Setup) -> None:
    status, answer = api(setup, "DELETE", "/api/v1/providers")
    assert (status, answer["code"]) == (400, 3) and "at least one of name, version or device" in answer["message"]
    refused = cli(setup, "provider", "delete")
    assert refused.returncode == 1 and "at least one of name" in refused.stderr
    assert api(setup, "DELETE", "/api/v1/providers", params={"name": "never-registered"})[0] == 404
    body = {"name": "listed", "version": "1", "device": "k8s", "metadata": {"image": "i", "namespace": "n"}}
    assert api(setup, "POST", "/api/v1/providers", json=body)[1]["code"] == 0
    listed = [p["provider_name"] for p in api(setup, "GET", "/api/v1/providers")[1]["data"]]
    assert "listed:1@k8s" in listed and listed == sorted(listed)


def test_openapi_documents_the_registries(setup: Setup) -> None:
    document = httpx.get(f"{setup.server.http}/api/v1/openapi.json", timeout=30).json()
    assert {"/api/v1/providers", "/api/v1/products/start", "/api/v1/products/workflows"} <= set(document["paths"])
    assert set(document["paths"]["/api/v1/providers"]) == {"get", "post", "delete"}
    assert document["components"]["schemas"]["Envelope"]["required"] == ["code", "message", "data"]


@pytest.fixture(scope="module")
def docker_providers(setup: Setup) -> list[str]:
    """Providers the precedence table names; docker ones fail fast at run time (no engine here)."""
    names = ["d:1@local", "job:1@docker", "task:1@docker", "party:1@docker", "ptask:1@docker", "host:1@docker"]
    for name in names:
        pname, rest = name.split(":")
        version, device = rest.split("@")
        metadata = {"image": "img:1", "base_url": "unix:///var/run/docker.sock"} if device == "docker" else {}
        body = {"name": pname, "version": version, "device": device, "metadata": metadata}
        status, answer = api(setup, "POST", "/api/v1/providers", json=body)
        assert status == 200, answer
    return names


def job_conf(job: str = "", task: str = "", party: str = "", party_task: str = "", other: str = "") -> str:
    dag: dict[str, Any] = {}
    if job:
        dag["conf"] = {"task": {"provider": job}}
    if task:
        dag["tasks"] = {"n0": {"conf": {"provider": task}}}
    entries: dict[str, Any] = {}
    if party or party_task:
        entries["guest_9999"] = {"parties": [{"role": "guest", "party_id": ["9999"]}]}
        if party:
            entries["guest_9999"]["conf"] = {"provider": party}
        if party_task:
            entries["guest_9999"]["tasks"] = {"n0": {"conf": {"provider": party_task}}}
    if other:
        entries["host_10000"] = {"parties": [{"role": "host", "party_id": [10000]}], "conf": {"provider": other}}
    if entries:
        dag["party_tasks"] = entries
    return json.dumps({"dag": dag}) if dag else ""


# levels set -> what nodes n0 and n1 resolve to; precedence, lowest first: default < job < task < party < party-task.
TABLE = [
    ({"default": "d:1@local"}, {"n0": "d:1@local/default", "n1": "d:1@local/default"}),
    ({"default": "d:1@local", "job": "job:1@docker"}, {"n0": "job:1@docker/job", "n1": "job:1@docker/job"}),
    ({"job": "job:1@docker", "task": "task:1@docker"}, {"n0": "task:1@docker/task", "n1": "job:1@docker/job"}),
    (
        {"task": "task:1@docker", "party": "party:1@docker"},
        {"n0": "party:1@docker/party", "n1": "party:1@docker/party"},
    ),
    (
        {"job": "job:1@docker", "task": "task:1@docker", "party": "party:1@docker", "party_task": "ptask:1@docker"},
        {"n0": "ptask:1@docker/party-task", "n1": "party:1@docker/party"},
    ),
    ({"job": "job:1@docker", "other": "host:1@docker"}, {"n0": "job:1@docker/job", "n1": "job:1@docker/job"}),
]


def set_default_provider(setup: Setup, provider: str) -> None:
    with admin_stub(setup.server.grpc) as stub:
        if not provider:
            request = project_domain_attributes_pb2.ProjectDomainAttributesDeleteRequest(
                project="flytesnacks",
                domain="development",
                resource_type=matchable_resource_pb2.WORKFLOW_EXECUTION_CONFIG,
            )
            try:
                stub.DeleteProjectDomainAttributes(request)
            except grpc.RpcError as exc:
                assert status_of(exc) == grpc.StatusCode.NOT_FOUND
            return
        config = matchable_resource_pb2.WorkflowExecutionConfig()
        config.annotations.values["aerodrome/default-provider"] = provider
        stub.UpdateProjectDomainAttributes(
            project_domain_attributes_pb2.ProjectDomainAttributesUpdateRequest(
                attributes=project_domain_attributes_pb2.ProjectDomainAttributes(
                    project="flytesnacks",
                    domain="development",
                    matching_attributes=matchable_resource_pb2.MatchingAttributes(workflow_execution_config=config),
                )
            )
        )


@pytest.mark.parametrize(("levels", "expected"), TABLE, ids=["+".join(sorted(t[0])) for t in TABLE])
def test_resolution_levels_and_precedence(
    setup: Setup, docker_providers: list[str], levels: dict[str, str], expected: dict[str, str]
) -> None:
    set_default_provider(setup, levels.get("default", ""))
    try:
        name = launch(setup, job_conf(**{k: v for k, v in levels.items() if k != "default"}))
    finally:
        set_default_provider(setup, "")
    assert shown(setup, name) == expected


def wait(setup: Setup, name: str, timeout: float = 180) -> Any:
    rem = remote(setup)
    return rem.wait(rem.fetch_execution(name=name), timeout=timeout, poll_interval=0.5)


def test_a_local_provider_runs_the_task_with_its_interpreter_and_code(setup: Setup, tmp_path: Path) -> None:
    conf = provider_file(setup, "fate:2.0.1@local", path=str(setup.code), venv=setup.python)
    assert cli(setup, "provider", "register", "-c", str(conf), "--replace").returncode == 0
    document = tmp_path / "conf.yaml"
    document.write_text("dag:\n  conf:\n    task:\n      provider: fate:2.0.1@local\n")
    launched = cli(setup, "launch", TWO_NODES, "--version", setup.version, "--job-conf", str(document))
    assert launched.returncode == 0, launched.stderr
    name = launched.stdout.strip()
    done = wait(setup, name)
    assert done.closure.phase == WorkflowExecutionPhase.SUCCEEDED, done.closure.error
    expected = f"{setup.python}|2.0.1|fate:2.0.1@local"
    assert setup.python != sys.executable
    assert (done.outputs["o0"], done.outputs["o1"]) == (expected, expected)
    listed = json.loads(cli(setup, "provider", "execution", name).stdout)["data"]
    assert [(n["node_id"], n["provider_name"], n["level"]) for n in listed] == [
        ("n0", "fate:2.0.1@local", "job"),
        ("n1", "fate:2.0.1@local", "job"),
    ]


def test_nested_and_mapped_tasks_take_their_top_level_nodes_provider(setup: Setup, tmp_path: Path) -> None:
    conf = provider_file(setup, "fate:2.0.1@local", path=str(setup.code), venv=setup.python)
    assert cli(setup, "provider", "register", "-c", str(conf), "--replace").returncode == 0
    document = tmp_path / "conf.yaml"
    document.write_text("dag:\n  conf:\n    task:\n      provider: fate:2.0.1@local\n")
    launched = cli(setup, "launch", NESTED, "--version", setup.version, "--job-conf", str(document))
    assert launched.returncode == 0, launched.stderr
    done = wait(setup, launched.stdout.strip())
    assert done.closure.phase == WorkflowExecutionPhase.SUCCEEDED, done.closure.error
    expected = f"{setup.python}|2.0.1|fate:2.0.1@local"
    assert done.outputs["o0"] == expected
    assert done.outputs["o1"] == [f"0:{expected}", f"1:{expected}"]


def test_a_docker_node_fails_with_the_device_message(setup: Setup, docker_providers: list[str]) -> None:
    done = wait(setup, launch(setup, job_conf(party_task="ptask:1@docker")))
    assert done.closure.phase == WorkflowExecutionPhase.FAILED
    assert "device docker is not available on this server" in done.closure.error.message


def test_an_unknown_provider_fails_creation_naming_it_and_its_level(setup: Setup, tmp_path: Path) -> None:
    conf = job_conf(job="fate:2.0.1@local", party_task="nope:1.0@local")
    spec = execution_pb2.ExecutionSpec(
        launch_plan=identifier_pb2.Identifier(
            resource_type=identifier_pb2.LAUNCH_PLAN,
            project="flytesnacks",
            domain="development",
            name=TWO_NODES,
            version=setup.version,
        )
    )
    spec.annotations.values[JOB_CONF] = conf
    name = f"unknown{uuid.uuid4().hex[:8]}"
    request = execution_pb2.ExecutionCreateRequest(project="flytesnacks", domain="development", name=name, spec=spec)
    with admin_stub(setup.server.grpc) as stub, pytest.raises(grpc.RpcError) as failure:
        stub.CreateExecution(request)
    assert status_of(failure.value) == grpc.StatusCode.INVALID_ARGUMENT
    details = failure.value.details()  # type: ignore[attr-defined]
    assert "provider nope:1.0@local is not registered" in details and "party-task level" in details
    with admin_stub(setup.server.grpc) as stub, pytest.raises(grpc.RpcError):
        stub.GetExecution(
            execution_pb2.WorkflowExecutionGetRequest(
                id=identifier_pb2.WorkflowExecutionIdentifier(project="flytesnacks", domain="development", name=name)
            )
        )
    document = tmp_path / "conf.json"
    document.write_text(conf)
    launched = cli(setup, "launch", TWO_NODES, "--version", setup.version, "--job-conf", str(document))
    assert launched.returncode == 1 and "nope:1.0@local is not registered" in launched.stderr
    assert "Traceback" not in launched.stderr


def test_a_provider_in_use_cannot_be_deleted(setup: Setup) -> None:
    body = {"name": "busy", "version": "1", "device": "local", "metadata": {}}
    assert api(setup, "POST", "/api/v1/providers", json=body)[1]["code"] == 0
    rem = remote(setup)
    plan = rem.fetch_launch_plan(name="workflows.where.sleepy", version=setup.version)
    conf = job_conf(job="busy:1@local")
    execution = rem.execute(plan, inputs={"seconds": 120}, options=Options(annotations=Annotations({JOB_CONF: conf})))
    status, answer = api(setup, "DELETE", "/api/v1/providers", params={"name": "busy"})
    assert (status, answer["code"]) == (400, 9)
    assert f"busy:1@local (execution flytesnacks/development/{execution.id.name})" in answer["message"]
    rem.terminate(execution, cause="test over")
    deadline = time.monotonic() + 60
    while rem.fetch_execution(name=execution.id.name).closure.phase != WorkflowExecutionPhase.ABORTED:
        assert time.monotonic() < deadline
        time.sleep(0.5)
    assert api(setup, "DELETE", "/api/v1/providers", params={"name": "busy"})[1]["data"] == {
        "deleted": ["busy:1@local"]
    }

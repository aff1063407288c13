"""The product journey: a user project with User and UserGroup, a data migration registering their six
workflows, ``db upgrade heads``, a clean ``products check``, starting CREATE for UserGroup through to
SUCCEEDED, and ``db downgrade`` removing the registrations. One server per backend for the module.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from flytekit.configuration import Config
from flytekit.models.core.execution import WorkflowExecutionPhase
from flytekit.remote import FlyteRemote

from tests.integration.conftest import Server, start_server, stop_server
from tests.support.postgres import fresh_database

PROJECT_DIR = Path(__file__).parent / "projects" / "product_app"
PYFLYTE = str(Path(sys.executable).with_name("pyflyte"))
TYPES = [{"name": "User", "description": "A user account"}, {"name": "UserGroup", "description": "A group of users"}]
WORKFLOWS = [
    {"name": f"{target}_{kind}", "target": target.upper(), "description": f"{target} a {kind}", "product_type": t}
    for kind, t in (("user_group", "UserGroup"), ("user", "User"))
    for target in ("create", "modify", "terminate")
]


@dataclass(frozen=True)
class Project:
    """The module's server, its database URL, and the user project (registered with pyflyte)."""

    server: Server
    db_url: str
    root: Path


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    scratch = tmp_path_factory.mktemp(f"products-{request.param}")
    root = scratch / "app"
    shutil.copytree(PROJECT_DIR, root, ignore=shutil.ignore_patterns("__pycache__"))

    def run(url: str) -> Iterator[Project]:
        server = start_server(scratch / "home", url, request.param)
        try:
            command = [PYFLYTE, "-c", str(server.config), "register", "--project", "flytesnacks"]
            result = subprocess.run(
                [*command, "--domain", "development", "--version", f"v{uuid.uuid4().hex[:8]}", "workflows"],
                cwd=root,
                env=server.env(),
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert result.returncode == 0, result.stdout + result.stderr
            yield Project(server, url or f"sqlite+aiosqlite:///{scratch / 'home' / 'aerodrome.db'}", root)
        finally:
            stop_server(server)

    if request.param == "postgres":
        with fresh_database() as url:
            yield from run(url)
    else:
        yield from run("")


def aerodrome(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it from the project's root."""
    env = {**project.server.env(), "AERODROME_URL": project.server.http, "AERODROME_DB_URL": project.db_url}
    return subprocess.run(
        [sys.executable, "-m", "aerodrome", *args],
        cwd=project.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def api(project: Project, method: str, path: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    response = httpx.request(method, f"{project.server.http}{path}", timeout=60, **kwargs)
    return response.status_code, response.json()


def fill(revision: Path, types: list[dict[str, Any]], workflows: list[dict[str, Any]]) -> None:
    """Fill the generated revision's lists, as a user edits the file."""
    source = revision.read_text()
    for name, value in (("PRODUCT_TYPES", types), ("WORKFLOWS", workflows)):
        empty = f"{name}: list[dict[str, Any]] = []"
        assert empty in source
        source = source.replace(empty, f"{name}: list[dict[str, Any]] = {json.dumps(value)}")
    revision.write_text(source.replace(": true", ": True").replace(": false", ": False"))


def created_file(result: subprocess.CompletedProcess[str]) -> Path:
    assert result.returncode == 0, result.stderr
    return Path(result.stdout.strip().removeprefix("created "))


def test_product_journey(project: Project) -> None:
    before = aerodrome(project, "products", "check")
    assert before.returncode == 1 and "create_user_group: in the code" in before.stdout

    revision = created_file(aerodrome(project, "db", "revision", "--head", "data", "--message", "User and UserGroup"))
    assert revision.parent == project.root / "migrations" and "branch_labels = ('data',)" in revision.read_text()
    fill(revision, TYPES, WORKFLOWS)
    upgraded = aerodrome(project, "db", "upgrade", "heads")
    assert upgraded.returncode == 0, upgraded.stderr
    heads = aerodrome(project, "db", "heads")
    assert f"{revision.name.split('_')[0]} (data) (head)" in heads.stdout, heads.stdout + heads.stderr

    checked = aerodrome(project, "products", "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "products check: clean (6 registered workflows" in checked.stdout

    listed = json.loads(aerodrome(project, "products", "list", "--product-type", "User", "--target", "MODIFY").stdout)
    assert [(w["name"], w["flyte_workflow"], w["product_types"]) for w in listed] == [
        ("modify_user", "workflows.user.modify_user", ["User"])
    ]
    status, types = api(project, "GET", "/api/v1/products/types")
    assert status == 200 and [t["name"] for t in types["data"]] == ["User", "UserGroup"]

    started = aerodrome(
        project,
        "products",
        "start",
        "--product-type",
        "UserGroup",
        "--target",
        "CREATE",
        "--inputs",
        '{"group_name": "ops"}',
    )
    assert started.returncode == 0, started.stderr
    name = started.stdout.strip()
    assert "create_user_group (workflows.user_group.create_user_group" in started.stderr
    remote = FlyteRemote(
        Config.for_endpoint(project.server.grpc, insecure=True),
        default_project="flytesnacks",
        default_domain="development",
    )
    done = remote.wait(remote.fetch_execution(name=name), timeout=180, poll_interval=0.5)
    assert done.closure.phase == WorkflowExecutionPhase.SUCCEEDED, done.closure.error
    assert done.outputs["o0"] == "group ops created"

    refused_start(project)
    refused_revision(project)

    downgraded = aerodrome(project, "db", "downgrade")
    assert downgraded.returncode == 0, downgraded.stderr
    assert api(project, "GET", "/api/v1/products/workflows")[1]["data"] == []
    assert api(project, "GET", "/api/v1/products/types")[1]["data"] == []
    after = aerodrome(project, "products", "check")
    assert after.returncode == 1 and after.stdout.count("but not registered in the database") == 6


def refused_start(project: Project) -> None:
    """Starting what is not registered, or with inputs the workflow does not take, is a clear error."""
    body = {"product_type": "Nope", "target": "CREATE", "project": "flytesnacks", "domain": "development"}
    status, answer = api(project, "POST", "/api/v1/products/start", json=body)
    assert (status, answer["code"]) == (404, 5) and "product type 'Nope' is not registered" in answer["message"]
    body = {**body, "product_type": "User", "target": "RECONCILE"}
    status, answer = api(project, "POST", "/api/v1/products/start", json=body)
    assert status == 404 and "no RECONCILE workflow is registered for product type User" in answer["message"]
    body = {**body, "target": "TERMINATE", "inputs": {"user": "ann"}}
    status, answer = api(project, "POST", "/api/v1/products/start", json=body)
    assert (status, answer["code"]) == (400, 3) and "unknown input(s) user" in answer["message"]
    cli = aerodrome(project, "products", "start", "--product-type", "User", "--target", "CREATE", "--inputs", "{")
    assert cli.returncode == 1 and "--inputs is not valid JSON" in cli.stderr


def refused_revision(project: Project) -> None:
    """A data revision naming an unknown product type fails the upgrade and writes nothing."""
    bad = created_file(aerodrome(project, "db", "revision", "--head", "data", "--message", "ghost"))
    ghost = {"name": "create_ghost", "target": "CREATE", "description": "x", "product_type": "Ghost"}
    fill(bad, [{"name": "Spirit"}], [ghost])
    failed = aerodrome(project, "db", "upgrade", "heads")
    assert failed.returncode == 1 and "unknown product type(s) Ghost" in failed.stderr
    assert "Traceback" not in failed.stderr
    names = [t["name"] for t in api(project, "GET", "/api/v1/products/types")[1]["data"]]
    assert names == ["User", "UserGroup"]
    bad.unlink()

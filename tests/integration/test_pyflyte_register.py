"""`pyflyte register` of a real flytekit project against the running server."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from flyteidl.admin import common_pb2, launch_plan_pb2
from flyteidl.core import identifier_pb2

from tests.integration.conftest import Server
from tests.support.clients import admin_stub

PROJECT = Path(__file__).parent / "projects" / "registry_app"
PYFLYTE = str(Path(sys.executable).with_name("pyflyte"))


def pyflyte_register(server: Server, root: Path, version: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """Run the real CLI from the project root, as a user would."""
    cmd = [
        PYFLYTE,
        "-c",
        str(server.config),
        "register",
        "--project",
        "flytesnacks",
        "--domain",
        "development",
        "--version",
        version,
        *extra,
        "workflows",
    ]
    return subprocess.run(cmd, cwd=root, env=server.env(), capture_output=True, text=True, timeout=300)


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    root = tmp_path / "app"
    shutil.copytree(PROJECT, root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def test_register_twice_then_changed_body_fails(server: Server, project_copy: Path, unique: str) -> None:
    version = f"v{unique}"
    first = pyflyte_register(server, project_copy, version)
    assert first.returncode == 0, first.stdout + first.stderr

    with admin_stub(server.grpc) as stub:
        ident = identifier_pb2.Identifier(
            resource_type=identifier_pb2.TASK,
            project="flytesnacks",
            domain="development",
            name="workflows.basics.add",
            version=version,
        )
        task = stub.GetTask(common_pb2.ObjectGetRequest(id=ident))
        assert task.closure.compiled_task.template.id.name == "workflows.basics.add"
        assert "pyflyte-fast-execute" in task.closure.compiled_task.template.container.args
        names = stub.ListLaunchPlanIds(
            common_pb2.NamedEntityIdentifierListRequest(project="flytesnacks", domain="development", limit=100)
        )
        lp_names = {e.name for e in names.entities}
        assert {"arithmetic_fixed", "stamped_nightly", "workflows.basics.calls_launch_plan"} <= lp_names
        nightly = stub.GetLaunchPlan(
            common_pb2.ObjectGetRequest(
                id=identifier_pb2.Identifier(
                    resource_type=identifier_pb2.LAUNCH_PLAN,
                    project="flytesnacks",
                    domain="development",
                    name="stamped_nightly",
                    version=version,
                )
            )
        )
        assert nightly.spec.entity_metadata.schedule.cron_schedule.schedule == "0 2 * * *"
        assert nightly.closure.state == launch_plan_pb2.INACTIVE
        fixed = stub.GetLaunchPlan(
            common_pb2.ObjectGetRequest(
                id=identifier_pb2.Identifier(
                    resource_type=identifier_pb2.LAUNCH_PLAN,
                    project="flytesnacks",
                    domain="development",
                    name="arithmetic_fixed",
                    version=version,
                )
            )
        )
        assert set(fixed.closure.expected_inputs.parameters) == {"b"}
        assert set(fixed.spec.fixed_inputs.literals) == {"a"}

    again = pyflyte_register(server, project_copy, version)
    assert again.returncode == 0, again.stdout + again.stderr

    source = project_copy / "workflows" / "basics.py"
    source.write_text(source.read_text().replace("return a + b", "return a + b + 0"))
    changed = pyflyte_register(server, project_copy, version)
    output = changed.stdout + changed.stderr
    assert changed.returncode != 0, output
    # The edit changes the fast-registration tarball, so every task of the module now differs (its
    # container args name the new tarball); pyflyte registers tasks concurrently and reports whichever
    # refusal reaches it first, so the message names one of them, with the differing field.
    named = re.search(r"workflows\.basics\.(\w+) task with different structure already exists", output)
    assert named is not None and named.group(1) in {"add", "double", "greet", "shout", "stamp"}, output
    assert "template.container.args" in output

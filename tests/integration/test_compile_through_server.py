"""The compiler as users meet it: real flytekit workflows of every node kind register; invalid ones are
refused with INVALID_ARGUMENT naming the node and the variable."""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import grpc
import pytest
from flyteidl.admin import common_pb2
from flyteidl.core import identifier_pb2

from tests.integration.conftest import Server
from tests.integration.test_lists_and_filters import make_task
from tests.integration.test_registration_rules import one_task_workflow
from tests.support.clients import admin_stub

PROJECT_DIR = Path(__file__).parent / "projects" / "kitchen_sink"
PYFLYTE = str(Path(sys.executable).with_name("pyflyte"))


def test_every_node_kind_and_type_family_registers(server: Server, tmp_path: Path) -> None:
    shutil.copytree(PROJECT_DIR, tmp_path / "app", ignore=shutil.ignore_patterns("__pycache__"))
    version = f"k{uuid.uuid4().hex[:8]}"
    result = subprocess.run(
        [PYFLYTE, "-c", str(server.config), "register", "--version", version, "workflows"],
        cwd=tmp_path / "app",
        env=server.env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    with admin_stub(server.grpc) as stub:
        names = stub.ListWorkflowIds(
            common_pb2.NamedEntityIdentifierListRequest(
                project="flytesnacks", domain="development", limit=1000, filters="contains(name,types_and_nodes.wf_)"
            )
        )
        assert len(names.entities) >= 20
        wf = stub.GetWorkflow(
            common_pb2.ObjectGetRequest(
                id=identifier_pb2.Identifier(
                    resource_type=identifier_pb2.WORKFLOW,
                    project="flytesnacks",
                    domain="development",
                    name="workflows.types_and_nodes.wf_conditional",
                    version=version,
                )
            )
        )
        branch = [n for n in wf.closure.compiled_workflow.primary.template.nodes if n.HasField("branch_node")]
        assert branch and branch[0].branch_node.if_else.case.then_node.id.startswith(branch[0].id + "-")


def test_type_mismatch_names_node_and_variable(server: Server, unique: str) -> None:
    request = one_task_workflow(f"bad-{unique}", "v1", f"t-{unique}")
    task = make_task(f"t-{unique}", "v1")
    string = task.spec.template.interface.inputs.variables["x"].type
    string.simple = 3  # STRING: the workflow feeds it an integer input
    with admin_stub(server.grpc) as stub:
        stub.CreateTask(task)
        with pytest.raises(grpc.RpcError) as err:
            stub.CreateWorkflow(request)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    message = err.value.details()
    assert "failed to compile workflow" in message and "MismatchingTypes" in message
    assert "Node Id: n0" in message and "'x'" in message

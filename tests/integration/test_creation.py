"""CreateExecution's kept state and its engine start: an attribute update is seen by the very next creation
(the views are kept in memory), inputs the launch plan adds nothing to are stored once, and a burst of
creations is started exactly once each (the drives of one claim share one read)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from flyteidl.admin import common_pb2, execution_pb2, matchable_resource_pb2
from flyteidl.admin import workflow_attributes_pb2 as wa
from flytekit.models.core.execution import WorkflowExecutionPhase
from flytekit.remote import FlyteRemote

from tests.integration.conftest import Server
from tests.integration.test_executions import WF, registered  # noqa: F401 (the fixture)
from tests.support.clients import admin_stub
from tests.support.stored_inputs import inputs_objects

PROJECT, DOMAIN = "flytesnacks", "development"


def _create(server: Server, lp: execution_pb2.ExecutionSpec) -> str:
    with admin_stub(server.grpc) as stub:
        request = execution_pb2.ExecutionCreateRequest(project=PROJECT, domain=DOMAIN, spec=lp)
        return str(stub.CreateExecution(request).id.name)


def test_an_attribute_update_is_seen_by_the_next_creation(registered: tuple[Server, str], remote: FlyteRemote) -> None:  # noqa: F811
    server, version = registered
    spec = execution_pb2.ExecutionSpec(
        launch_plan=remote.fetch_launch_plan(name=f"{WF}.two_tasks", version=version).id.to_flyte_idl()
    )
    workflow = f"{WF}.two_tasks"

    def labels_after(tier: str) -> dict[str, str]:
        with admin_stub(server.grpc) as stub:
            if tier:
                config = matchable_resource_pb2.WorkflowExecutionConfig(labels=common_pb2.Labels(values={"tier": tier}))
                attributes = wa.WorkflowAttributes(
                    project=PROJECT,
                    domain=DOMAIN,
                    workflow=workflow,
                    matching_attributes=matchable_resource_pb2.MatchingAttributes(workflow_execution_config=config),
                )
                stub.UpdateWorkflowAttributes(wa.WorkflowAttributesUpdateRequest(attributes=attributes))
            else:
                kind = matchable_resource_pb2.WORKFLOW_EXECUTION_CONFIG
                stub.DeleteWorkflowAttributes(
                    wa.WorkflowAttributesDeleteRequest(
                        project=PROJECT, domain=DOMAIN, workflow=workflow, resource_type=kind
                    )
                )
            name = _create(server, spec)
            got = stub.GetExecution(
                execution_pb2.WorkflowExecutionGetRequest(id={"project": PROJECT, "domain": DOMAIN, "name": name})
            )
            return dict(got.spec.labels.values)

    try:
        assert labels_after("a") == {"tier": "a"}
        assert labels_after("b") == {"tier": "b"}  # at once, not once the first view expired
    finally:
        assert labels_after("") == {}


def test_inputs_the_launch_plan_adds_nothing_to_are_stored_once(
    registered: tuple[Server, str],  # noqa: F811
    remote: FlyteRemote,
) -> None:
    server, version = registered
    lp = remote.fetch_launch_plan(name=f"{WF}.two_tasks", version=version)
    x, y = f"x{uuid.uuid4().hex[:8]}", f"y{uuid.uuid4().hex[:8]}"  # inputs never stored before
    every = remote.execute(lp, inputs={"a": 2, "b": 3, "name": x})
    some = remote.execute(lp, inputs={"name": y})  # a and b from the launch plan's defaults
    for execution, sizes, name, said in ((every, [3], x, f"hello {x} 5"), (some, [1, 3], y, f"hello {y} 3")):
        done = remote.wait(execution, timeout=120, poll_interval=0.5)
        assert done.outputs["o0"] == said
        # One object when the launch plan added nothing (the user's inputs are the full inputs), else two.
        stored = inputs_objects(server.home / "blobs", PROJECT, DOMAIN, name)
        assert sorted(len(m.literals) for m in stored) == sizes
        with admin_stub(server.grpc) as stub:
            data = stub.GetExecutionData(execution_pb2.WorkflowExecutionGetDataRequest(id=execution.id.to_flyte_idl()))
        assert set(data.full_inputs.literals) == {"a", "b", "name"}


def test_a_burst_of_creations_is_started_once_each(registered: tuple[Server, str], remote: FlyteRemote) -> None:  # noqa: F811
    server, version = registered
    spec = execution_pb2.ExecutionSpec(
        launch_plan=remote.fetch_launch_plan(name=f"{WF}.two_tasks", version=version).id.to_flyte_idl()
    )
    with ThreadPoolExecutor(16) as pool:
        names = list(pool.map(lambda _: _create(server, spec), range(24)))
    for name in names:
        done = remote.wait(remote.fetch_execution(name=name), timeout=180, poll_interval=0.5, sync_nodes=True)
        assert done.closure.phase == WorkflowExecutionPhase.SUCCEEDED
        attempts = {
            n: len(e.task_executions) for n, e in done.node_executions.items() if n not in ("start-node", "end-node")
        }
        assert attempts == {"n0": 1, "n1": 1}, (name, attempts)

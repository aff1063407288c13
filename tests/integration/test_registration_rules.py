"""Registration semantics and error discipline over raw gRPC: the codes and texts users act on."""

from __future__ import annotations

import grpc
import pytest
from flyteidl.admin import (
    common_pb2,
    execution_pb2,
    launch_plan_pb2,
    project_pb2,
    schedule_pb2,
    version_pb2,
    workflow_pb2,
)
from flyteidl.core import identifier_pb2, interface_pb2, literals_pb2, types_pb2
from flyteidl.core import workflow_pb2 as core_wf
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.integration.conftest import Server
from tests.integration.test_lists_and_filters import DOMAIN, PROJECT, make_task
from tests.support.clients import admin_stub

INT = types_pb2.LiteralType(simple=types_pb2.INTEGER)


def rpc_error(call, request) -> grpc.RpcError:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as err:
        call(request)
    return err.value


def one_task_workflow(name: str, version: str, task_name: str) -> workflow_pb2.WorkflowCreateRequest:
    wf_id = identifier_pb2.Identifier(
        resource_type=identifier_pb2.WORKFLOW, project=PROJECT, domain=DOMAIN, name=name, version=version
    )
    task_id = identifier_pb2.Identifier(
        resource_type=identifier_pb2.TASK, project=PROJECT, domain=DOMAIN, name=task_name, version=version
    )
    var = {"x": interface_pb2.Variable(type=INT)}
    node = core_wf.Node(
        id="n0",
        task_node=core_wf.TaskNode(reference_id=task_id),
        inputs=[
            literals_pb2.Binding(
                var="x",
                binding=literals_pb2.BindingData(promise=types_pb2.OutputReference(node_id="start-node", var="x")),
            )
        ],
    )
    template = core_wf.WorkflowTemplate(
        id=wf_id,
        interface=interface_pb2.TypedInterface(
            inputs=interface_pb2.VariableMap(variables=var),
            outputs=interface_pb2.VariableMap(variables={"o0": var["x"]}),
        ),
        nodes=[node],
        outputs=[
            literals_pb2.Binding(
                var="o0", binding=literals_pb2.BindingData(promise=types_pb2.OutputReference(node_id="n0", var="o0"))
            )
        ],
    )
    return workflow_pb2.WorkflowCreateRequest(id=wf_id, spec=workflow_pb2.WorkflowSpec(template=template))


def test_reregistration_identical_and_different(server: Server, unique: str) -> None:
    with admin_stub(server.grpc) as stub:
        stub.CreateTask(make_task(f"t-{unique}", "v1"))
        err = rpc_error(stub.CreateTask, make_task(f"t-{unique}", "v1"))
        assert err.code() == grpc.StatusCode.ALREADY_EXISTS
        assert err.details() == "task with identical structure already exists"
        err = rpc_error(stub.CreateTask, make_task(f"t-{unique}", "v1", image="python:3.12"))
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert f"t-{unique} task with different structure already exists" in err.details()
        assert "python:3.12" in err.details()

        stub.CreateTask(make_task(f"wt-{unique}", "v1"))
        stub.CreateWorkflow(one_task_workflow(f"w-{unique}", "v1", f"wt-{unique}"))
        err = rpc_error(stub.CreateWorkflow, one_task_workflow(f"w-{unique}", "v1", f"wt-{unique}"))
        assert err.code() == grpc.StatusCode.ALREADY_EXISTS
        wf = stub.GetWorkflow(
            common_pb2.ObjectGetRequest(
                id=identifier_pb2.Identifier(
                    resource_type=identifier_pb2.WORKFLOW,
                    project=PROJECT,
                    domain=DOMAIN,
                    name=f"w-{unique}",
                    version="v1",
                )
            )
        )
        primary = wf.closure.compiled_workflow.primary
        assert [n.id for n in primary.template.nodes if n.id.endswith("-node")] != []
        assert "n0" in primary.connections.downstream["start-node"].ids


def test_workflow_with_missing_task_names_it(server: Server, unique: str) -> None:
    with admin_stub(server.grpc) as stub:
        err = rpc_error(stub.CreateWorkflow, one_task_workflow(f"w-{unique}", "v1", f"absent-{unique}"))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "failed to compile workflow" in err.details()
    assert f"absent-{unique}" in err.details()


@pytest.mark.parametrize(
    ("project", "domain", "version", "message"),
    [
        ("nowhere", DOMAIN, "v1", "failed to validate that project [nowhere] and domain [development] are registered"),
        (PROJECT, "qa", "v1", "domain [qa] is unrecognized by system"),
        (PROJECT, DOMAIN, "", "missing version"),
    ],
)
def test_identifier_and_project_validation(
    server: Server, project: str, domain: str, version: str, message: str
) -> None:
    request = make_task("t", version)
    request.id.project, request.id.domain = project, domain
    with admin_stub(server.grpc) as stub:
        err = rpc_error(stub.CreateTask, request)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in err.details()


def test_wrong_resource_type_is_rejected(server: Server) -> None:
    request = make_task("t", "v1")
    request.id.resource_type = identifier_pb2.WORKFLOW
    with admin_stub(server.grpc) as stub:
        err = rpc_error(stub.CreateTask, request)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "unexpected resource type workflow" in err.details()


def test_launch_plan_rules(server: Server, unique: str) -> None:
    with admin_stub(server.grpc) as stub:
        stub.CreateTask(make_task(f"lt-{unique}", "v1"))
        stub.CreateWorkflow(one_task_workflow(f"lw-{unique}", "v1", f"lt-{unique}"))
        wf_id = identifier_pb2.Identifier(
            resource_type=identifier_pb2.WORKFLOW, project=PROJECT, domain=DOMAIN, name=f"lw-{unique}", version="v1"
        )
        lp_id = identifier_pb2.Identifier(
            resource_type=identifier_pb2.LAUNCH_PLAN, project=PROJECT, domain=DOMAIN, name=f"lp-{unique}", version="v1"
        )
        scheduled = launch_plan_pb2.LaunchPlanSpec(
            workflow_id=wf_id,
            entity_metadata=launch_plan_pb2.LaunchPlanMetadata(
                schedule=schedule_pb2.Schedule(cron_schedule=schedule_pb2.CronSchedule(schedule="*/5 * * * *"))
            ),
        )
        err = rpc_error(stub.CreateLaunchPlan, launch_plan_pb2.LaunchPlanCreateRequest(id=lp_id, spec=scheduled))
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "unbound required input. [x] is required" in err.details()

        bad_fixed = launch_plan_pb2.LaunchPlanSpec(
            workflow_id=wf_id,
            fixed_inputs=literals_pb2.LiteralMap(
                literals={
                    "y": literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(integer=1)))
                }
            ),
        )
        err = rpc_error(stub.CreateLaunchPlan, launch_plan_pb2.LaunchPlanCreateRequest(id=lp_id, spec=bad_fixed))
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "unexpected fixed_input y" in err.details()

        plain = launch_plan_pb2.LaunchPlanSpec(workflow_id=wf_id)
        stub.CreateLaunchPlan(launch_plan_pb2.LaunchPlanCreateRequest(id=lp_id, spec=plain))
        stored = stub.GetLaunchPlan(common_pb2.ObjectGetRequest(id=lp_id))
        assert stored.closure.state == launch_plan_pb2.INACTIVE
        assert stored.spec.default_inputs.parameters["x"].required
        err = rpc_error(
            stub.GetActiveLaunchPlan,
            launch_plan_pb2.ActiveLaunchPlanRequest(
                id=common_pb2.NamedEntityIdentifier(project=PROJECT, domain=DOMAIN, name=f"lp-{unique}")
            ),
        )
        assert err.code() == grpc.StatusCode.NOT_FOUND
        assert err.details() == f"No active launch plan could be found: {PROJECT}:{DOMAIN}:lp-{unique}"


def test_inactive_project_blocks_registration(server: Server, unique: str) -> None:
    project = f"arch-{unique}"
    with admin_stub(server.grpc) as stub:
        stub.RegisterProject(project_pb2.ProjectRegisterRequest(project=project_pb2.Project(id=project, name=project)))
        err = rpc_error(
            stub.RegisterProject,
            project_pb2.ProjectRegisterRequest(project=project_pb2.Project(id=project, name=project)),
        )
        assert err.code() == grpc.StatusCode.ALREADY_EXISTS
        stub.UpdateProject(project_pb2.Project(id=project, state=project_pb2.Project.ARCHIVED))
        request = make_task("t", "v1")
        request.id.project = project
        err = rpc_error(stub.CreateTask, request)
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert f"project [{project}] is not active" in err.details()
        listed = stub.ListProjects(project_pb2.ProjectListRequest(limit=1000))
        assert project not in {p.id for p in listed.projects}
        err = rpc_error(
            stub.RegisterProject, project_pb2.ProjectRegisterRequest(project=project_pb2.Project(id="Bad_Id", name="x"))
        )
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "invalid project id [Bad_Id]" in err.details()


def test_unimplemented_is_never_unknown_and_version_health(server: Server) -> None:
    with admin_stub(server.grpc) as stub:
        err = rpc_error(stub.RecoverExecution, execution_pb2.ExecutionRecoverRequest())
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "missing id" in (err.details() or "")
        version = stub.GetVersion(version_pb2.GetVersionRequest())
        assert version.control_plane_version.Version.startswith("v")
    with grpc.insecure_channel(server.grpc) as channel:
        unknown = channel.unary_unary("/flyteidl.service.AdminService/NoSuchMethod")
        with pytest.raises(grpc.RpcError) as missing_method:
            unknown(b"")
        assert missing_method.value.code() == grpc.StatusCode.UNIMPLEMENTED
        health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
        assert health.status == health_pb2.HealthCheckResponse.SERVING

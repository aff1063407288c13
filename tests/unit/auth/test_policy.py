"""The one authorization decision: the project each request addresses and the role each method needs."""

from __future__ import annotations

import pytest
from flyteidl.admin import (
    common_pb2,
    execution_pb2,
    launch_plan_pb2,
    matchable_resource_pb2,
    node_execution_pb2,
    project_domain_attributes_pb2,
    project_pb2,
    signal_pb2,
    task_execution_pb2,
    task_pb2,
)
from flyteidl.core import identifier_pb2
from flyteidl.service import dataproxy_pb2
from google.protobuf.message import Message

from aerodrome.auth.errors import PermissionDenied
from aerodrome.auth.guard import after_call, before_call
from aerodrome.auth.identity import Identity, parse_grants
from aerodrome.auth.policy import authorize, project_of, required_role

EX = identifier_pb2.WorkflowExecutionIdentifier(project="a", domain="development", name="e1")
NODE = identifier_pb2.NodeExecutionIdentifier(node_id="n0", execution_id=EX)
TASK_EX = identifier_pb2.TaskExecutionIdentifier(node_execution_id=NODE, retry_attempt=0)
TASK = identifier_pb2.Identifier(resource_type=identifier_pb2.TASK, project="a", domain="development", name="t")


@pytest.mark.parametrize(
    "request_message",
    [
        task_pb2.TaskCreateRequest(id=TASK),
        common_pb2.ObjectGetRequest(id=TASK),
        common_pb2.ResourceListRequest(id=common_pb2.NamedEntityIdentifier(project="a", domain="development")),
        common_pb2.NamedEntityIdentifierListRequest(project="a", domain="development"),
        launch_plan_pb2.ActiveLaunchPlanListRequest(project="a", domain="development"),
        execution_pb2.ExecutionCreateRequest(project="a", domain="development"),
        execution_pb2.WorkflowExecutionGetRequest(id=EX),
        execution_pb2.ExecutionTerminateRequest(id=EX),
        node_execution_pb2.NodeExecutionGetRequest(id=NODE),
        node_execution_pb2.NodeExecutionListRequest(workflow_execution_id=EX),
        node_execution_pb2.NodeExecutionForTaskListRequest(task_execution_id=TASK_EX),
        task_execution_pb2.TaskExecutionGetRequest(id=TASK_EX),
        task_execution_pb2.TaskExecutionListRequest(node_execution_id=NODE),
        signal_pb2.SignalSetRequest(id=identifier_pb2.SignalIdentifier(signal_id="s", execution_id=EX)),
        signal_pb2.SignalListRequest(workflow_execution_id=EX),
        dataproxy_pb2.CreateUploadLocationRequest(project="a", domain="development"),
        dataproxy_pb2.CreateDownloadLinkRequest(node_execution_id=NODE),
        dataproxy_pb2.GetDataRequest(flyte_url="flyte://v1/a/development/e1/n0/0/o"),
        project_pb2.Project(id="a"),
        project_domain_attributes_pb2.ProjectDomainAttributesUpdateRequest(
            attributes=project_domain_attributes_pb2.ProjectDomainAttributes(project="a", domain="development")
        ),
        project_domain_attributes_pb2.ProjectDomainAttributesGetRequest(
            project="a", domain="development", resource_type=matchable_resource_pb2.TASK_RESOURCE
        ),
    ],
    ids=lambda m: type(m).__name__,
)
def test_every_request_shape_names_its_project(request_message: Message) -> None:
    assert project_of(request_message) == "a"


def test_roles_per_method() -> None:
    assert required_role("GetExecution") == "viewer"
    assert required_role("ListNodeExecutions") == "viewer"
    assert required_role("CreateExecution") == "runner"
    assert required_role("SetSignal") == "runner"
    assert required_role("CreateTask") == "admin"
    assert required_role("UpdateLaunchPlan") == "admin"
    assert required_role("RegisterProject") == "server-admin"
    assert required_role("SomethingNew") == "server-admin"  # closed until someone decides
    assert required_role("ListProjects") is None


def test_the_ladder_of_roles_and_the_server_admin() -> None:
    runner = Identity("r", "client", parse_grants("a:runner b:viewer"))
    get_a = execution_pb2.WorkflowExecutionGetRequest(id=EX)
    authorize(runner, "GetExecution", get_a)
    authorize(runner, "TerminateExecution", execution_pb2.ExecutionTerminateRequest(id=EX))
    with pytest.raises(PermissionDenied, match="admin role in project a"):
        authorize(runner, "CreateTask", task_pb2.TaskCreateRequest(id=TASK))
    other = identifier_pb2.WorkflowExecutionIdentifier(project="c", domain="development", name="e")
    with pytest.raises(PermissionDenied, match="viewer role in project c"):
        authorize(runner, "GetExecution", execution_pb2.WorkflowExecutionGetRequest(id=other))
    with pytest.raises(PermissionDenied, match="server-wide admin"):
        authorize(runner, "RegisterProject", project_pb2.ProjectRegisterRequest())
    admin = Identity("root", "client", parse_grants("*:admin"))
    authorize(admin, "RegisterProject", project_pb2.ProjectRegisterRequest())
    authorize(admin, "CreateTask", task_pb2.TaskCreateRequest(id=TASK))


def test_a_request_without_a_project_needs_the_server_admin() -> None:
    runner = Identity("r", "client", {"a": "admin"})
    with pytest.raises(PermissionDenied):
        authorize(runner, "GetExecution", execution_pb2.WorkflowExecutionGetRequest())


def test_principal_is_stamped_and_project_lists_are_filtered() -> None:
    who = Identity("alice", "user", {"a": "runner"})
    request = execution_pb2.ExecutionCreateRequest(project="a", domain="development")
    request.spec.metadata.principal = "placeholder"
    before_call(who, "CreateExecution", request)
    assert request.spec.metadata.principal == "alice"
    listed = project_pb2.Projects(projects=[project_pb2.Project(id="a"), project_pb2.Project(id="b")])
    assert [p.id for p in after_call(who, "ListProjects", listed).projects] == ["a"]


def test_grants_are_validated() -> None:
    assert parse_grants(["a:viewer", "*:admin"]) == {"a": "viewer", "*": "admin"}
    for bad in ("a", "a:owner", ":admin"):
        with pytest.raises(ValueError, match="invalid grant"):
            parse_grants(bad)

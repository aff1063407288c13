"""List filters, sorting and paging over gRPC and over the HTTP gateway, and their errors."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import httpx
import pytest
from flyteidl.admin import common_pb2, task_pb2
from flyteidl.core import identifier_pb2, interface_pb2, tasks_pb2, types_pb2
from google.protobuf import json_format

from tests.integration.conftest import Server
from tests.support.clients import admin_stub

PROJECT, DOMAIN = "flytesnacks", "development"


def make_task(name: str, version: str, image: str = "python:3.11") -> task_pb2.TaskCreateRequest:
    ident = identifier_pb2.Identifier(
        resource_type=identifier_pb2.TASK, project=PROJECT, domain=DOMAIN, name=name, version=version
    )
    int_type = types_pb2.LiteralType(simple=types_pb2.INTEGER)
    template = tasks_pb2.TaskTemplate(
        id=ident,
        type="python-task",
        metadata=tasks_pb2.TaskMetadata(
            runtime=tasks_pb2.RuntimeMetadata(type=tasks_pb2.RuntimeMetadata.FLYTE_SDK, version="1.16.0")
        ),
        interface=interface_pb2.TypedInterface(
            inputs=interface_pb2.VariableMap(variables={"x": interface_pb2.Variable(type=int_type)}),
            outputs=interface_pb2.VariableMap(variables={"o0": interface_pb2.Variable(type=int_type)}),
        ),
        container=tasks_pb2.Container(image=image, args=["pyflyte-execute", "--inputs", "{{.input}}"]),
    )
    return task_pb2.TaskCreateRequest(id=ident, spec=task_pb2.TaskSpec(template=template))


@pytest.fixture(scope="module")
def catalog(server: Server) -> Iterator[tuple[Server, str]]:
    """Ten tasks named f-<tag>-<i % 3> in versions v0..v9 (ordered creation)."""
    tag = server.backend + "x"
    with admin_stub(server.grpc) as stub:
        for i in range(10):
            stub.CreateTask(make_task(f"f-{tag}-{i % 3}", f"v{i}"))
    yield server, tag


def grpc_list(server: Server, filters: str, name: str = "", **kw: object) -> list[tuple[str, str]]:
    with admin_stub(server.grpc) as stub:
        request = common_pb2.ResourceListRequest(
            id=common_pb2.NamedEntityIdentifier(project=PROJECT, domain=DOMAIN, name=name),
            limit=100,
            filters=filters,
            **kw,
        )
        return [(t.id.name, t.id.version) for t in stub.ListTasks(request).tasks]


def http_list(server: Server, filters: str, **params: str) -> list[tuple[str, str]]:
    response = httpx.get(
        f"{server.http}/api/v1/tasks/{PROJECT}/{DOMAIN}", params={"limit": "100", "filters": filters, **params}
    )
    assert response.status_code == 200, response.text
    return [(t["id"]["name"], t["id"]["version"]) for t in response.json().get("tasks", [])]


CASES = [
    ("eq(name,f-{t}-0)", {("0", v) for v in ("v0", "v3", "v6", "v9")}),
    ("eq(name,f-{t}-1)+ne(version,v1)", {("1", "v4"), ("1", "v7")}),
    ("contains(name,f-{t}-2)+gt(version,v5)", {("2", "v8")}),
    ("contains(name,f-{t}-2)+gte(version,v5)", {("2", "v5"), ("2", "v8")}),
    ("contains(name,f-{t}-)+lt(version,v2)", {("0", "v0"), ("1", "v1")}),
    ("contains(name,f-{t}-)+lte(version,v2)", {("0", "v0"), ("1", "v1"), ("2", "v2")}),
    ("contains(name,f-{t}-)+value_in(version,v1;v2;v9)", {("1", "v1"), ("2", "v2"), ("0", "v9")}),
    ("eq(task.name,f-{t}-0)+value_not_in(version,v0;v3)", {("0", "v6"), ("0", "v9")}),
]


@pytest.mark.parametrize(("filters", "expected"), CASES, ids=[c[0].split("(")[0] + str(i) for i, c in enumerate(CASES)])
def test_filter_functions_grpc_and_http(
    catalog: tuple[Server, str], filters: str, expected: set[tuple[str, str]]
) -> None:
    server, tag = catalog
    text = filters.format(t=tag)
    want = {(f"f-{tag}-{n}", v) for n, v in expected}
    assert set(grpc_list(server, text)) == want
    assert set(http_list(server, text)) == want


def test_sort_and_token_paging(catalog: tuple[Server, str]) -> None:
    server, tag = catalog
    sort = common_pb2.Sort(key="version", direction=common_pb2.Sort.ASCENDING)
    with admin_stub(server.grpc) as stub:
        versions, token = [], ""
        while True:
            page = stub.ListTasks(
                common_pb2.ResourceListRequest(
                    id=common_pb2.NamedEntityIdentifier(project=PROJECT, domain=DOMAIN),
                    limit=4,
                    token=token,
                    filters=f"contains(name,f-{tag}-)",
                    sort_by=sort,
                )
            )
            versions += [t.id.version for t in page.tasks]
            token = page.token
            if not token:
                break
    assert versions == [f"v{i}" for i in range(10)]


@pytest.mark.parametrize(
    ("filters", "sort_key", "message"),
    [
        ("eq(name)", "", "invalid value for filters"),
        ("like(name,x)", "", "unrecognized filter function: like"),
        ("eq(nonsense,x)", "", "'t.nonsense' is invalid filter"),
        ("eq(workflow.name,x)", "", "'w' entity is not allowed in filters"),
        ("", "bogus", "invalid sort key 'bogus'"),
    ],
)
def test_bad_list_requests_are_invalid_argument(server: Server, filters: str, sort_key: str, message: str) -> None:
    kw = {"sort_by": common_pb2.Sort(key=sort_key)} if sort_key else {}
    with pytest.raises(grpc.RpcError) as err:
        grpc_list(server, filters, **kw)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in err.value.details()
    params = {"sort_by.key": sort_key} if sort_key else {}
    response = httpx.get(
        f"{server.http}/api/v1/tasks/{PROJECT}/{DOMAIN}", params={"limit": "10", "filters": filters, **params}
    )
    assert response.status_code == 400
    assert message in response.json()["message"]


def test_launch_plan_filters_join_the_workflow(server: Server) -> None:
    with admin_stub(server.grpc) as stub, pytest.raises(grpc.RpcError) as err:
        stub.ListLaunchPlans(
            common_pb2.ResourceListRequest(
                id=common_pb2.NamedEntityIdentifier(project=PROJECT, domain=DOMAIN),
                limit=5,
                filters="eq(workflow.nonsense,x)",
            )
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "'w.nonsense' is invalid filter" in err.value.details()


def test_http_get_task_equals_grpc(catalog: tuple[Server, str]) -> None:
    server, tag = catalog
    ident = identifier_pb2.Identifier(
        resource_type=identifier_pb2.TASK, project=PROJECT, domain=DOMAIN, name=f"f-{tag}-0", version="v0"
    )
    with admin_stub(server.grpc) as stub:
        expected = stub.GetTask(common_pb2.ObjectGetRequest(id=ident))
    response = httpx.get(f"{server.http}/api/v1/tasks/{PROJECT}/{DOMAIN}/f-{tag}-0/v0")
    assert response.status_code == 200, response.text
    assert json_format.ParseDict(response.json(), task_pb2.Task(), ignore_unknown_fields=False) == expected


def test_missing_task_is_not_found_on_both_transports(server: Server) -> None:
    ident = identifier_pb2.Identifier(
        resource_type=identifier_pb2.TASK, project=PROJECT, domain=DOMAIN, name="nope", version="v0"
    )
    with admin_stub(server.grpc) as stub, pytest.raises(grpc.RpcError) as err:
        stub.GetTask(common_pb2.ObjectGetRequest(id=ident))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert "missing entity of type TASK" in err.value.details()
    response = httpx.get(f"{server.http}/api/v1/tasks/{PROJECT}/{DOMAIN}/nope/v0")
    assert response.status_code == 404

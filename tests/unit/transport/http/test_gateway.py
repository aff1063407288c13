"""The generated gateway: a route per HTTP rule, request decoding, JSON out, grpc-gateway error mapping."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from flyteidl.admin import common_pb2, project_pb2, version_pb2
from flyteidl.service import admin_pb2

from aerodrome.errors import NotFound
from aerodrome.transport.http.app import build_http_app
from aerodrome.transport.http.gateway import bindings


class Servicer:
    """A real, tiny servicer: records what it was asked."""

    def __init__(self) -> None:
        self.seen: list[Any] = []

    async def GetVersion(self, request: version_pb2.GetVersionRequest, context: Any) -> version_pb2.GetVersionResponse:
        return version_pb2.GetVersionResponse(control_plane_version=version_pb2.Version(Version="v1"))

    async def ListProjects(self, request: project_pb2.ProjectListRequest, context: Any) -> project_pb2.Projects:
        self.seen.append(request)
        return project_pb2.Projects(projects=[project_pb2.Project(id="p", name="P")])

    async def UpdateProject(self, request: project_pb2.Project, context: Any) -> project_pb2.ProjectUpdateResponse:
        self.seen.append(request)
        return project_pb2.ProjectUpdateResponse()

    async def GetTask(self, request: common_pb2.ObjectGetRequest, context: Any) -> Any:
        raise NotFound(f'missing entity of type TASK with identifier name:"{request.id.name}"')

    async def ListTasks(self, request: common_pb2.ResourceListRequest, context: Any) -> Any:
        raise ZeroDivisionError("a bug")


def call(method: str, url: str, **kw: Any) -> tuple[Servicer, httpx.Response]:
    servicer = Servicer()
    app = build_http_app({"flyteidl.service.AdminService": servicer})

    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            return await client.request(method, url, **kw)

    return servicer, asyncio.run(go())


def test_every_admin_rule_has_a_route() -> None:
    service = admin_pb2.DESCRIPTOR.services_by_name["AdminService"]
    routed = {b.method.name for b in bindings({"flyteidl.service.AdminService": object()})}
    assert routed == {m.name for m in service.methods}


def test_query_and_body_decoding_and_json_out() -> None:
    servicer, response = call(
        "GET", "/api/v1/projects", params={"limit": "5", "sort_by.key": "name", "sort_by.direction": "ASCENDING"}
    )
    assert response.status_code == 200
    assert response.json()["projects"][0]["id"] == "p"
    request = servicer.seen[0]
    assert (request.limit, request.sort_by.key, request.sort_by.direction) == (5, "name", 1)
    servicer, response = call("PUT", "/api/v1/projects/abc", json={"name": "New", "labels": {"values": {"a": "b"}}})
    assert response.status_code == 200
    assert servicer.seen[0].id == "abc" and servicer.seen[0].labels.values["a"] == "b"


def test_errors_map_like_grpc_gateway() -> None:
    _, response = call("GET", "/api/v1/tasks/p/d/n/v")
    assert response.status_code == 404 and response.json()["code"] == 5
    _, response = call("GET", "/api/v1/tasks/p/d", params={"limit": "x"})
    assert response.status_code == 400
    _, response = call("GET", "/api/v1/tasks/p/d")
    assert response.status_code == 500 and "request id" in response.json()["message"]
    assert "Traceback" not in response.text
    _, response = call("GET", "/api/v1/workflows/p/d/n/v")
    assert response.status_code == 501 and response.json()["code"] == 12
    _, response = call("PUT", "/api/v1/projects/abc", content=b"{not json")
    assert response.status_code == 400
    _, response = call("GET", "/healthz")
    assert response.json() == {"status": "ok"}

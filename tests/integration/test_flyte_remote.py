"""FlyteRemote against the running server: fetch, list by token, launch-plan state, named entities, projects."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flyteidl.admin import common_pb2
from flyteidl.core import identifier_pb2
from flytekit import LaunchPlan, task, workflow
from flytekit.configuration import Config, ImageConfig, SerializationSettings
from flytekit.models.common import NamedEntityIdentifier
from flytekit.models.core.identifier import ResourceType
from flytekit.models.launch_plan import LaunchPlanState
from flytekit.models.named_entity import NamedEntityMetadata, NamedEntityState
from flytekit.models.project import Project
from flytekit.remote import FlyteRemote

from tests.integration.conftest import Server
from tests.support.clients import admin_stub

PROJECT, DOMAIN = "flytesnacks", "development"


@task
def square(x: int) -> int:
    return x * x


@task
def negate(x: int) -> int:
    return -x


@workflow
def square_then_negate(x: int = 3) -> int:
    return negate(x=square(x=x))


def settings() -> SerializationSettings:
    """Fresh settings per registration: flytekit writes the version into the object it is given."""
    return SerializationSettings(image_config=ImageConfig.auto_default_image(), project=PROJECT, domain=DOMAIN)


@pytest.fixture
def remote(server: Server) -> Iterator[FlyteRemote]:
    yield FlyteRemote(Config.for_endpoint(server.grpc, insecure=True), default_project=PROJECT, default_domain=DOMAIN)


def test_fetch_registered_entities(remote: FlyteRemote, unique: str) -> None:
    version = f"v{unique}"
    remote.register_workflow(square_then_negate, settings(), version=version)

    fetched_task = remote.fetch_task(name=square.name, version=version)
    assert fetched_task.id.version == version
    assert fetched_task.interface.inputs["x"] is not None

    wf = remote.fetch_workflow(name=square_then_negate.name, version=version)
    assert {t.id.name for t in wf.flyte_tasks} == {square.name, negate.name}
    stored = remote.client.get_workflow(wf.id).closure.compiled_workflow
    assert {"start-node", "end-node"} <= {n.id for n in stored.primary.template.nodes}
    assert {t.template.id.name for t in stored.tasks} == {square.name, negate.name}

    lp = remote.fetch_launch_plan(name=square_then_negate.name, version=version)
    assert lp.workflow_id.name == square_then_negate.name
    assert remote.fetch_active_launchplan(name=square_then_negate.name) is None


def test_activation_deactivates_previous_version(remote: FlyteRemote, unique: str) -> None:
    name = f"lp_{unique}"
    plan = LaunchPlan.get_or_create(square_then_negate, name=name, default_inputs={"x": 4})
    for version in ("v1", "v2"):
        remote.register_launch_plan(plan, version=f"{version}-{unique}", serialization_settings=settings())
    client = remote.client
    ident = remote.fetch_launch_plan(name=name, version=f"v1-{unique}").id
    client.update_launch_plan(ident, LaunchPlanState.ACTIVE)
    assert remote.fetch_active_launchplan(name=name).id.version == f"v1-{unique}"

    v2 = remote.fetch_launch_plan(name=name, version=f"v2-{unique}").id
    client.update_launch_plan(v2, LaunchPlanState.ACTIVE)
    assert remote.fetch_active_launchplan(name=name).id.version == f"v2-{unique}"
    assert client.get_launch_plan(ident).closure.state == LaunchPlanState.INACTIVE


def test_list_paginated_walks_to_the_end(remote: FlyteRemote, unique: str) -> None:
    @task
    def paged(x: int) -> int:
        return x

    versions = [f"p{i}-{unique}" for i in range(7)]
    for version in versions:
        remote.register_task(paged, settings(), version=version)
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        tasks, token = remote.client.list_tasks_paginated(
            NamedEntityIdentifier(PROJECT, DOMAIN, paged.name), limit=3, token=token
        )
        seen += [t.id.version for t in tasks]
        pages += 1
        if not token:
            break
    assert sorted(seen) == sorted(versions)
    assert pages == 3


def test_named_entity_archive_and_projects(server: Server, remote: FlyteRemote, unique: str) -> None:
    remote.register_task(square, settings(), version=f"ne-{unique}")
    entity_id = NamedEntityIdentifier(PROJECT, DOMAIN, square.name)
    remote.client.update_named_entity(
        ResourceType.TASK, entity_id, NamedEntityMetadata("archived by test", NamedEntityState.ARCHIVED)
    )
    with admin_stub(server.grpc) as stub:
        entity = stub.GetNamedEntity(
            common_pb2.NamedEntityGetRequest(resource_type=identifier_pb2.TASK, id=entity_id.to_flyte_idl())
        )
        assert entity.metadata.state == common_pb2.NAMED_ENTITY_ARCHIVED
        assert entity.metadata.description == "archived by test"
        listed = stub.ListNamedEntities(
            common_pb2.NamedEntityListRequest(
                resource_type=identifier_pb2.TASK, project=PROJECT, domain=DOMAIN, limit=1000, filters="eq(state,1)"
            )
        )
        assert square.name in {e.id.name for e in listed.entities}

    project_id = f"proj-{unique}"
    remote.client.register_project(Project(project_id, "Test project", "made by a test"))
    listed = {p.id for p in remote.client.list_projects_paginated(limit=1000)[0]}
    assert {project_id, PROJECT} <= listed
    assert [d.id for d in remote.client.get_domains()] == ["development", "staging", "production"]

"""Matchable attributes at each level, description entities and name listings over gRPC."""

from __future__ import annotations

import grpc
import pytest
from flyteidl.admin import common_pb2, description_entity_pb2
from flyteidl.admin import matchable_resource_pb2 as mr
from flyteidl.admin import project_domain_attributes_pb2 as pda
from flyteidl.admin import workflow_attributes_pb2 as wa
from flyteidl.core import identifier_pb2

from tests.integration.conftest import Server
from tests.integration.test_lists_and_filters import DOMAIN, PROJECT, make_task
from tests.support.clients import admin_stub


def queue(*tags: str) -> mr.MatchingAttributes:
    return mr.MatchingAttributes(execution_queue_attributes=mr.ExecutionQueueAttributes(tags=list(tags)))


def test_most_specific_level_wins_and_delete(server: Server, unique: str) -> None:
    workflow = f"wf-{unique}"
    with admin_stub(server.grpc) as stub:
        stub.UpdateProjectDomainAttributes(
            pda.ProjectDomainAttributesUpdateRequest(
                attributes=pda.ProjectDomainAttributes(project=PROJECT, domain=DOMAIN, matching_attributes=queue("pd"))
            )
        )
        stub.UpdateWorkflowAttributes(
            wa.WorkflowAttributesUpdateRequest(
                attributes=wa.WorkflowAttributes(
                    project=PROJECT, domain=DOMAIN, workflow=workflow, matching_attributes=queue("wf", unique)
                )
            )
        )
        got = stub.GetWorkflowAttributes(
            wa.WorkflowAttributesGetRequest(
                project=PROJECT, domain=DOMAIN, workflow=workflow, resource_type=mr.EXECUTION_QUEUE
            )
        )
        assert list(got.attributes.matching_attributes.execution_queue_attributes.tags) == ["wf", unique]
        other = stub.GetWorkflowAttributes(
            wa.WorkflowAttributesGetRequest(
                project=PROJECT, domain=DOMAIN, workflow=f"other-{unique}", resource_type=mr.EXECUTION_QUEUE
            )
        )
        assert list(other.attributes.matching_attributes.execution_queue_attributes.tags) == ["pd"]
        listed = stub.ListMatchableAttributes(mr.ListMatchableAttributesRequest(resource_type=mr.EXECUTION_QUEUE))
        assert workflow in {c.workflow for c in listed.configurations}

        stub.DeleteWorkflowAttributes(
            wa.WorkflowAttributesDeleteRequest(
                project=PROJECT, domain=DOMAIN, workflow=workflow, resource_type=mr.EXECUTION_QUEUE
            )
        )
        with pytest.raises(grpc.RpcError) as err:
            stub.DeleteWorkflowAttributes(
                wa.WorkflowAttributesDeleteRequest(
                    project=PROJECT, domain=DOMAIN, workflow=workflow, resource_type=mr.EXECUTION_QUEUE
                )
            )
        assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_attribute_validation(server: Server) -> None:
    with admin_stub(server.grpc) as stub:
        with pytest.raises(grpc.RpcError) as err:
            stub.UpdateProjectDomainAttributes(
                pda.ProjectDomainAttributesUpdateRequest(
                    attributes=pda.ProjectDomainAttributes(project=PROJECT, domain=DOMAIN)
                )
            )
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "missing matching_attributes" in err.value.details()
        with pytest.raises(grpc.RpcError) as err:
            stub.UpdateProjectDomainAttributes(
                pda.ProjectDomainAttributesUpdateRequest(
                    attributes=pda.ProjectDomainAttributes(
                        project="ghost", domain=DOMAIN, matching_attributes=queue("x")
                    )
                )
            )
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "project [ghost]" in err.value.details()


def test_description_entities_and_ids(server: Server, unique: str) -> None:
    request = make_task(f"described-{unique}", "v1")
    request.spec.description.short_description = "adds things"
    request.spec.description.long_description.value = "A longer story."
    request.spec.description.source_code.link = "https://example.com/src"
    ident = identifier_pb2.Identifier(
        resource_type=identifier_pb2.TASK, project=PROJECT, domain=DOMAIN, name=f"described-{unique}", version="v1"
    )
    with admin_stub(server.grpc) as stub:
        stub.CreateTask(request)
        entity = stub.GetDescriptionEntity(common_pb2.ObjectGetRequest(id=ident))
        assert entity.short_description == "adds things"
        assert entity.long_description.value == "A longer story."
        assert entity.source_code.link == "https://example.com/src"
        listed = stub.ListDescriptionEntities(
            description_entity_pb2.DescriptionEntityListRequest(
                resource_type=identifier_pb2.TASK,
                id=common_pb2.NamedEntityIdentifier(project=PROJECT, domain=DOMAIN, name=f"described-{unique}"),
                limit=10,
            )
        )
        assert [e.id.version for e in listed.descriptionEntities] == ["v1"]
        task = stub.GetTask(common_pb2.ObjectGetRequest(id=ident))
        assert task.short_description == "adds things"
        ids = stub.ListTaskIds(
            common_pb2.NamedEntityIdentifierListRequest(
                project=PROJECT, domain=DOMAIN, limit=10000, filters=f"eq(name,described-{unique})"
            )
        )
        assert [e.name for e in ids.entities] == [f"described-{unique}"]

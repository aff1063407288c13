"""AdminService: each method decodes nothing itself and calls exactly one manager method.

Failures are raised as ``AdminError`` and mapped to a status once, by the interceptor in ``errors.py``.
Execution and event methods live in ``admin_executions.py``; methods not implemented at all are left to
the generated base class, which the interceptor answers with UNIMPLEMENTED.
"""

from __future__ import annotations

from typing import Any

from flyteidl.admin import (
    common_pb2,
    description_entity_pb2,
    launch_plan_pb2,
    matchable_resource_pb2,
    project_attributes_pb2,
    project_domain_attributes_pb2,
    project_pb2,
    task_pb2,
    version_pb2,
    workflow_attributes_pb2,
    workflow_pb2,
)
from flyteidl.service import admin_pb2_grpc

from aerodrome.managers.attributes import PROJECT_DOMAIN, WORKFLOW, Target
from aerodrome.managers.container import Managers
from aerodrome.transport.grpc.admin_executions import ExecutionMethods

Context = Any


class AdminServicer(ExecutionMethods, admin_pb2_grpc.AdminServiceServicer):  # type: ignore[misc]
    """The registry half of FlyteAdmin's AdminService."""

    def __init__(self, managers: Managers) -> None:
        self.m = managers

    # Tasks
    async def CreateTask(self, request: task_pb2.TaskCreateRequest, context: Context) -> task_pb2.TaskCreateResponse:
        return await self.m.tasks.create(request)

    async def GetTask(self, request: common_pb2.ObjectGetRequest, context: Context) -> task_pb2.Task:
        return await self.m.tasks.get(request)

    async def ListTasks(self, request: common_pb2.ResourceListRequest, context: Context) -> task_pb2.TaskList:
        return await self.m.tasks.list(request)

    async def ListTaskIds(
        self, request: common_pb2.NamedEntityIdentifierListRequest, context: Context
    ) -> common_pb2.NamedEntityIdentifierList:
        return await self.m.tasks.list_ids(request)

    # Workflows
    async def CreateWorkflow(
        self, request: workflow_pb2.WorkflowCreateRequest, context: Context
    ) -> workflow_pb2.WorkflowCreateResponse:
        return await self.m.workflows.create(request)

    async def GetWorkflow(self, request: common_pb2.ObjectGetRequest, context: Context) -> workflow_pb2.Workflow:
        return await self.m.workflows.get(request)

    async def ListWorkflows(
        self, request: common_pb2.ResourceListRequest, context: Context
    ) -> workflow_pb2.WorkflowList:
        return await self.m.workflows.list(request)

    async def ListWorkflowIds(
        self, request: common_pb2.NamedEntityIdentifierListRequest, context: Context
    ) -> common_pb2.NamedEntityIdentifierList:
        return await self.m.workflows.list_ids(request)

    # Launch plans
    async def CreateLaunchPlan(
        self, request: launch_plan_pb2.LaunchPlanCreateRequest, context: Context
    ) -> launch_plan_pb2.LaunchPlanCreateResponse:
        return await self.m.launch_plans.create(request)

    async def GetLaunchPlan(self, request: common_pb2.ObjectGetRequest, context: Context) -> launch_plan_pb2.LaunchPlan:
        return await self.m.launch_plans.get(request)

    async def GetActiveLaunchPlan(
        self, request: launch_plan_pb2.ActiveLaunchPlanRequest, context: Context
    ) -> launch_plan_pb2.LaunchPlan:
        return await self.m.launch_plans.get_active(request)

    async def ListActiveLaunchPlans(
        self, request: launch_plan_pb2.ActiveLaunchPlanListRequest, context: Context
    ) -> launch_plan_pb2.LaunchPlanList:
        return await self.m.launch_plans.list_active(request)

    async def ListLaunchPlans(
        self, request: common_pb2.ResourceListRequest, context: Context
    ) -> launch_plan_pb2.LaunchPlanList:
        return await self.m.launch_plans.list(request)

    async def ListLaunchPlanIds(
        self, request: common_pb2.NamedEntityIdentifierListRequest, context: Context
    ) -> common_pb2.NamedEntityIdentifierList:
        return await self.m.launch_plans.list_ids(request)

    async def UpdateLaunchPlan(
        self, request: launch_plan_pb2.LaunchPlanUpdateRequest, context: Context
    ) -> launch_plan_pb2.LaunchPlanUpdateResponse:
        return await self.m.launch_plans.update(request)

    # Projects and domains
    async def RegisterProject(
        self, request: project_pb2.ProjectRegisterRequest, context: Context
    ) -> project_pb2.ProjectRegisterResponse:
        return await self.m.projects.register(request)

    async def UpdateProject(self, request: project_pb2.Project, context: Context) -> project_pb2.ProjectUpdateResponse:
        return await self.m.projects.update(request)

    async def GetProject(self, request: project_pb2.ProjectGetRequest, context: Context) -> project_pb2.Project:
        return await self.m.projects.get(request)

    async def ListProjects(self, request: project_pb2.ProjectListRequest, context: Context) -> project_pb2.Projects:
        return await self.m.projects.list(request)

    async def GetDomains(
        self, request: project_pb2.GetDomainRequest, context: Context
    ) -> project_pb2.GetDomainsResponse:
        return self.m.projects.get_domains()

    # Named entities and descriptions
    async def GetNamedEntity(
        self, request: common_pb2.NamedEntityGetRequest, context: Context
    ) -> common_pb2.NamedEntity:
        return await self.m.named_entities.get(request)

    async def UpdateNamedEntity(
        self, request: common_pb2.NamedEntityUpdateRequest, context: Context
    ) -> common_pb2.NamedEntityUpdateResponse:
        return await self.m.named_entities.update(request)

    async def ListNamedEntities(
        self, request: common_pb2.NamedEntityListRequest, context: Context
    ) -> common_pb2.NamedEntityList:
        return await self.m.named_entities.list(request)

    async def GetDescriptionEntity(
        self, request: common_pb2.ObjectGetRequest, context: Context
    ) -> description_entity_pb2.DescriptionEntity:
        return await self.m.descriptions.get(request)

    async def ListDescriptionEntities(
        self, request: description_entity_pb2.DescriptionEntityListRequest, context: Context
    ) -> description_entity_pb2.DescriptionEntityList:
        return await self.m.descriptions.list(request)

    # Matchable attributes
    async def UpdateProjectAttributes(
        self, request: project_attributes_pb2.ProjectAttributesUpdateRequest, context: Context
    ) -> project_attributes_pb2.ProjectAttributesUpdateResponse:
        a = request.attributes
        await self.m.attributes.update(Target(a.project), a.matching_attributes)
        return project_attributes_pb2.ProjectAttributesUpdateResponse()

    async def GetProjectAttributes(
        self, request: project_attributes_pb2.ProjectAttributesGetRequest, context: Context
    ) -> project_attributes_pb2.ProjectAttributesGetResponse:
        found = await self.m.attributes.get(Target(request.project), request.resource_type, exact=True)
        attributes = project_attributes_pb2.ProjectAttributes(project=request.project, matching_attributes=found)
        return project_attributes_pb2.ProjectAttributesGetResponse(attributes=attributes)

    async def DeleteProjectAttributes(
        self, request: project_attributes_pb2.ProjectAttributesDeleteRequest, context: Context
    ) -> project_attributes_pb2.ProjectAttributesDeleteResponse:
        await self.m.attributes.delete(Target(request.project), request.resource_type)
        return project_attributes_pb2.ProjectAttributesDeleteResponse()

    async def UpdateProjectDomainAttributes(
        self, request: project_domain_attributes_pb2.ProjectDomainAttributesUpdateRequest, context: Context
    ) -> project_domain_attributes_pb2.ProjectDomainAttributesUpdateResponse:
        a = request.attributes
        await self.m.attributes.update(Target(a.project, a.domain, level=PROJECT_DOMAIN), a.matching_attributes)
        return project_domain_attributes_pb2.ProjectDomainAttributesUpdateResponse()

    async def GetProjectDomainAttributes(
        self, request: project_domain_attributes_pb2.ProjectDomainAttributesGetRequest, context: Context
    ) -> project_domain_attributes_pb2.ProjectDomainAttributesGetResponse:
        found = await self.m.attributes.get(
            Target(request.project, request.domain, level=PROJECT_DOMAIN), request.resource_type
        )
        attributes = project_domain_attributes_pb2.ProjectDomainAttributes(
            project=request.project, domain=request.domain, matching_attributes=found
        )
        return project_domain_attributes_pb2.ProjectDomainAttributesGetResponse(attributes=attributes)

    async def DeleteProjectDomainAttributes(
        self, request: project_domain_attributes_pb2.ProjectDomainAttributesDeleteRequest, context: Context
    ) -> project_domain_attributes_pb2.ProjectDomainAttributesDeleteResponse:
        await self.m.attributes.delete(
            Target(request.project, request.domain, level=PROJECT_DOMAIN), request.resource_type
        )
        return project_domain_attributes_pb2.ProjectDomainAttributesDeleteResponse()

    async def UpdateWorkflowAttributes(
        self, request: workflow_attributes_pb2.WorkflowAttributesUpdateRequest, context: Context
    ) -> workflow_attributes_pb2.WorkflowAttributesUpdateResponse:
        a = request.attributes
        await self.m.attributes.update(Target(a.project, a.domain, a.workflow, level=WORKFLOW), a.matching_attributes)
        return workflow_attributes_pb2.WorkflowAttributesUpdateResponse()

    async def GetWorkflowAttributes(
        self, request: workflow_attributes_pb2.WorkflowAttributesGetRequest, context: Context
    ) -> workflow_attributes_pb2.WorkflowAttributesGetResponse:
        target = Target(request.project, request.domain, request.workflow, level=WORKFLOW)
        found = await self.m.attributes.get(target, request.resource_type)
        attributes = workflow_attributes_pb2.WorkflowAttributes(
            project=request.project,
            domain=request.domain,
            workflow=request.workflow,
            matching_attributes=found,
        )
        return workflow_attributes_pb2.WorkflowAttributesGetResponse(attributes=attributes)

    async def DeleteWorkflowAttributes(
        self, request: workflow_attributes_pb2.WorkflowAttributesDeleteRequest, context: Context
    ) -> workflow_attributes_pb2.WorkflowAttributesDeleteResponse:
        target = Target(request.project, request.domain, request.workflow, level=WORKFLOW)
        await self.m.attributes.delete(target, request.resource_type)
        return workflow_attributes_pb2.WorkflowAttributesDeleteResponse()

    async def ListMatchableAttributes(
        self, request: matchable_resource_pb2.ListMatchableAttributesRequest, context: Context
    ) -> matchable_resource_pb2.ListMatchableAttributesResponse:
        return await self.m.attributes.list(request)

    async def GetVersion(
        self, request: version_pb2.GetVersionRequest, context: Context
    ) -> version_pb2.GetVersionResponse:
        return self.m.version()

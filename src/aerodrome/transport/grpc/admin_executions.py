"""AdminService methods for executions, node and task executions and events (one manager call each)."""

from __future__ import annotations

from typing import Any

from flyteidl.admin import common_pb2, event_pb2, execution_pb2, node_execution_pb2, task_execution_pb2

from aerodrome.managers.container import Managers

Context = Any


class ExecutionMethods:
    """Mixed into AdminServicer; ``self.m`` is the managers bundle."""

    m: Managers

    async def CreateExecution(
        self, request: execution_pb2.ExecutionCreateRequest, context: Context
    ) -> execution_pb2.ExecutionCreateResponse:
        return await self.m.executions.create(request)

    async def RelaunchExecution(
        self, request: execution_pb2.ExecutionRelaunchRequest, context: Context
    ) -> execution_pb2.ExecutionCreateResponse:
        return await self.m.executions.relaunch(request)

    async def RecoverExecution(
        self, request: execution_pb2.ExecutionRecoverRequest, context: Context
    ) -> execution_pb2.ExecutionCreateResponse:
        return await self.m.executions.recover(request)

    async def GetExecution(
        self, request: execution_pb2.WorkflowExecutionGetRequest, context: Context
    ) -> execution_pb2.Execution:
        return await self.m.queries.get(request)

    async def UpdateExecution(
        self, request: execution_pb2.ExecutionUpdateRequest, context: Context
    ) -> execution_pb2.ExecutionUpdateResponse:
        return await self.m.executions.update(request)

    async def GetExecutionData(
        self, request: execution_pb2.WorkflowExecutionGetDataRequest, context: Context
    ) -> execution_pb2.WorkflowExecutionGetDataResponse:
        return await self.m.queries.get_data(request)

    async def ListExecutions(
        self, request: common_pb2.ResourceListRequest, context: Context
    ) -> execution_pb2.ExecutionList:
        return await self.m.queries.list(request)

    async def TerminateExecution(
        self, request: execution_pb2.ExecutionTerminateRequest, context: Context
    ) -> execution_pb2.ExecutionTerminateResponse:
        return await self.m.executions.terminate(request)

    async def GetExecutionMetrics(
        self, request: execution_pb2.WorkflowExecutionGetMetricsRequest, context: Context
    ) -> execution_pb2.WorkflowExecutionGetMetricsResponse:
        return await self.m.metrics.get(request)

    async def GetNodeExecution(
        self, request: node_execution_pb2.NodeExecutionGetRequest, context: Context
    ) -> node_execution_pb2.NodeExecution:
        return await self.m.queries.get_node(request)

    async def ListNodeExecutions(
        self, request: node_execution_pb2.NodeExecutionListRequest, context: Context
    ) -> node_execution_pb2.NodeExecutionList:
        return await self.m.queries.list_nodes(request)

    async def ListNodeExecutionsForTask(
        self, request: node_execution_pb2.NodeExecutionForTaskListRequest, context: Context
    ) -> node_execution_pb2.NodeExecutionList:
        return await self.m.queries.list_nodes_for_task(request)

    async def GetNodeExecutionData(
        self, request: node_execution_pb2.NodeExecutionGetDataRequest, context: Context
    ) -> node_execution_pb2.NodeExecutionGetDataResponse:
        return await self.m.queries.get_node_data(request)

    async def GetDynamicNodeWorkflow(
        self, request: node_execution_pb2.GetDynamicNodeWorkflowRequest, context: Context
    ) -> node_execution_pb2.DynamicNodeWorkflowResponse:
        return await self.m.queries.get_dynamic_workflow(request)

    async def GetTaskExecution(
        self, request: task_execution_pb2.TaskExecutionGetRequest, context: Context
    ) -> task_execution_pb2.TaskExecution:
        return await self.m.queries.get_task(request)

    async def ListTaskExecutions(
        self, request: task_execution_pb2.TaskExecutionListRequest, context: Context
    ) -> task_execution_pb2.TaskExecutionList:
        return await self.m.queries.list_tasks(request)

    async def GetTaskExecutionData(
        self, request: task_execution_pb2.TaskExecutionGetDataRequest, context: Context
    ) -> task_execution_pb2.TaskExecutionGetDataResponse:
        return await self.m.queries.get_task_data(request)

    async def CreateWorkflowEvent(
        self, request: event_pb2.WorkflowExecutionEventRequest, context: Context
    ) -> event_pb2.WorkflowExecutionEventResponse:
        return await self.m.events.record_workflow_event(request)

    async def CreateNodeEvent(
        self, request: event_pb2.NodeExecutionEventRequest, context: Context
    ) -> event_pb2.NodeExecutionEventResponse:
        return await self.m.events.record_node_event(request)

    async def CreateTaskEvent(
        self, request: event_pb2.TaskExecutionEventRequest, context: Context
    ) -> event_pb2.TaskExecutionEventResponse:
        return await self.m.events.record_task_event(request)

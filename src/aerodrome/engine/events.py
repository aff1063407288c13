"""Builders for the events the engine reports (as propeller would), and idempotent emission."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable
from typing import Any, cast

from flyteidl.admin import event_pb2 as admin_event_pb2
from flyteidl.core import execution_pb2, identifier_pb2
from flyteidl.event import event_pb2
from google.protobuf import struct_pb2, timestamp_pb2

from aerodrome.errors import AlreadyExists
from aerodrome.managers.events import EventManager

PRODUCER = "aerodrome"


def now() -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.GetCurrentTime()
    return ts


class Reporter:
    """Sends workflow, node and task events through the EventManager; duplicates count as delivered."""

    def __init__(self, events: EventManager, execution: identifier_pb2.WorkflowExecutionIdentifier) -> None:
        self.events = events
        self.execution = execution

    @staticmethod
    async def _deliver(call: Awaitable[Any]) -> None:
        with contextlib.suppress(AlreadyExists):
            await call

    async def workflow(self, phase: int, **fields: Any) -> None:
        event = event_pb2.WorkflowExecutionEvent(
            execution_id=self.execution, phase=cast(Any, phase), occurred_at=now(), producer_id=PRODUCER, **fields
        )
        await self._deliver(
            self.events.record_workflow_event(admin_event_pb2.WorkflowExecutionEventRequest(event=event))
        )

    def node_id(self, node_id: str) -> identifier_pb2.NodeExecutionIdentifier:
        return identifier_pb2.NodeExecutionIdentifier(node_id=node_id, execution_id=self.execution)

    async def node(self, node_id: str, phase: int, **fields: Any) -> None:
        fields.setdefault("spec_node_id", node_id)
        fields.setdefault("node_name", node_id)
        event = event_pb2.NodeExecutionEvent(
            id=self.node_id(node_id),
            phase=cast(Any, phase),
            occurred_at=now(),
            producer_id=PRODUCER,
            event_version=2,
            **fields,
        )
        await self._deliver(self.events.record_node_event(admin_event_pb2.NodeExecutionEventRequest(event=event)))

    async def task(
        self,
        node_id: str,
        task_id: identifier_pb2.Identifier,
        attempt: int,
        phase: int,
        *,
        usage: dict[str, float] | None = None,
        phase_version: int = 0,
        **fields: Any,
    ) -> None:
        event = event_pb2.TaskExecutionEvent(
            task_id=task_id,
            parent_node_execution_id=self.node_id(node_id),
            retry_attempt=attempt,
            phase=cast(Any, phase),
            producer_id=PRODUCER,
            occurred_at=now(),
            phase_version=phase_version,
            **fields,
        )
        if usage:
            info = struct_pb2.Struct()
            info.update(usage)
            event.custom_info.CopyFrom(info)
        await self._deliver(self.events.record_task_event(admin_event_pb2.TaskExecutionEventRequest(event=event)))


def error(code: str, message: str, *, user: bool = False) -> execution_pb2.ExecutionError:
    kind = execution_pb2.ExecutionError.USER if user else execution_pb2.ExecutionError.SYSTEM
    return execution_pb2.ExecutionError(code=code, message=message, kind=kind)

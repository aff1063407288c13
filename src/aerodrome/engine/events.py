"""Builders for the events the engine reports (as propeller would), and idempotent emission."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, cast

from flyteidl.admin import event_pb2 as admin_event_pb2
from flyteidl.core import execution_pb2, identifier_pb2
from flyteidl.event import event_pb2
from google.protobuf import struct_pb2, timestamp_pb2

from aerodrome.db.engine import is_disconnect
from aerodrome.errors import AlreadyExists
from aerodrome.managers.events import EventManager

PRODUCER = "aerodrome"
RETRY_SECONDS = (0.5, 1.0, 2.0, 2.0, 4.0, 4.0, 8.0, 8.0)  # about 30 s: a database restart, not an outage
log = logging.getLogger("aerodrome.engine")


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
    async def _deliver(call: Callable[[], Awaitable[Any]]) -> None:
        """Record one event; while the database is unreachable (a restart) retry for a while, so a short
        outage delays the execution instead of failing it."""
        for wait in RETRY_SECONDS:
            try:
                with contextlib.suppress(AlreadyExists):
                    await call()
                return
            except Exception as exc:
                if not is_disconnect(exc):
                    raise
                log.warning("recording an event failed (%s); retrying in %.1f s", exc, wait)
                await asyncio.sleep(wait)
        with contextlib.suppress(AlreadyExists):
            await call()

    async def workflow(self, phase: int, **fields: Any) -> None:
        event = event_pb2.WorkflowExecutionEvent(
            execution_id=self.execution, phase=cast(Any, phase), occurred_at=now(), producer_id=PRODUCER, **fields
        )
        request = admin_event_pb2.WorkflowExecutionEventRequest(event=event)
        await self._deliver(lambda: self.events.record_workflow_event(request))

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
        request = admin_event_pb2.NodeExecutionEventRequest(event=event)
        await self._deliver(lambda: self.events.record_node_event(request))

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
        request = admin_event_pb2.TaskExecutionEventRequest(event=event)
        await self._deliver(lambda: self.events.record_task_event(request))


def error(code: str, message: str, *, user: bool = False) -> execution_pb2.ExecutionError:
    kind = execution_pb2.ExecutionError.USER if user else execution_pb2.ExecutionError.SYSTEM
    return execution_pb2.ExecutionError(code=code, message=message, kind=kind)

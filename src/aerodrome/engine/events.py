"""Builders for the events the engine reports (as propeller would), and idempotent emission."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

from flyteidl.admin import event_pb2 as admin_event_pb2
from flyteidl.core import execution_pb2, identifier_pb2, literals_pb2, types_pb2
from flyteidl.event import event_pb2
from google.protobuf import struct_pb2, timestamp_pb2

from aerodrome.db.engine import is_disconnect
from aerodrome.errors import AlreadyExists
from aerodrome.managers.events import EventManager, EventRequest

PRODUCER = "aerodrome"
NEXT = "next"  # ``hold=NEXT``: held for the next event of any node (see Reporter)
_ANY = "*"  # the key of events held for any node
RETRY_SECONDS = (0.5, 1.0, 2.0, 2.0, 4.0, 4.0, 8.0, 8.0)  # about 30 s: a database restart, not an outage
log = logging.getLogger("aerodrome.engine")


def now() -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.GetCurrentTime()
    return ts


class Reporter:
    """Sends workflow, node and task events through the EventManager; duplicates count as delivered.

    An event sent with ``hold=True`` is not sent alone: it goes with the next event of its node (or, for a
    workflow event, of any node), in the same transaction, so a node's RUNNING and its first attempt's
    RUNNING, or an attempt's SUCCEEDED and its node's, cost one commit. Only events that another event of
    the same node always follows at once are held; a held event is durable no sooner than that one.

    A node's end may be held for its *successor* (``hold=NEXT``): it goes, with the node's own held events,
    with the next event of any node, so in a chain a node's SUCCEEDED and the next node's RUNNING cost one
    commit instead of two. The graph loop sends them itself (``flush_next``) when no node starts after them.
    """

    def __init__(self, events: EventManager, execution: identifier_pb2.WorkflowExecutionIdentifier) -> None:
        self.events = events
        self.execution = execution
        self._held: list[tuple[str, EventRequest]] = []  # (node id, "" for the workflow) in the order sent

    async def _send(
        self, key: str | None, request: EventRequest, *, hold: bool | str = False, yield_to_abort: bool = False
    ) -> None:
        """Hold the event, or deliver it after the held events of its node, of the workflow and those held
        for any node (all held events, for a workflow event: ``key`` None)."""
        if hold == NEXT:  # the node's held events go with it, in their order
            self._held = [(_ANY if k == key else k, r) for k, r in self._held] + [(_ANY, request)]
            return
        if hold:
            self._held.append((key or "", request))
            return
        going = [r for k, r in self._held if key is None or k in ("", _ANY, key)]
        self._held = [(k, r) for k, r in self._held if not (key is None or k in ("", _ANY, key))]
        await self._deliver([*going, request], yield_to_abort)

    async def _deliver(self, requests: list[EventRequest], yield_to_abort: bool = False) -> None:
        """Record events in order; while the database is unreachable (a restart) retry for a while, so a
        short outage delays the execution instead of failing it."""
        for wait in [*RETRY_SECONDS, None]:
            outcomes = await self.events.record_many(requests, yield_to_abort=yield_to_abort)
            failed = [(r, e) for r, e in zip(requests, outcomes, strict=True) if e and not isinstance(e, AlreadyExists)]
            if not failed:
                return
            exc = failed[0][1]
            if wait is None or not is_disconnect(exc):
                raise exc
            log.warning("recording an event failed (%s); retrying in %.1f s", exc, wait)
            await asyncio.sleep(wait)
            requests = [r for r, _ in failed]

    async def workflow(self, phase: int, *, hold: bool = False, final: bool = False, **fields: Any) -> None:
        """A workflow event; ``final`` marks the engine's own end of the run, which yields to an abort
        recorded before it (``AbortRequested``)."""
        event = event_pb2.WorkflowExecutionEvent(
            execution_id=self.execution, phase=cast(Any, phase), occurred_at=now(), producer_id=PRODUCER, **fields
        )
        request = admin_event_pb2.WorkflowExecutionEventRequest(event=event)
        await self._send("" if hold else None, request, hold=hold, yield_to_abort=final)

    def node_id(self, node_id: str) -> identifier_pb2.NodeExecutionIdentifier:
        return identifier_pb2.NodeExecutionIdentifier(node_id=node_id, execution_id=self.execution)

    async def node(self, node_id: str, phase: int, *, hold: bool | str = False, **fields: Any) -> None:
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
        await self._send(node_id, admin_event_pb2.NodeExecutionEventRequest(event=event), hold=hold)

    async def flush(self, node_id: str) -> None:
        """Deliver the held events of a node (before it waits for something that may take long)."""
        going = [r for k, r in self._held if k in ("", _ANY, node_id)]
        if going:
            self._held = [(k, r) for k, r in self._held if k not in ("", _ANY, node_id)]
            await self._deliver(going)

    async def flush_next(self) -> None:
        """Deliver the events held for the next node (``hold=NEXT``) when none is about to send one."""
        if any(k == _ANY for k, _ in self._held):
            await self.flush(_ANY)

    async def settle_ends(self) -> None:
        """Deliver the node ends held for a successor that will now never start (the execution is being
        aborted): those nodes did finish, and their records must say so. Whatever else is held (a workflow
        event) is dropped with the run, since the caller reports the workflow's end itself."""
        going = [r for k, r in self._held if k == _ANY]
        self._held = []
        if going:
            await self._deliver(going)

    async def task(
        self,
        node_id: str,
        task_id: identifier_pb2.Identifier,
        attempt: int,
        phase: int,
        *,
        usage: dict[str, float] | None = None,
        phase_version: int = 0,
        hold: bool = False,
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
        await self._send(node_id, admin_event_pb2.TaskExecutionEventRequest(event=event), hold=hold)


def error(code: str, message: str, *, user: bool = False) -> execution_pb2.ExecutionError:
    kind = execution_pb2.ExecutionError.USER if user else execution_pb2.ExecutionError.SYSTEM
    return execution_pb2.ExecutionError(code=code, message=message, kind=kind)


def error_literal(failure: Any) -> literals_pb2.Literal:
    """The ``err`` input of a failure node: the workflow's error as a FlyteError union."""
    return literals_pb2.Literal(
        scalar=literals_pb2.Scalar(
            union=literals_pb2.Union(
                value=literals_pb2.Literal(
                    scalar=literals_pb2.Scalar(error=types_pb2.Error(message=failure.message, failed_node_id=""))
                ),
                type=types_pb2.LiteralType(simple=types_pb2.ERROR, structure=types_pb2.TypeStructure(tag="FlyteError")),
            )
        )
    )

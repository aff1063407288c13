"""EventManager: the one write path for execution, node-execution and task-execution phases.

It serves CreateWorkflowEvent, CreateNodeEvent and CreateTaskEvent, and the engine calls the same
methods, so the transition rules (``aerodrome.phases``) run once, for everyone. Each event is checked
against the stored record, applied to the record's closure (``event_rows.py``), and appended to the event
log, in one transaction (``event_units.py``); events arriving together share that transaction (group
commit, ``event_writer.py``), and a caller is answered only once its event is durable.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from flyteidl.admin import event_pb2 as admin_event_pb2

from aerodrome.blobstore.store import BlobStore
from aerodrome.db.engine import Database
from aerodrome.db.repositories.event_records import Key
from aerodrome.managers.event_units import EventUnits, Recorded, Unit
from aerodrome.managers.event_writer import EventWriter
from aerodrome.notifications.outbox import Outbox

__all__ = ["EventManager", "EventRequest", "Recorded", "Watcher"]

log = logging.getLogger("aerodrome.events")
EventRequest = (
    admin_event_pb2.WorkflowExecutionEventRequest
    | admin_event_pb2.NodeExecutionEventRequest
    | admin_event_pb2.TaskExecutionEventRequest
)
Watcher = Callable[[Recorded], None]


def _execution_of(request: EventRequest) -> Key:
    """The execution an event changes (and its unit locks)."""
    if isinstance(request, admin_event_pb2.WorkflowExecutionEventRequest):
        ident = request.event.execution_id
    elif isinstance(request, admin_event_pb2.NodeExecutionEventRequest):
        ident = request.event.id.execution_id
    else:
        ident = request.event.parent_node_execution_id.execution_id
    return (ident.project, ident.domain, ident.name)


class EventManager(EventUnits):
    """Records events; ``max_inline_bytes`` bounds inline event data as the reference does (2 MiB)."""

    def __init__(
        self,
        db: Database,
        store: BlobStore,
        *,
        max_inline_bytes: int = 2 * 1024 * 1024,
        outbox: Outbox | None = None,
    ) -> None:
        super().__init__(store, max_inline_bytes, outbox)
        self.db = db
        # In-process watchers (live console pages, dispatcher wake-ups, launch-plan nodes following their
        # child) told of each committed event. They must be quick and must not raise: the event is already
        # stored when they run.
        self.watchers: list[Watcher] = []
        self.writer: EventWriter[Recorded] = EventWriter(db, self.tell)

    def watch(self, watcher: Watcher) -> Callable[[], None]:
        """Call ``watcher`` after every committed event; returns the function that stops it."""
        self.watchers.append(watcher)
        return lambda: self.watchers.remove(watcher)

    def tell(self, recorded: Recorded) -> None:
        """Hand a committed event to the watchers."""
        for watcher in list(self.watchers):
            try:
                watcher(recorded)
            except Exception:  # a watcher's bug must not turn a stored event into an error for its sender
                log.exception("event watcher failed")

    # Entry points ----------------------------------------------------------------------------------

    async def record_workflow_event(
        self, request: admin_event_pb2.WorkflowExecutionEventRequest
    ) -> admin_event_pb2.WorkflowExecutionEventResponse:
        await self.writer.write(await self._workflow_unit(request), _execution_of(request))
        return admin_event_pb2.WorkflowExecutionEventResponse()

    async def record_node_event(
        self, request: admin_event_pb2.NodeExecutionEventRequest
    ) -> admin_event_pb2.NodeExecutionEventResponse:
        await self.writer.write(await self._node_unit(request), _execution_of(request))
        return admin_event_pb2.NodeExecutionEventResponse()

    async def record_task_event(
        self, request: admin_event_pb2.TaskExecutionEventRequest
    ) -> admin_event_pb2.TaskExecutionEventResponse:
        await self.writer.write(await self._task_unit(request), _execution_of(request))
        return admin_event_pb2.TaskExecutionEventResponse()

    async def record_many(
        self, requests: Sequence[EventRequest], *, yield_to_abort: bool = False
    ) -> list[Exception | None]:
        """Record several events in order, in one transaction as a rule (the engine's node RUNNING with its
        first attempt's RUNNING, an attempt's end with its node's); each gets its own outcome, in order:
        None once durable, else the error recording it alone would have raised. ``yield_to_abort``: a
        workflow end other than ABORTED is refused (``AbortRequested``) on an execution already ABORTING."""
        outcomes: list[Exception | None] = [None] * len(requests)
        units: list[tuple[int, Unit]] = []
        for i, request in enumerate(requests):
            try:
                units.append((i, await self._unit_of(request, yield_to_abort)))
            except Exception as exc:
                outcomes[i] = exc
        locks = [_execution_of(requests[i]) for i, _ in units]
        done = self.writer.submit([unit for _, unit in units], locks)
        results = await asyncio.gather(*done, return_exceptions=True)
        for (i, _), result in zip(units, results, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, Exception):
                    raise result
                outcomes[i] = result
        return outcomes

    async def _unit_of(self, request: EventRequest, yield_to_abort: bool = False) -> Unit:
        if isinstance(request, admin_event_pb2.WorkflowExecutionEventRequest):
            return await self._workflow_unit(request, yield_to_abort)
        if isinstance(request, admin_event_pb2.NodeExecutionEventRequest):
            return await self._node_unit(request)
        return await self._task_unit(request)

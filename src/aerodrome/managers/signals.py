"""Signals: the values gate nodes wait for (approve/reject, wait_for_input).

A gate node creates its signal with the declared type (GetOrCreateSignal) and waits for its value
(``wait``): SetSignal in this process wakes it at once; a value set through another process sharing the
database (PostgreSQL) is seen by a read-only poll once a second. Users set a signal once with SetSignal. The
value is type-checked against the declared type. Setting the same value again is accepted (clients retry), a
different value once set is refused: the gate may already have acted on the first one.
"""

from __future__ import annotations

import asyncio
import contextlib

from flyteidl.admin import signal_pb2
from flyteidl.core import identifier_pb2, literals_pb2, types_pb2

from aerodrome.compiler import is_castable, literal_type_of
from aerodrome.compiler.types import describe
from aerodrome.db.engine import Database
from aerodrome.db.models import SignalRow
from aerodrome.db.pagination import next_token, page
from aerodrome.db.prototext import compact
from aerodrome.db.repositories.runtime import SIGNAL_COLUMNS
from aerodrome.errors import AlreadyExists, InvalidArgument, NotFound, missing


def _validate_id(ident: identifier_pb2.SignalIdentifier, present: bool) -> None:
    if not present:
        raise missing("id")
    if not ident.HasField("execution_id"):
        raise missing("execution_id")
    ex = ident.execution_id
    for field, value in (("project", ex.project), ("domain", ex.domain), ("name", ex.name)):
        if not value:
            raise missing(field)
    if not ident.signal_id:
        raise missing("signal_id")


def _key(ident: identifier_pb2.SignalIdentifier) -> tuple[str, str, str, str]:
    ex = ident.execution_id
    return (ex.project, ex.domain, ex.name, ident.signal_id)


def _signal(row: SignalRow) -> signal_pb2.Signal:
    signal = signal_pb2.Signal(
        id=identifier_pb2.SignalIdentifier(
            signal_id=row.signal_id,
            execution_id=identifier_pb2.WorkflowExecutionIdentifier(
                project=row.execution_project, domain=row.execution_domain, name=row.execution_name
            ),
        ),
        type=types_pb2.LiteralType.FromString(row.type),
    )
    if row.value is not None:
        signal.value.CopyFrom(literals_pb2.Literal.FromString(row.value))
    return signal


class SignalManager:
    """GetOrCreateSignal, ListSignals, SetSignal."""

    def __init__(self, db: Database, *, poll_seconds: float | None = None) -> None:
        self.db = db
        # SQLite has one process, so every SetSignal wakes its gate here: the poll is only a safety net.
        # Processes sharing PostgreSQL see each other's values by a read-only poll once a second.
        self.poll_seconds = poll_seconds if poll_seconds is not None else 30.0 if db.is_sqlite else 1.0
        self._waiters: dict[tuple[str, str, str, str], set[asyncio.Event]] = {}

    async def wait(self, request: signal_pb2.SignalGetOrCreateRequest) -> literals_pb2.Literal:
        """Create the signal if needed, then wait until it has a value: no per-waiter polling of the database
        while the value is set in this process (many gates may wait at once)."""
        signal = await self.get_or_create(request)
        key = _key(request.id)
        woken = asyncio.Event()
        self._waiters.setdefault(key, set()).add(woken)
        try:
            while not signal.HasField("value"):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(woken.wait(), self.poll_seconds)
                woken.clear()
                async with self.db.transaction() as uow:
                    row = await uow.signals.find(request.id)
                if row is not None:
                    signal = _signal(row)
            return signal.value
        finally:
            waiting = self._waiters.get(key)
            if waiting is not None:
                waiting.discard(woken)
                if not waiting:
                    del self._waiters[key]

    async def get_or_create(self, request: signal_pb2.SignalGetOrCreateRequest) -> signal_pb2.Signal:
        _validate_id(request.id, request.HasField("id"))
        if not request.HasField("type"):
            raise missing("type")
        type_bytes = request.type.SerializeToString(deterministic=True)
        async with self.db.transaction(write=True) as uow:
            row = await uow.signals.find(request.id)
            if row is None:
                ex = request.id.execution_id
                row = SignalRow(
                    execution_project=ex.project,
                    execution_domain=ex.domain,
                    execution_name=ex.name,
                    signal_id=request.id.signal_id,
                    type=type_bytes,
                )
                await uow.signals.add(row)
            elif row.type != type_bytes:
                raise AlreadyExists(
                    f"signal [{compact(request.id)}] already exists with type "
                    f"{describe(types_pb2.LiteralType.FromString(row.type))}, not {describe(request.type)}"
                )
            return _signal(row)

    async def list(self, request: signal_pb2.SignalListRequest) -> signal_pb2.SignalList:
        if not request.HasField("workflow_execution_id") or not request.workflow_execution_id.name:
            raise missing("execution_id")
        paging = page(
            request.token,
            request.limit,
            "ListSignals",
            request.sort_by if request.HasField("sort_by") else None,
            SIGNAL_COLUMNS,
        )
        async with self.db.transaction() as uow:
            rows = await uow.signals.list_rows(request.workflow_execution_id, request.filters, paging)
            signals = [_signal(r) for r in rows]
        return signal_pb2.SignalList(signals=signals, token=next_token(paging.offset, paging.limit, len(signals)))

    async def set(self, request: signal_pb2.SignalSetRequest) -> signal_pb2.SignalSetResponse:
        _validate_id(request.id, request.HasField("id"))
        if not request.HasField("value"):
            raise missing("value")
        given = literal_type_of(request.value)
        value_bytes = request.value.SerializeToString(deterministic=True)
        async with self.db.transaction(write=True) as uow:
            row = await uow.signals.find(request.id)
            if row is None:
                raise NotFound(
                    f"signal [{compact(request.id)}] does not exist: the gate node that waits for it has not "
                    "started yet (retry once the execution reaches it)"
                )
            declared = types_pb2.LiteralType.FromString(row.type)
            if not is_castable(given, declared):
                raise InvalidArgument(
                    f"requested signal value of type {describe(given)} is not castable to the signal's type "
                    f"{describe(declared)}"
                )
            if row.value is not None and row.value != value_bytes:
                raise AlreadyExists(f"signal [{compact(request.id)}] is already set; a signal can be set only once")
            row.value = value_bytes
        for woken in self._waiters.get(_key(request.id), ()):
            woken.set()
        return signal_pb2.SignalSetResponse()

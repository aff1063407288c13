"""Plain records of the execution, node-execution and task-execution rows as the event path reads and writes
them: the same column names as the ORM models (so ``event_rows.py`` edits either), without ORM state.

Why not the models: an event batch loads a few rows, edits them and writes them back, and the ORM's share of
that (identity map, attribute instrumentation, the unit of work's flush) cost more CPU than the statements
(``db/compiled.py``). ``EventRecords`` selects exactly these columns and writes the changed records back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

Loader = Callable[[int, str], bytes]
"""Loads one deferred column (``spec`` or ``closure``) of the execution with that id."""


class ExecutionView(Protocol):
    """What the outbox and templates read of an execution: an ``ExecutionRow`` or an ``ExecutionRecord``."""

    @property
    def execution_project(self) -> str: ...
    @property
    def execution_domain(self) -> str: ...
    @property
    def execution_name(self) -> str: ...
    @property
    def spec(self) -> bytes: ...
    @property
    def closure(self) -> bytes: ...


class ExecutionRecord:
    """An execution as an event batch holds it (locked on PostgreSQL). ``spec`` and ``closure`` are loaded
    when first read unless selected with the row (workflow events change the closure; the outbox reads
    both)."""

    COLUMNS = (
        "id",
        "execution_project",
        "execution_domain",
        "execution_name",
        "phase",
        "started_at",
        "execution_updated_at",
        "duration",
        "error_kind",
        "error_code",
    )
    __slots__ = (*COLUMNS, "_closure", "_spec", "_load")

    def __init__(self, values: tuple[object, ...], load: Loader, closure: bytes | None = None) -> None:
        for name, value in zip(self.COLUMNS, values, strict=True):
            setattr(self, name, value)
        self._closure: bytes | None = closure
        self._spec: bytes | None = None
        self._load = load

    id: int
    execution_project: str
    execution_domain: str
    execution_name: str
    phase: str
    started_at: datetime | None
    execution_updated_at: datetime
    duration: int
    error_kind: str | None
    error_code: str | None

    @property
    def closure(self) -> bytes:
        if self._closure is None:
            self._closure = self._load(self.id, "closure")
        return self._closure

    @closure.setter
    def closure(self, value: bytes) -> None:
        self._closure = value

    @property
    def spec(self) -> bytes:
        if self._spec is None:
            self._spec = self._load(self.id, "spec")
        return self._spec


@dataclass(slots=True, eq=False)
class NodeRecord:
    """A node execution's columns that events read or change (the rest keep their defaults)."""

    id: int | None
    execution_id: int
    execution_project: str
    execution_domain: str
    execution_name: str
    node_id: str
    phase: str
    input_uri: str
    closure: bytes
    started_at: datetime | None
    node_execution_created_at: datetime
    node_execution_updated_at: datetime
    duration: int
    node_execution_metadata: bytes
    parent_id: int | None
    parent_task_execution_id: int | None
    error_kind: str | None
    error_code: str | None
    cache_status: str | None
    dynamic_workflow_remote_closure_reference: str


@dataclass(slots=True, eq=False)
class TaskRecord:
    """A task execution's (an attempt's) columns that events read or change."""

    id: int | None
    node_execution_id: int
    project: str
    domain: str
    name: str
    version: str
    execution_project: str
    execution_domain: str
    execution_name: str
    node_id: str
    retry_attempt: int
    phase: str
    phase_version: int
    input_uri: str
    closure: bytes
    started_at: datetime | None
    task_execution_created_at: datetime
    task_execution_updated_at: datetime
    duration: int


NODE_COLUMNS = tuple(NodeRecord.__dataclass_fields__)
TASK_COLUMNS = tuple(TaskRecord.__dataclass_fields__)
# Written back when an event changed a record (every column an event may change, and the row timestamp).
NODE_CHANGES = (
    "phase",
    "input_uri",
    "closure",
    "started_at",
    "node_execution_updated_at",
    "duration",
    "node_execution_metadata",
    "error_kind",
    "error_code",
    "cache_status",
    "dynamic_workflow_remote_closure_reference",
    "updated_at",
)
TASK_CHANGES = (
    "phase",
    "phase_version",
    "input_uri",
    "closure",
    "started_at",
    "task_execution_updated_at",
    "duration",
    "updated_at",
)
EXECUTION_CHANGES = (
    "phase",
    "closure",
    "started_at",
    "execution_updated_at",
    "duration",
    "error_kind",
    "error_code",
    "updated_at",
)

"""The log of one task attempt, read from the blob store for the console (tail first, whole on request)."""

from __future__ import annotations

from dataclasses import dataclass

from flyteidl.core import identifier_pb2

from aerodrome.blobstore.store import BlobStore
from aerodrome.db.engine import Database
from aerodrome.db.transformers.executions import task_execution_from_row
from aerodrome.errors import NotFound


@dataclass(frozen=True)
class TaskLog:
    """Text of a log (decoded leniently), whether it was cut to its tail, and the full size in bytes."""

    text: str
    truncated: bool
    size: int
    uri: str


class TaskLogReader:
    """Only logs named by a recorded task execution are readable (never an arbitrary URI from a request)."""

    def __init__(self, db: Database, store: BlobStore) -> None:
        self.db = db
        self.store = store

    async def read(
        self, node: identifier_pb2.NodeExecutionIdentifier, retry_attempt: int, *, tail_bytes: int | None
    ) -> TaskLog:
        async with self.db.transaction() as uow:
            node_row = await uow.node_executions.get(node)
            row = await uow.task_executions.attempt(node_row.id, retry_attempt)
        if row is None:
            raise NotFound(f"node {node.node_id} has no attempt {retry_attempt}")
        logs = task_execution_from_row(row).closure.logs
        if not logs or not logs[0].uri:
            raise NotFound(f"attempt {retry_attempt} of node {node.node_id} has no log (yet)")
        uri = logs[0].uri
        if not await self.store.exists(uri):
            raise NotFound(f"the log of attempt {retry_attempt} of node {node.node_id} is gone from the blob store")
        data = await self.store.read_bytes(uri)
        truncated = tail_bytes is not None and len(data) > tail_bytes
        shown = data[-tail_bytes:] if tail_bytes is not None and truncated else data
        return TaskLog(shown.decode("utf-8", errors="replace"), truncated, len(data), uri)

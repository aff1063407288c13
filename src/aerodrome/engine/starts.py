"""What a drive starts from (the execution row, its stored node and task executions), read for a whole batch of
claimed executions at once.

Why: a claim takes every execution that arrived since the last one (a burst of creations arrives as one
claim), and each drive used to read its own records in a read transaction of three statements. On SQLite every
statement is a hop to the driver's thread, which cost about as much CPU as the SQL itself; the drives of one
claim now share one read of three statements, whatever their number. The read happens after the claim
committed (the leases are held), as each drive's own read did, so what a drive sees is the same: a resumed
execution's nodes and attempts, a new one's none.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aerodrome.db.engine import Database
from aerodrome.db.models import ExecutionRow, NodeExecutionRow, TaskExecutionRow
from aerodrome.errors import NotFound

MAX_BATCH = 256


@dataclass
class Stored:
    """An execution's row and what was recorded of its nodes and attempts."""

    row: ExecutionRow
    nodes: list[NodeExecutionRow] = field(default_factory=list)
    tasks: list[TaskExecutionRow] = field(default_factory=list)


def _settle(waiter: asyncio.Future[Stored], result: Stored | None, exc: BaseException | None) -> None:
    if waiter.done():  # the drive was cancelled meanwhile
        return
    if exc is not None:
        waiter.set_exception(exc)
    else:
        assert result is not None
        waiter.set_result(result)


class StartLoads:
    """Group loads: every drive that asks while a read is pending or running shares the next read."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._waiting: dict[int, list[asyncio.Future[Stored]]] = {}
        self._reader: asyncio.Task[None] | None = None

    async def load(self, row_id: int) -> Stored:
        """The records of execution row ``row_id``, read with those of the other drives starting now."""
        waiter: asyncio.Future[Stored] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(row_id, []).append(waiter)
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._drain(), name="execution loads")
        return await waiter

    async def _drain(self) -> None:
        while self._waiting:
            ids = list(self._waiting)[:MAX_BATCH]
            batch = {row_id: self._waiting.pop(row_id) for row_id in ids}
            try:
                found = await self._read(ids)
            except Exception as exc:  # every drive of the batch hears of it (and handles it as its own read's)
                for waiters in batch.values():
                    for waiter in waiters:
                        _settle(waiter, None, exc)
                continue
            for row_id, waiters in batch.items():
                stored = found.get(row_id)
                missing = NotFound(f"missing entity of type execution with row id {row_id}") if stored is None else None
                for waiter in waiters:
                    _settle(waiter, stored, missing)

    async def _read(self, ids: list[int]) -> dict[int, Stored]:
        async with self.db.transaction() as uow:
            rows = await uow.executions.by_ids(ids)
            nodes = await uow.node_executions.for_executions(ids)
            tasks = await uow.task_executions.for_node_executions([n.id for n in nodes]) if nodes else []
        found = {row_id: Stored(row) for row_id, row in rows.items()}
        of_node: dict[int, Stored] = {}
        for node in nodes:
            found[node.execution_id].nodes.append(node)
            of_node[node.id] = found[node.execution_id]
        for task in tasks:
            of_node[task.node_execution_id].tasks.append(task)
        return found

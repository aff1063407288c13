"""The aerodrome processes sharing this database, as ``aerodrome status`` and ``GET /api/v1/processes``
show them: what each drives, how many task processes it runs, how old its last heartbeat is."""

from __future__ import annotations

from typing import Any

from aerodrome.db.engine import Database


class ProcessManager:
    """Reads the engine process rows; a process is live while its heartbeat is younger than a lease."""

    def __init__(self, db: Database, *, ttl_seconds: float) -> None:
        self.db = db
        self.ttl_seconds = ttl_seconds

    async def list(self, *, include_stale: bool = False) -> list[dict[str, Any]]:
        async with self.db.transaction() as uow:
            now = await uow.leases.db_time()
            rows = await uow.processes.all()
        shown = []
        for row in rows:
            age = max((now - row.heartbeat_at).total_seconds(), 0.0)
            live = age <= self.ttl_seconds
            if not live and not include_stale:
                continue
            shown.append(
                {
                    "owner": row.owner,
                    "host": row.host,
                    "pid": row.pid,
                    "version": row.version,
                    "started_at": row.started_at.isoformat(),
                    "heartbeat_age_seconds": round(age, 1),
                    "live": live,
                    "executions": row.executions,
                    "task_processes": row.task_processes,
                    "max_executions": row.max_executions,
                }
            )
        return shown

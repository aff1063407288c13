"""What ``aerodrome schedules list`` and ``GET /api/v1/schedules`` show: every active schedule with its
version, cadence, last fire, next fire and the phase of the last fire's execution."""

from __future__ import annotations

from typing import Any

from flyteidl.admin import launch_plan_pb2, schedule_pb2

from aerodrome.db.engine import Database
from aerodrome.scheduler.schedules import fire_name


def describe(schedule: schedule_pb2.Schedule) -> str:
    """The schedule as a user wrote it: the cron expression or ``every N UNIT``."""
    expression = schedule.cron_schedule.schedule or schedule.cron_expression
    if expression:
        offset = schedule.cron_schedule.offset
        return f"{expression} (offset {offset})" if offset else expression
    unit = schedule_pb2.FixedRateUnit.Name(schedule.rate.unit).lower()
    return f"every {schedule.rate.value} {unit}"


class ScheduleQueries:
    """Read-only view of the schedules table for the CLI and the HTTP API."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def list(self, project: str = "", domain: str = "") -> list[dict[str, Any]]:
        shown: list[dict[str, Any]] = []
        async with self.db.transaction() as uow:
            for row, plan in await uow.schedules.listing():
                if (project and row.project != project) or (domain and row.domain != domain):
                    continue
                schedule = launch_plan_pb2.LaunchPlanSpec.FromString(plan.spec).entity_metadata.schedule
                last_name = fire_name(row.project, row.domain, row.name, row.last_fire_at) if row.last_fire_at else ""
                shown.append(
                    {
                        "project": row.project,
                        "domain": row.domain,
                        "name": row.name,
                        "version": plan.version,
                        "schedule": describe(schedule),
                        "kickoff_time_input_arg": schedule.kickoff_time_input_arg,
                        "active_since": row.anchor_at.isoformat(),
                        "last_fire_at": row.last_fire_at.isoformat() if row.last_fire_at else None,
                        "next_fire_at": row.next_fire_at.isoformat() if row.next_fire_at else None,
                        "last_execution": last_name or None,
                        "last_phase": (await uow.schedules.phase_of(row.project, row.domain, last_name))
                        if last_name
                        else None,
                    }
                )
        return shown

"""The scheduler service against a real SQLite database, driven by a clock the test moves: catch-up
policies, deactivation, version switches and the fire names (no sleeping, no server)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from flyteidl.admin import launch_plan_pb2, schedule_pb2, workflow_pb2
from flyteidl.core import identifier_pb2, interface_pb2, types_pb2
from flyteidl.core import workflow_pb2 as core_wf
from google.protobuf import duration_pb2
from sqlalchemy import select

from aerodrome.db.models import ExecutionRow, LaunchPlanRow
from aerodrome.scheduler.schedules import fire_name
from aerodrome.scheduler.service import Scheduler
from aerodrome.settings import SchedulerSettings, Settings
from aerodrome.wiring import Services, build, prepare

P, D = "flytesnacks", "development"


def ident(kind: int, name: str, version: str = "v1") -> identifier_pb2.Identifier:
    return identifier_pb2.Identifier(resource_type=kind, project=P, domain=D, name=name, version=version)


def gate_workflow() -> workflow_pb2.WorkflowCreateRequest:
    """A ``run_at`` input and one zero-second sleep (no task process)."""
    template = core_wf.WorkflowTemplate(
        id=ident(identifier_pb2.WORKFLOW, "wf"),
        interface=interface_pb2.TypedInterface(
            inputs=interface_pb2.VariableMap(
                variables={"run_at": interface_pb2.Variable(type=types_pb2.LiteralType(simple=types_pb2.DATETIME))}
            ),
        ),
        nodes=[
            core_wf.Node(
                id="n0",
                gate_node=core_wf.GateNode(sleep=core_wf.SleepCondition(duration=duration_pb2.Duration())),
            )
        ],
    )
    return workflow_pb2.WorkflowCreateRequest(id=template.id, spec=workflow_pb2.WorkflowSpec(template=template))


@dataclass
class World:
    services: Services
    now: datetime

    def scheduler(self, **settings: object) -> Scheduler:
        return Scheduler(
            self.services.db,
            self.services.managers.executions,
            SchedulerSettings(**settings),  # type: ignore[arg-type]
            clock=lambda: self.now,
        )

    async def launch_plan(self, name: str, schedule: str, version: str = "v1", catch_up: str = "") -> None:
        spec = launch_plan_pb2.LaunchPlanSpec(workflow_id=ident(identifier_pb2.WORKFLOW, "wf"))
        spec.entity_metadata.schedule.CopyFrom(
            schedule_pb2.Schedule(
                cron_schedule=schedule_pb2.CronSchedule(schedule=schedule), kickoff_time_input_arg="run_at"
            )
        )
        if catch_up:
            spec.annotations.values["aerodrome/catch-up"] = catch_up
        await self.services.managers.launch_plans.create(
            launch_plan_pb2.LaunchPlanCreateRequest(id=ident(identifier_pb2.LAUNCH_PLAN, name, version), spec=spec)
        )

    async def set_state(self, name: str, state: int, version: str = "v1") -> None:
        await self.services.managers.launch_plans.update(
            launch_plan_pb2.LaunchPlanUpdateRequest(id=ident(identifier_pb2.LAUNCH_PLAN, name, version), state=state)
        )

    async def fired(self, name: str) -> list[tuple[datetime, str]]:
        """(scheduled_at, launch-plan version) of every scheduled execution of ``name``, by fire time."""
        query = (
            select(ExecutionRow, LaunchPlanRow)
            .join(LaunchPlanRow, LaunchPlanRow.id == ExecutionRow.launch_plan_id)
            .where(ExecutionRow.mode == 1, LaunchPlanRow.name == name)
            .order_by(ExecutionRow.scheduled_at)
        )
        async with self.services.db.transaction() as uow:
            rows = (await uow.session.execute(query)).all()
        for execution, _ in rows:
            assert execution.scheduled_at is not None
            assert execution.execution_name == fire_name(P, D, name, execution.scheduled_at)
        return [(e.scheduled_at, plan.version) for e, plan in rows]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    settings = Settings(home=tmp_path)
    settings.scheduler.enabled = False
    services = build(settings)
    await prepare(services)
    await services.managers.workflows.create(gate_workflow())
    try:
        yield World(services, datetime.now(UTC))
    finally:
        await services.engine.stop()
        await services.db.dispose()


async def test_catch_up_all_is_capped_to_the_latest_fires(world: World) -> None:
    await world.launch_plan("lp", "@every 10s")
    await world.set_state("lp", launch_plan_pb2.ACTIVE)
    start = world.now
    scheduler = world.scheduler(catch_up_cap=3)
    world.now = start + timedelta(seconds=95)  # nine fires missed
    await scheduler.tick()
    times = [t for t, _ in await world.fired("lp")]
    anchor = times[0] - timedelta(seconds=70)
    assert [round((t - anchor).total_seconds()) for t in times] == [70, 80, 90]
    await scheduler.tick()  # nothing due again: nothing fires twice
    assert len(await world.fired("lp")) == 3


@pytest.mark.parametrize(("policy", "expected"), [("latest", 1), ("none", 0)])
async def test_annotation_policies(world: World, policy: str, expected: int) -> None:
    await world.launch_plan("lp", "@every 10s", catch_up=policy)
    await world.set_state("lp", launch_plan_pb2.ACTIVE)
    scheduler = world.scheduler()
    world.now += timedelta(seconds=95)
    await scheduler.tick()
    assert len(await world.fired("lp")) == expected
    world.now += timedelta(seconds=6)  # the next fire (anchor + 100 s) is on time: every policy runs it
    await scheduler.tick()
    assert len(await world.fired("lp")) == expected + 1


async def test_deactivated_schedules_are_not_caught_up(world: World) -> None:
    await world.launch_plan("lp", "@every 10s")
    await world.set_state("lp", launch_plan_pb2.ACTIVE)
    await world.set_state("lp", launch_plan_pb2.INACTIVE)
    scheduler = world.scheduler()
    world.now += timedelta(seconds=60)
    await scheduler.tick()
    assert await world.fired("lp") == []


async def test_switching_versions_keeps_the_cadence(world: World) -> None:
    await world.launch_plan("lp", "@every 10s", "v1")
    await world.launch_plan("lp", "@every 10s", "v2")
    await world.set_state("lp", launch_plan_pb2.ACTIVE, "v1")
    scheduler = world.scheduler()
    world.now += timedelta(seconds=25)
    await scheduler.tick()
    await world.set_state("lp", launch_plan_pb2.ACTIVE, "v2")
    world.now += timedelta(seconds=20)
    await scheduler.tick()
    fired = await world.fired("lp")
    assert [v for _, v in fired] == ["v1", "v1", "v2", "v2"]
    assert [round((b - a).total_seconds()) for (a, _), (b, _) in pairwise(fired)] == [10, 10, 10]

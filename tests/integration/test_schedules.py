"""Schedules end to end: real ``pyflyte register`` / ``pyflyte launchplan --activate`` / FlyteRemote
activation, executions fired by the server's scheduler, version switches, refusals at registration."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC
from itertools import pairwise
from pathlib import Path

import grpc
import pytest
from flyteidl.admin import common_pb2, execution_pb2, launch_plan_pb2, schedule_pb2
from flyteidl.core import execution_pb2 as core_exec
from flyteidl.core import identifier_pb2
from flytekit.models.core.identifier import Identifier, ResourceType

from tests.integration.conftest import Server
from tests.support.clients import admin_stub, flyte_remote
from tests.support.projects import PYFLYTE, register_project
from tests.support.schedules import DOMAIN, PROJECT, Fired, scheduled, schedules_api, wait_for

PROJECT_DIR = Path(__file__).parent / "projects" / "sched_app"
EVERY_SECOND = "sched.every_second"
EVERY_MINUTE = "sched.every_minute"


def per_second(address: str, template_version: str, name: str, version: str) -> None:
    """A launch plan ``name``/``version`` like sched.every_minute but firing ``@every 1s``."""
    with admin_stub(address) as stub:
        template = stub.GetLaunchPlan(common_pb2.ObjectGetRequest(id=lp_ident(EVERY_MINUTE, template_version)))
        spec = launch_plan_pb2.LaunchPlanSpec()
        spec.CopyFrom(template.spec)
        spec.entity_metadata.schedule.cron_schedule.schedule = "@every 1s"
        stub.CreateLaunchPlan(launch_plan_pb2.LaunchPlanCreateRequest(id=lp_ident(name, version), spec=spec))


@pytest.fixture(scope="module")
def registered(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    version = register_project(server, PROJECT_DIR, tmp_path_factory.mktemp("sched_app"))
    per_second(server.grpc, version, EVERY_SECOND, version)
    yield server, version


def lp_ident(name: str, version: str) -> identifier_pb2.Identifier:
    return identifier_pb2.Identifier(
        resource_type=identifier_pb2.LAUNCH_PLAN, project=PROJECT, domain=DOMAIN, name=name, version=version
    )


def set_state(server: Server, name: str, version: str, state: int) -> None:
    with admin_stub(server.grpc) as stub:
        stub.UpdateLaunchPlan(launch_plan_pb2.LaunchPlanUpdateRequest(id=lp_ident(name, version), state=state))


def assert_each_second_once(fired: list[Fired]) -> None:
    """Consecutive whole seconds, each exactly once (nothing lost, nothing doubled)."""
    times = [f.scheduled_at for f in fired]
    assert len(set(times)) == len(times), f"a fire time ran twice: {times}"
    assert all(t.microsecond == 0 for t in times)
    gaps = [(b - a).total_seconds() for a, b in pairwise(times)]
    assert gaps and all(g == 1.0 for g in gaps), f"fires lost: {times}"


def test_cron_fires_with_the_kickoff_time_until_deactivated(registered: tuple[Server, str]) -> None:
    server, version = registered
    result = subprocess.run(
        [PYFLYTE, "-c", str(server.config), "launchplan", "--activate", EVERY_SECOND, version],
        env=server.env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    with admin_stub(server.grpc) as stub:
        fired = wait_for(stub, EVERY_SECOND, 3)
        assert len(fired) >= 3
        listed = [s for s in schedules_api(server.http) if s["name"] == EVERY_SECOND]
        assert listed and listed[0]["version"] == version and listed[0]["schedule"] == "@every 1s"
        assert listed[0]["last_fire_at"] is not None and listed[0]["next_fire_at"] is not None
        cli = subprocess.run(
            [sys.executable, "-m", "aerodrome", "schedules", "list", "--url", server.http],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert cli.returncode == 0 and EVERY_SECOND in cli.stdout, cli.stderr

        flyte_remote(server.grpc).deactivate_launchplan(
            Identifier(ResourceType.LAUNCH_PLAN, PROJECT, DOMAIN, EVERY_SECOND, version)
        )
        time.sleep(2.5)  # a fire already under way when deactivation committed may still land
        stopped = scheduled(stub, EVERY_SECOND)
        time.sleep(2.5)
        assert scheduled(stub, EVERY_SECOND) == stopped, "fires after deactivation"
        assert not [s for s in schedules_api(server.http) if s["name"] == EVERY_SECOND]

        assert_each_second_once(stopped)
        assert all(f.version == version for f in stopped)
        for f in stopped[:3]:
            data = stub.GetExecutionData(
                execution_pb2.WorkflowExecutionGetDataRequest(
                    id=identifier_pb2.WorkflowExecutionIdentifier(project=PROJECT, domain=DOMAIN, name=f.name)
                )
            )
            kickoff = data.full_inputs.literals["run_at"].scalar.primitive.datetime.ToDatetime(UTC)
            assert kickoff == f.scheduled_at
        # the scheduled_at filter on ListExecutions
        second = stopped[1].scheduled_at.isoformat().replace("+00:00", "Z")
        assert [f.name for f in scheduled(stub, EVERY_SECOND, f"gte(scheduled_at,{second})")] == [
            f.name for f in stopped[1:]
        ]
        # the fires really run
        deadline = time.monotonic() + 90
        while scheduled(stub, EVERY_SECOND)[0].phase != core_exec.WorkflowExecution.SUCCEEDED:
            assert time.monotonic() < deadline, "the first scheduled execution never succeeded"
            time.sleep(0.5)


def test_activating_another_version_moves_the_schedule(registered: tuple[Server, str], unique: str) -> None:
    server, version = registered
    name = f"sched.switch_{unique}"
    per_second(server.grpc, version, name, "v1")
    per_second(server.grpc, version, name, "v2")
    remote = flyte_remote(server.grpc)
    remote.activate_launchplan(Identifier(ResourceType.LAUNCH_PLAN, PROJECT, DOMAIN, name, "v1"))
    with admin_stub(server.grpc) as stub:
        assert len(wait_for(stub, name, 3)) >= 3
        remote.activate_launchplan(Identifier(ResourceType.LAUNCH_PLAN, PROJECT, DOMAIN, name, "v2"))
        before = len(scheduled(stub, name))
        assert len(wait_for(stub, name, before + 3)) >= before + 3
        set_state(server, name, "v2", launch_plan_pb2.INACTIVE)
        time.sleep(1.5)
        fired = scheduled(stub, name)
        active = stub.ListActiveLaunchPlans(
            launch_plan_pb2.ActiveLaunchPlanListRequest(project=PROJECT, domain=DOMAIN, limit=1000)
        )
    assert name not in {lp.id.name for lp in active.launch_plans}
    assert_each_second_once(fired)
    versions = [f.version for f in fired]
    switch = versions.index("v2")
    assert set(versions[:switch]) == {"v1"} and set(versions[switch:]) == {"v2"}, versions


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        (
            schedule_pb2.Schedule(
                cron_schedule=schedule_pb2.CronSchedule(schedule="every day"), kickoff_time_input_arg="run_at"
            ),
            "Invalid cron expression: every day",
        ),
        (
            schedule_pb2.Schedule(
                cron_schedule=schedule_pb2.CronSchedule(schedule="0 0 31 2 *"), kickoff_time_input_arg="run_at"
            ),
            "Invalid cron expression: 0 0 31 2 *: invalid crontab string configuration",
        ),
        (
            schedule_pb2.Schedule(
                cron_schedule=schedule_pb2.CronSchedule(schedule="@hourly"), kickoff_time_input_arg="run_at"
            ),
            "Cannot create a schedule with a KickoffTimeInputArg that does not point to a free input. "
            "[run_at] is not free or does not exist.",
        ),
        (
            schedule_pb2.Schedule(
                cron_schedule=schedule_pb2.CronSchedule(schedule="@hourly", offset="soon"),
                kickoff_time_input_arg="run_at",
            ),
            "Invalid cron offset: soon",
        ),
        (
            schedule_pb2.Schedule(rate=schedule_pb2.FixedRate(value=5, unit=schedule_pb2.MINUTE)),
            "Cannot create a launch plan with a schedule if there is an unbound required input. [run_at] is required",
        ),
    ],
)
def test_bad_schedules_are_refused_at_registration(
    registered: tuple[Server, str], unique: str, schedule: schedule_pb2.Schedule, message: str
) -> None:
    server, version = registered
    with admin_stub(server.grpc) as stub:
        # a kickoff argument that names no free input needs a workflow without one: sched.rate_minute's
        source = "sched.rate_minute" if "not free" in message else EVERY_MINUTE
        template = stub.GetLaunchPlan(common_pb2.ObjectGetRequest(id=lp_ident(source, version)))
        spec = launch_plan_pb2.LaunchPlanSpec()
        spec.CopyFrom(template.spec)
        spec.entity_metadata.schedule.CopyFrom(schedule)
        with pytest.raises(grpc.RpcError) as caught:
            stub.CreateLaunchPlan(
                launch_plan_pb2.LaunchPlanCreateRequest(id=lp_ident(f"bad-{unique}", "v1"), spec=spec)
            )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in (caught.value.details() or "")

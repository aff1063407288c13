"""The CreateExecution request of a fire, and how the listing describes schedules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flyteidl.admin import execution_pb2, schedule_pb2
from flyteidl.core import identifier_pb2

from aerodrome.db.models import LaunchPlanRow
from aerodrome.scheduler.listing import describe
from aerodrome.scheduler.requests import fire_request
from aerodrome.scheduler.schedules import Cadence, fire_name

T = datetime(2026, 5, 4, 3, 2, 1, tzinfo=UTC)
PLAN = LaunchPlanRow(project="p", domain="d", name="lp", version="v7")


def test_a_fire_is_a_scheduled_execution_of_the_exact_version() -> None:
    request = fire_request(PLAN, Cadence(cron="* * * * *", kickoff_arg="run_at"), T)
    assert (request.project, request.domain, request.name) == ("p", "d", fire_name("p", "d", "lp", T))
    lp = request.spec.launch_plan
    assert (lp.resource_type, lp.name, lp.version) == (identifier_pb2.LAUNCH_PLAN, "lp", "v7")
    assert request.spec.metadata.mode == execution_pb2.ExecutionMetadata.SCHEDULED
    assert request.spec.metadata.scheduled_at.ToDatetime(UTC) == T
    assert request.inputs.literals["run_at"].scalar.primitive.datetime.ToDatetime(UTC) == T


def test_no_kickoff_argument_means_no_inputs() -> None:
    request = fire_request(PLAN, Cadence(interval=timedelta(minutes=1)), T)
    assert not request.inputs.literals


def test_describe() -> None:
    assert describe(schedule_pb2.Schedule(cron_schedule=schedule_pb2.CronSchedule(schedule="@daily"))) == "@daily"
    offset = schedule_pb2.Schedule(cron_schedule=schedule_pb2.CronSchedule(schedule="0 * * * *", offset="PT5M"))
    assert describe(offset) == "0 * * * * (offset PT5M)"
    rate = schedule_pb2.Schedule(rate=schedule_pb2.FixedRate(value=3, unit=schedule_pb2.HOUR))
    assert describe(rate) == "every 3 hour"
    assert describe(schedule_pb2.Schedule(cron_expression="*/5 * * * *")) == "*/5 * * * *"

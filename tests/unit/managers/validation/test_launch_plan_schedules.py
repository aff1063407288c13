"""Schedule checks at launch-plan registration that need no server: dates that never occur, offsets,
the catch-up annotation."""

from __future__ import annotations

import pytest
from flyteidl.admin import launch_plan_pb2, schedule_pb2
from flyteidl.core import interface_pb2

from aerodrome.errors import InvalidArgument
from aerodrome.managers.validation.launch_plans import validate_schedule, validate_spec

NO_INPUTS = interface_pb2.ParameterMap()


def cron(expression: str, offset: str = "") -> schedule_pb2.Schedule:
    return schedule_pb2.Schedule(cron_schedule=schedule_pb2.CronSchedule(schedule=expression, offset=offset))


@pytest.mark.parametrize("expression", ["0 0 31 2 *", "0 0 30 2 *"])
def test_dates_that_never_occur_are_refused(expression: str) -> None:
    with pytest.raises(InvalidArgument, match="invalid crontab string configuration"):
        validate_schedule(cron(expression), NO_INPUTS)


@pytest.mark.parametrize("expression", ["@every 10s", "@hourly", "0 0 29 2 *", "*/5 * * * *"])
def test_valid_expressions_pass(expression: str) -> None:
    validate_schedule(cron(expression), NO_INPUTS)
    validate_schedule(schedule_pb2.Schedule(cron_expression=expression), NO_INPUTS)


def test_offsets_must_be_iso_durations() -> None:
    validate_schedule(cron("@hourly", "PT5M"), NO_INPUTS)
    with pytest.raises(InvalidArgument, match="Invalid cron offset: 5 minutes"):
        validate_schedule(cron("@hourly", "5 minutes"), NO_INPUTS)


def test_catch_up_annotation_values() -> None:
    spec = launch_plan_pb2.LaunchPlanSpec()
    for value in ("all", "Latest", "none"):
        spec.annotations.values["aerodrome/catch-up"] = value
        validate_spec(spec)
    spec.annotations.values["aerodrome/catch-up"] = "some"
    with pytest.raises(InvalidArgument, match=r"invalid value \[some\] for annotation aerodrome/catch-up"):
        validate_spec(spec)

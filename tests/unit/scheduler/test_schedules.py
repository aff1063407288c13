"""Fire-time arithmetic, catch-up policies and fire names of the scheduler (pure, no clock, no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flyteidl.admin import schedule_pb2

from aerodrome.scheduler.schedules import (
    Cadence,
    ScheduleError,
    cadence_of,
    due,
    fire_name,
    fires,
    go_duration,
    next_fire,
    policy_of,
)

UTC_ZONE = ZoneInfo("UTC")
T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def cron(expression: str, offset: str = "", kickoff: str = "") -> schedule_pb2.Schedule:
    return schedule_pb2.Schedule(
        cron_schedule=schedule_pb2.CronSchedule(schedule=expression, offset=offset), kickoff_time_input_arg=kickoff
    )


def test_cron_descriptors_and_fields() -> None:
    hourly = cadence_of(cron("@hourly"))
    assert hourly is not None
    assert next_fire(hourly, T0, T0, UTC_ZONE) == T0 + timedelta(hours=1)
    every5 = cadence_of(cron("*/5 * * * *"))
    assert every5 is not None
    assert next_fire(every5, T0 + timedelta(seconds=1), T0, UTC_ZONE) == T0 + timedelta(minutes=5)
    daily = cadence_of(cron("@daily"))
    assert daily is not None and next_fire(daily, T0, T0, UTC_ZONE) == datetime(2026, 3, 2, tzinfo=UTC)


def test_every_counts_from_the_anchor_in_whole_seconds() -> None:
    cadence = cadence_of(cron("@every 1m30s"))
    assert cadence == Cadence(interval=timedelta(seconds=90))
    anchor = T0 + timedelta(microseconds=700)
    assert next_fire(cadence, anchor, anchor, UTC_ZONE) == T0 + timedelta(seconds=90)
    assert next_fire(cadence, T0 + timedelta(seconds=90), anchor, UTC_ZONE) == T0 + timedelta(seconds=180)
    assert go_duration("500ms") == timedelta(seconds=1)
    with pytest.raises(ScheduleError):
        go_duration("10 parsecs")


def test_fixed_rate_units() -> None:
    rate = cadence_of(schedule_pb2.Schedule(rate=schedule_pb2.FixedRate(value=10, unit=schedule_pb2.MINUTE)))
    assert rate is not None and rate.interval == timedelta(minutes=10)
    day = cadence_of(schedule_pb2.Schedule(rate=schedule_pb2.FixedRate(value=2, unit=schedule_pb2.DAY)))
    assert day is not None and next_fire(day, T0, T0, UTC_ZONE) == T0 + timedelta(days=2)
    assert cadence_of(schedule_pb2.Schedule()) is None


def test_deprecated_cron_expression_is_read_as_cron() -> None:
    cadence = cadence_of(schedule_pb2.Schedule(cron_expression="0 * * * *"))
    assert cadence is not None and next_fire(cadence, T0, T0, UTC_ZONE) == T0 + timedelta(hours=1)


def test_offset_shifts_every_cron_time() -> None:
    cadence = cadence_of(cron("0 * * * *", offset="PT5M"))
    assert cadence is not None
    assert next_fire(cadence, T0, T0, UTC_ZONE) == T0 + timedelta(minutes=5)
    assert next_fire(cadence, T0 + timedelta(minutes=5), T0, UTC_ZONE) == T0 + timedelta(hours=1, minutes=5)
    with pytest.raises(ScheduleError, match="ISO-8601"):
        cadence_of(cron("0 * * * *", offset="five minutes"))


def test_time_zone_moves_cron_times() -> None:
    cadence = cadence_of(cron("0 9 * * *"))
    assert cadence is not None
    paris = next_fire(cadence, T0, T0, ZoneInfo("Europe/Paris"))
    assert paris == datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # 09:00 CET


def test_impossible_date_is_an_error() -> None:
    cadence = cadence_of(cron("0 0 31 2 *"))
    assert cadence is not None
    with pytest.raises(ScheduleError, match="invalid crontab string configuration"):
        next_fire(cadence, T0, T0, UTC_ZONE)


def test_fires_are_ordered_and_bounded() -> None:
    cadence = Cadence(interval=timedelta(seconds=10))
    got = list(fires(cadence, T0, T0 + timedelta(seconds=35), T0, UTC_ZONE))
    assert got == [T0 + timedelta(seconds=s) for s in (10, 20, 30)]


@pytest.mark.parametrize(
    ("policy", "expected", "dropped"),
    [("all", [80, 90, 100], 7), ("latest", [100], 9), ("none", [], 10)],
)
def test_catch_up_policies(policy: str, expected: list[int], dropped: int) -> None:
    cadence = Cadence(interval=timedelta(seconds=10))
    now = T0 + timedelta(seconds=103)
    got = due(cadence, T0, now, T0, UTC_ZONE, policy=policy, cap=3, grace=timedelta(seconds=2))  # type: ignore[arg-type]
    assert got.times == [T0 + timedelta(seconds=s) for s in expected]
    assert got.dropped == dropped


def test_policy_none_still_fires_on_time() -> None:
    cadence = Cadence(interval=timedelta(seconds=10))
    got = due(cadence, T0, T0 + timedelta(seconds=10.2), T0, UTC_ZONE, policy="none", cap=3, grace=timedelta(seconds=5))
    assert got.times == [T0 + timedelta(seconds=10)] and got.dropped == 0


def test_fire_names_are_deterministic_and_version_free() -> None:
    a = fire_name("p", "d", "lp", T0)
    assert a == fire_name("p", "d", "lp", T0 + timedelta(microseconds=5))
    assert len(a) == 20 and a.startswith("f")
    assert a != fire_name("p", "d", "lp", T0 + timedelta(seconds=1))
    assert a != fire_name("p", "d", "other", T0)


def test_policy_annotation_overrides_setting() -> None:
    assert policy_of({"aerodrome/catch-up": "Latest"}, "all") == "latest"
    assert policy_of({"aerodrome/catch-up": "bogus"}, "none") == "none"
    assert policy_of({}, "all") == "all"

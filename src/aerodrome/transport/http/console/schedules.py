"""Schedules in words, and their next fire times (computed by the scheduler's own rules)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flyteidl.admin import schedule_pb2

from aerodrome.scheduler.schedules import ScheduleError, cadence_of, next_fire

ALIASES = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]


def describe_cron(expression: str, zone: str = "UTC") -> str:
    """Common shapes in words ("every day at 02:30 UTC"); anything else is shown as its expression."""
    fields = ALIASES.get(expression.strip(), expression).split()
    if len(fields) != 5:
        return expression
    minute, hour, dom, month, dow = fields
    if fields == ["*"] * 5:
        return "every minute"
    if minute.startswith("*/") and hour == dom == month == dow == "*":
        return f"every {minute[2:]} minutes"
    if minute.isdigit() and hour == dom == month == dow == "*":
        return f"every hour at minute {int(minute)}"
    if minute.isdigit() and hour.isdigit() and dom == month == "*":
        at = f"{int(hour):02d}:{int(minute):02d} {zone}"
        if dow == "*":
            return f"every day at {at}"
        if dow.isdigit() and int(dow) < 7:
            return f"every {DAYS[int(dow)]} at {at}"
        if dow in ("1-5", "MON-FRI"):
            return f"every weekday at {at}"
    if minute.isdigit() and hour.isdigit() and dom.isdigit() and month == dow == "*":
        return f"on day {int(dom)} of every month at {int(hour):02d}:{int(minute):02d} {zone}"
    return expression


def next_fires(schedule: schedule_pb2.Schedule, after: datetime, zone: str = "UTC", count: int = 3) -> list[datetime]:
    """The next ``count`` fire times of a cron schedule as the scheduler computes them (time zone and
    offset included); none for fixed-rate schedules (their fires count from activation) or bad ones."""
    try:
        cadence = cadence_of(schedule)
        if cadence is None or cadence.interval:
            return []
        out: list[datetime] = []
        for _ in range(count):
            after = next_fire(cadence, after, after, ZoneInfo(zone))
            out.append(after)
        return out
    except ScheduleError:
        return []

"""Pure schedule arithmetic: parse a launch plan's schedule, list its fire times, name each fire.

Nothing here touches the database or the clock, so every rule is unit-tested on its own. Fire times are
whole seconds and are the same in every process (cron times are wall-clock times in the configured zone;
intervals count from the schedule's anchor, its activation time, stored in the database), which is what
makes the deterministic execution name of a fire mean "already fired" everywhere.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from croniter import croniter
from flyteidl.admin import schedule_pb2
from pydantic import TypeAdapter, ValidationError

CatchUp = Literal["all", "latest", "none"]
CATCH_UP_POLICIES: tuple[CatchUp, ...] = ("all", "latest", "none")
CATCH_UP_ANNOTATION = "aerodrome/catch-up"

_EVERY = re.compile(r"^@every\s+(\S+)$")
_GO_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_UNITS = {
    schedule_pb2.MINUTE: timedelta(minutes=1),
    schedule_pb2.HOUR: timedelta(hours=1),
    schedule_pb2.DAY: timedelta(days=1),
}
_DURATION = TypeAdapter(timedelta)


class ScheduleError(ValueError):
    """A schedule that cannot produce fire times (says why)."""


@dataclass(frozen=True)
class Cadence:
    """When a schedule fires: a cron expression (wall clock) or a fixed interval (from the anchor)."""

    cron: str = ""
    interval: timedelta = timedelta(0)
    offset: timedelta = timedelta(0)
    kickoff_arg: str = ""


def go_duration(text: str) -> timedelta:
    """A Go duration such as ``1h30m`` or ``10s`` (the ``@every`` syntax of robfig/cron)."""
    parts = _GO_DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ScheduleError(f"invalid duration {text!r} in @every")
    seconds = sum(float(n) * _SECONDS[u] for n, u in parts)
    # robfig rounds @every to whole seconds, and at least one second.
    return timedelta(seconds=max(1, round(seconds)))


def iso_offset(text: str) -> timedelta:
    """``cron_schedule.offset``: an ISO-8601 duration (``PT5M``, ``P1D``) added to each cron time."""
    if not text:
        return timedelta(0)
    try:
        return _DURATION.validate_python(text)
    except ValidationError:
        raise ScheduleError(f"invalid offset {text!r}: expected an ISO-8601 duration such as PT5M") from None


def cadence_of(schedule: schedule_pb2.Schedule) -> Cadence | None:
    """The cadence of a launch plan's schedule, None when it has none.

    The deprecated ``cron_expression`` is read like ``cron_schedule.schedule`` (registration has already
    checked it is standard 5-field cron); the reference's native scheduler refuses to activate it instead.
    """
    kickoff = schedule.kickoff_time_input_arg
    expression = (schedule.cron_schedule.schedule or schedule.cron_expression).strip()
    if expression:
        every = _EVERY.match(expression)
        if every:
            return Cadence(interval=go_duration(every.group(1)), kickoff_arg=kickoff)
        return Cadence(cron=expression, offset=iso_offset(schedule.cron_schedule.offset), kickoff_arg=kickoff)
    if schedule.rate.value > 0:
        unit = _UNITS.get(schedule.rate.unit)
        if unit is None:
            raise ScheduleError(f"unsupported unit {schedule.rate.unit} for fixed rate scheduling")
        return Cadence(interval=unit * schedule.rate.value, kickoff_arg=kickoff)
    return None


def whole_seconds(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def next_fire(cadence: Cadence, after: datetime, anchor: datetime, zone: ZoneInfo) -> datetime:
    """The first fire time strictly after ``after`` (UTC in, UTC out)."""
    if cadence.interval:
        start = whole_seconds(anchor)
        step = cadence.interval.total_seconds()
        k = max(1, math.floor((after - start).total_seconds() / step) + 1)
        return start + cadence.interval * k
    local = (after - cadence.offset).astimezone(zone)
    try:
        found: datetime = croniter(cadence.cron, local).get_next(datetime)
    except (ValueError, KeyError) as exc:  # CroniterBadDateError and friends derive from ValueError
        raise ScheduleError(f"invalid crontab string configuration: {cadence.cron} ({exc})") from None
    return found.astimezone(UTC) + cadence.offset


def fires(cadence: Cadence, after: datetime, until: datetime, anchor: datetime, zone: ZoneInfo) -> Iterator[datetime]:
    """Every fire time t with ``after < t <= until``, in order."""
    t = next_fire(cadence, after, anchor, zone)
    while t <= until:
        yield t
        t = next_fire(cadence, t, anchor, zone)


@dataclass(frozen=True)
class Due:
    """The fires to run now, and how many missed ones the catch-up policy dropped."""

    times: list[datetime]
    dropped: int


def due(
    cadence: Cadence,
    after: datetime,
    now: datetime,
    anchor: datetime,
    zone: ZoneInfo,
    *,
    policy: CatchUp,
    cap: int,
    grace: timedelta,
) -> Due:
    """The fires due at ``now`` since ``after``, cut down by the catch-up policy.

    ``all`` keeps the latest ``cap`` of them (in order), ``latest`` only the last, ``none`` only a last one
    that is no older than ``grace`` (a fire on time, not a missed one).
    """
    keep = {"all": max(cap, 1), "latest": 1, "none": 1}[policy]
    window: deque[datetime] = deque(maxlen=keep)
    total = 0
    for t in fires(cadence, after, now, anchor, zone):
        window.append(t)
        total += 1
    times = list(window)
    if policy == "none" and times and now - times[-1] > grace:
        times = []
    return Due(times, total - len(times))


def fire_name(project: str, domain: str, name: str, moment: datetime) -> str:
    """The execution name of one fire: the same in every process and after any restart (20 characters,
    ``f`` and 19 hex digits, like the reference's scheduled names). The version is left out on purpose,
    so that moving the schedule to another version can never fire one time twice."""
    key = f"{project}:{domain}:{name}:{int(moment.timestamp())}"
    return "f" + hashlib.sha256(key.encode()).hexdigest()[:19]


def policy_of(annotations: dict[str, str], default: CatchUp) -> CatchUp:
    """A launch plan's catch-up policy: its ``aerodrome/catch-up`` annotation, else the setting."""
    value = annotations.get(CATCH_UP_ANNOTATION, "").strip().lower()
    for policy in CATCH_UP_POLICIES:
        if value == policy:
            return policy
    return default

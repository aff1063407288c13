"""Schedules in words, and their next fire times (croniter, as the scheduler uses)."""

from __future__ import annotations

from datetime import datetime

from croniter import croniter

ALIASES = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]


def describe_cron(expression: str) -> str:
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
        at = f"{int(hour):02d}:{int(minute):02d} UTC"
        if dow == "*":
            return f"every day at {at}"
        if dow.isdigit() and int(dow) < 7:
            return f"every {DAYS[int(dow)]} at {at}"
        if dow in ("1-5", "MON-FRI"):
            return f"every weekday at {at}"
    if minute.isdigit() and hour.isdigit() and dom.isdigit() and month == dow == "*":
        return f"on day {int(dom)} of every month at {int(hour):02d}:{int(minute):02d} UTC"
    return expression


def next_fires(expression: str, after: datetime, count: int = 3) -> list[datetime]:
    """The next ``count`` fire times, or none when the expression is not one croniter reads."""
    try:
        it = croniter(ALIASES.get(expression.strip(), expression), after)
        return [it.get_next(datetime) for _ in range(count)]
    except (ValueError, KeyError):
        return []

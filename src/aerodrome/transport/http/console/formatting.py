"""Template filters: phases, times, durations and sizes the same way on every page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from flyteidl.core import catalog_pb2, tasks_pb2
from flyteidl.core import execution_pb2 as core_exec
from google.protobuf import duration_pb2, timestamp_pb2

from aerodrome.transport.http.console.forms import type_name

# Phase names as FlyteConsole shows them, grouped into the few colours a reader scans for.
PHASE_TONE = {
    "SUCCEEDED": "ok",
    "RECOVERED": "ok",
    "SKIPPED": "muted",
    "FAILED": "bad",
    "FAILING": "bad",
    "TIMED_OUT": "bad",
    "ABORTED": "warn",
    "ABORTING": "warn",
    "RUNNING": "run",
    "DYNAMIC_RUNNING": "run",
    "SUCCEEDING": "run",
    "QUEUED": "wait",
    "INITIALIZING": "wait",
    "WAITING_FOR_RESOURCES": "wait",
    "UNDEFINED": "wait",
    "PAUSED": "wait",
}
PHASE_ICON = {"ok": "✓", "bad": "✕", "warn": "■", "run": "▶", "wait": "…", "muted": "-"}
TERMINAL = frozenset({"SUCCEEDED", "RECOVERED", "SKIPPED", "FAILED", "TIMED_OUT", "ABORTED"})
MODES = {0: "manual", 1: "scheduled", 2: "system", 3: "relaunch", 4: "child", 5: "recovered", 6: "trigger"}


def workflow_phase(value: int) -> str:
    return str(core_exec.WorkflowExecution.Phase.Name(value))  # type: ignore[arg-type]


def node_phase(value: int) -> str:
    return str(core_exec.NodeExecution.Phase.Name(value))  # type: ignore[arg-type]


def task_phase(value: int) -> str:
    return str(core_exec.TaskExecution.Phase.Name(value))  # type: ignore[arg-type]


def tone(phase: str) -> str:
    return PHASE_TONE.get(phase, "wait")


def icon(phase: str) -> str:
    return PHASE_ICON[tone(phase)]


def when(ts: timestamp_pb2.Timestamp | datetime | None) -> datetime | None:
    """A timestamp as an aware datetime; None when unset (a proto's zero time means "not yet")."""
    if ts is None:
        return None
    if isinstance(ts, datetime):
        return ts
    if ts.seconds == 0 and ts.nanos == 0:
        return None
    return ts.ToDatetime(tzinfo=UTC)


def absolute(ts: timestamp_pb2.Timestamp | datetime | None) -> str:
    moment = when(ts)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "—"


def iso(ts: timestamp_pb2.Timestamp | datetime | None) -> str:
    moment = when(ts)
    return moment.isoformat() if moment else ""


def seconds(value: duration_pb2.Duration | float | int | None) -> float:
    if value is None:
        return 0.0
    if isinstance(value, duration_pb2.Duration):
        return value.seconds + value.nanos / 1e9
    return float(value)


def duration(value: duration_pb2.Duration | float | int | None) -> str:
    """1.2s, 3m 04s, 2h 05m: short, and the same width for the same magnitude."""
    total = seconds(value)
    if total <= 0:
        return "—"
    if total < 60:
        return f"{total:.1f}s"
    minutes, secs = divmod(int(total), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def size(value: float | int | None) -> str:
    amount = float(value or 0)
    if amount <= 0:
        return "—"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if amount < 1024 or unit == "GiB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{amount:.1f} GiB"


def mode(value: int) -> str:
    return MODES.get(value, "manual")


def error_kind(value: int) -> str:
    return str(core_exec.ExecutionError.ErrorKind.Name(value)).lower()  # type: ignore[arg-type]


def cache_status(value: int) -> str:
    """``cache hit``, ``cache populated``…; "" when caching is off for the node."""
    if value == catalog_pb2.CACHE_DISABLED:
        return ""
    name = str(catalog_pb2.CatalogCacheStatus.Name(value))  # type: ignore[arg-type]
    return name.removeprefix("CACHE_").replace("_", " ").lower().join(("cache ", ""))


def resource_name(value: int) -> str:
    return str(tasks_pb2.Resources.ResourceName.Name(value)).lower()  # type: ignore[arg-type]


def url(value: str) -> str:
    """One path segment, quoted (names may hold characters that are not URL-safe)."""
    return quote(value, safe="")


FILTERS: dict[str, Any] = {
    "workflow_phase": workflow_phase,
    "node_phase": node_phase,
    "task_phase": task_phase,
    "tone": tone,
    "icon": icon,
    "absolute": absolute,
    "iso": iso,
    "duration": duration,
    "seconds": seconds,
    "size": size,
    "mode": mode,
    "error_kind": error_kind,
    "seg": url,
    "resource_name": resource_name,
    "cache_status": cache_status,
}
GLOBALS: dict[str, Any] = {"TERMINAL": TERMINAL, "type_name": type_name}

"""The execution's timeline: one row per node and attempt, bars placed in percent of the execution's span.

A map node is one row whatever its size: its items are counted by phase beside the bar, so a map over
1,000 items reads as one line instead of a thousand.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from flyteidl.admin import node_execution_pb2, task_execution_pb2

from aerodrome.transport.http.console.formatting import node_phase, seconds, task_phase, when


@dataclass(frozen=True)
class Bar:
    label: str
    phase: str
    left: float  # percent of the span
    width: float
    took: float  # seconds
    items: tuple[tuple[str, int], ...] = ()


@dataclass
class Timeline:
    rows: list[Bar] = field(default_factory=list)
    span: float = 0.0


def _place(start: datetime | None, took: float, origin: datetime, span: float, now: datetime) -> tuple[float, float]:
    if start is None or span <= 0:
        return 0.0, 0.0
    begin = (start - origin).total_seconds()
    length = took if took > 0 else max(0.0, (now - start).total_seconds())
    left = min(100.0, max(0.0, 100 * begin / span))
    return left, max(0.4, min(100.0 - left, 100 * length / span))


def _items(attempt: task_execution_pb2.TaskExecution) -> tuple[tuple[str, int], ...]:
    resources = attempt.closure.metadata.external_resources
    counts = Counter(task_phase(r.phase) for r in resources)
    return tuple(sorted(counts.items()))


def timeline(
    origin: datetime | None,
    span_seconds: float,
    nodes: list[node_execution_pb2.NodeExecution],
    attempts: dict[str, list[task_execution_pb2.TaskExecution]],
    now: datetime,
) -> Timeline:
    """Rows for the nodes that started; ``span_seconds`` is the execution's duration (or its age while running)."""
    out = Timeline(span=span_seconds)
    if origin is None:
        return out
    for node in nodes:
        node_id = node.id.node_id
        if node_id in ("start-node", "end-node"):
            continue
        tries = attempts.get(node_id, [])
        if len(tries) <= 1:
            took = seconds(node.closure.duration)
            left, width = _place(when(node.closure.started_at), took, origin, span_seconds, now)
            items = _items(tries[0]) if tries else ()
            out.rows.append(Bar(node_id, node_phase(node.closure.phase), left, width, took, items))
            continue
        for attempt in tries:
            took = seconds(attempt.closure.duration)
            left, width = _place(when(attempt.closure.started_at), took, origin, span_seconds, now)
            label = f"{node_id} · attempt {attempt.id.retry_attempt + 1}"
            out.rows.append(Bar(label, task_phase(attempt.closure.phase), left, width, took, _items(attempt)))
    return out

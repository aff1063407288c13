"""Cron in words, next fire times, and a timeline that stays one row per map node."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flyteidl.admin import node_execution_pb2, schedule_pb2, task_execution_pb2
from flyteidl.core import execution_pb2, identifier_pb2
from flyteidl.event import event_pb2

from aerodrome.transport.http.console.gantt import timeline
from aerodrome.transport.http.console.schedules import describe_cron, next_fires

T0 = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)


def test_cron_in_words() -> None:
    assert describe_cron("30 2 * * *") == "every day at 02:30 UTC"
    assert describe_cron("*/5 * * * *") == "every 5 minutes"
    assert describe_cron("0 9 * * 1-5") == "every weekday at 09:00 UTC"
    assert describe_cron("@hourly") == "every hour at minute 0"
    assert describe_cron("5 4 1,15 * *") == "5 4 1,15 * *"  # unusual shapes are shown as written


def _cron(expression: str, offset: str = "") -> schedule_pb2.Schedule:
    return schedule_pb2.Schedule(cron_schedule=schedule_pb2.CronSchedule(schedule=expression, offset=offset))


def test_next_fires_follow_the_scheduler() -> None:
    fires = next_fires(_cron("30 2 * * *"), T0)
    assert fires == [T0 + timedelta(hours=2, minutes=30) + timedelta(days=d) for d in range(3)]
    assert next_fires(_cron("30 2 * * *", offset="PT5M"), T0)[0] == T0 + timedelta(hours=2, minutes=35)
    assert next_fires(_cron("0 9 * * *"), T0, zone="Europe/Paris")[0] == T0 + timedelta(hours=8)  # 09:00 CET
    assert next_fires(_cron("not a cron"), T0) == []
    assert next_fires(schedule_pb2.Schedule(rate=schedule_pb2.FixedRate(value=5)), T0) == []  # from activation


def _node(node_id: str, start: int, took: int, phase: int) -> node_execution_pb2.NodeExecution:
    node = node_execution_pb2.NodeExecution(id=identifier_pb2.NodeExecutionIdentifier(node_id=node_id))
    node.closure.started_at.FromDatetime(T0 + timedelta(seconds=start))
    node.closure.duration.FromTimedelta(timedelta(seconds=took))
    node.closure.phase = phase  # type: ignore[assignment]
    return node


def test_a_map_over_1000_items_is_one_row_with_counts() -> None:
    done, failed = execution_pb2.TaskExecution.SUCCEEDED, execution_pb2.TaskExecution.FAILED
    attempt = task_execution_pb2.TaskExecution()
    attempt.closure.metadata.external_resources.extend(
        event_pb2.ExternalResourceInfo(index=i, phase=failed if i < 3 else done) for i in range(1000)
    )
    nodes = [_node("start-node", 0, 0, 3), _node("n0", 0, 10, 3), _node("n1", 10, 90, 3)]
    out = timeline(T0, 100.0, nodes, {"n1": [attempt]}, T0 + timedelta(seconds=100))
    assert [r.label for r in out.rows] == ["n0", "n1"]
    n0, n1 = out.rows
    assert (n0.left, n0.width) == (0.0, 10.0) and (n1.left, n1.width) == (10.0, 90.0)
    assert dict(n1.items) == {"FAILED": 3, "SUCCEEDED": 997}


def test_retried_node_has_a_row_per_attempt() -> None:
    tries = []
    for i in range(2):
        t = task_execution_pb2.TaskExecution(id=identifier_pb2.TaskExecutionIdentifier(retry_attempt=i))
        t.closure.started_at.FromDatetime(T0 + timedelta(seconds=10 * i))
        t.closure.duration.FromTimedelta(timedelta(seconds=5))
        tries.append(t)
    out = timeline(T0, 20.0, [_node("n0", 0, 15, 3)], {"n0": tries}, T0 + timedelta(seconds=20))
    assert [r.label for r in out.rows] == ["n0 · attempt 1", "n0 · attempt 2"]
    assert out.rows[1].left == 50.0

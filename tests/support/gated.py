"""Executions that wait on a signal gate, driven through the public API: start one, wait until its gate is
waiting, signal it, wait for its end; and node/task event requests as flytepropeller sends them."""

from __future__ import annotations

import time
from typing import Any

import grpc
from flyteidl.admin import event_pb2, execution_pb2, signal_pb2
from flyteidl.core import execution_pb2 as core_exec
from flyteidl.core import identifier_pb2, literals_pb2
from flyteidl.event import event_pb2 as ev
from flyteidl.service import signal_pb2_grpc
from google.protobuf import timestamp_pb2

from tests.integration.conftest import Server
from tests.support.entities import DOMAIN, PROJECT, ident

WF_TERMINAL = {core_exec.WorkflowExecution.SUCCEEDED, core_exec.WorkflowExecution.ABORTED}


def now() -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.GetCurrentTime()
    return ts


def start_gated(stub: Any, lp: identifier_pb2.Identifier) -> identifier_pb2.WorkflowExecutionIdentifier:
    created = stub.CreateExecution(
        execution_pb2.ExecutionCreateRequest(
            project=PROJECT,
            domain=DOMAIN,
            spec=execution_pb2.ExecutionSpec(launch_plan=lp),
            inputs=literals_pb2.LiteralMap(),
        )
    )
    return created.id  # type: ignore[no-any-return]


def wait_for_signal(server: Server, execution: identifier_pb2.WorkflowExecutionIdentifier) -> None:
    with grpc.insecure_channel(server.grpc) as channel:
        signals = signal_pb2_grpc.SignalServiceStub(channel)
        deadline = time.monotonic() + 60
        while not signals.ListSignals(signal_pb2.SignalListRequest(workflow_execution_id=execution, limit=5)).signals:
            assert time.monotonic() < deadline, "the gate never started waiting"
            time.sleep(0.05)


def wait_terminal(
    stub: Any, execution: identifier_pb2.WorkflowExecutionIdentifier, poll: float = 0.05
) -> execution_pb2.Execution:
    deadline = time.monotonic() + 60
    while True:
        got = stub.GetExecution(execution_pb2.WorkflowExecutionGetRequest(id=execution))
        if got.closure.phase in WF_TERMINAL or got.closure.phase == core_exec.WorkflowExecution.FAILED:
            return got
        assert time.monotonic() < deadline, f"stuck in {got.closure.phase}"
        time.sleep(poll)


YES = literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(boolean=True)))


def signal_request(execution: identifier_pb2.WorkflowExecutionIdentifier) -> signal_pb2.SignalSetRequest:
    return signal_pb2.SignalSetRequest(
        id=identifier_pb2.SignalIdentifier(signal_id="go", execution_id=execution), value=YES
    )


def node_event(execution: Any, node: str, phase: int) -> event_pb2.NodeExecutionEventRequest:
    return event_pb2.NodeExecutionEventRequest(
        request_id=f"{node}-{phase}",
        event=ev.NodeExecutionEvent(
            id=identifier_pb2.NodeExecutionIdentifier(node_id=node, execution_id=execution),
            phase=phase,
            occurred_at=now(),
            producer_id="propeller",
            input_uri="s3://bucket/in.pb",
        ),
    )


def task_event(execution: Any, node: str, phase: int, version: int = 0) -> event_pb2.TaskExecutionEventRequest:
    return event_pb2.TaskExecutionEventRequest(
        event=ev.TaskExecutionEvent(
            task_id=ident(identifier_pb2.TASK, "race-ev-task", "v1"),
            parent_node_execution_id=identifier_pb2.NodeExecutionIdentifier(node_id=node, execution_id=execution),
            retry_attempt=0,
            phase=phase,
            phase_version=version,
            producer_id="propeller",
            occurred_at=now(),
        )
    )

"""Races through real gRPC clients against a real server, on SQLite and PostgreSQL: many registrations of one
id at once, concurrent activations of two launch-plan versions, terminate racing completion, and duplicate
and out-of-order events through the public event RPCs. Each caller must get Flyte's answer, never INTERNAL,
and what is stored afterwards must be one consistent story."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import grpc
import pytest
from flyteidl.admin import (
    common_pb2,
    event_pb2,
    execution_pb2,
    launch_plan_pb2,
    node_execution_pb2,
    task_execution_pb2,
)
from flyteidl.core import execution_pb2 as core_exec
from flyteidl.core import identifier_pb2
from flyteidl.event import event_pb2 as ev
from flyteidl.service import signal_pb2_grpc

from tests.integration.conftest import Server, start_server, stop_server
from tests.support.clients import admin_stub
from tests.support.entities import DOMAIN, PROJECT, gate_workflow, ident, launch_plan, task, task_workflow
from tests.support.gated import (
    WF_TERMINAL,
    node_event,
    now,
    signal_request,
    start_gated,
    task_event,
    wait_for_signal,
    wait_terminal,
)
from tests.support.postgres import fresh_database
from tests.support.races import OK, Outcome, at_once, codes, event_log

N = 32


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def race_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, str]]:
    """A server of this module's own (the tests read its database), with the database URL."""
    home = tmp_path_factory.mktemp(f"races-{request.param}")
    if request.param == "postgres":
        with fresh_database() as url:
            srv = start_server(home, url, "postgres")
            yield srv, url
            stop_server(srv)
        return
    srv = start_server(home, "", "sqlite")
    yield srv, f"sqlite+aiosqlite:///{home / 'aerodrome.db'}"
    stop_server(srv)


def _one_winner(outcomes: list[Outcome], loser_code: str, text: str) -> int:
    """Exactly one caller created the entity; every other got ``loser_code`` with ``text``. Returns the winner."""
    assert codes(outcomes) == {OK: 1, loser_code: N - 1}, codes(outcomes)
    assert all(text in o.details for o in outcomes if o.code != OK), {o.details for o in outcomes}
    return next(i for i, o in enumerate(outcomes) if o.code == OK)


def test_identical_registrations_at_once(race_server: tuple[Server, str], unique: str) -> None:
    """32 identical CreateTask / CreateWorkflow / CreateLaunchPlan at once: one creates, 31 ALREADY_EXISTS."""
    server = race_server[0]
    t, w = task(f"rt-{unique}", "v1"), task_workflow(f"rw-{unique}", "v1", f"rt-{unique}")
    lp = launch_plan(f"rw-{unique}", "v1", w.id, x=1)
    got = at_once(server.grpc, [lambda a, _s: a.CreateTask(t)] * N)
    _one_winner(got, "ALREADY_EXISTS", "task with identical structure already exists")
    got = at_once(server.grpc, [lambda a, _s: a.CreateWorkflow(w)] * N)
    _one_winner(got, "ALREADY_EXISTS", "workflow with identical structure already exists")
    got = at_once(server.grpc, [lambda a, _s: a.CreateLaunchPlan(lp)] * N)
    _one_winner(got, "ALREADY_EXISTS", "launch plan with identical structure already exists")


def test_different_registrations_at_once(race_server: tuple[Server, str], unique: str) -> None:
    """32 different bodies under one id at once: exactly one is stored (the caller told OK), the others get
    INVALID_ARGUMENT naming the difference."""
    server = race_server[0]
    tasks = [task(f"dt-{unique}", "v1", image=f"python:3.{i}") for i in range(N)]
    got = at_once(server.grpc, [lambda a, _s, r=r: a.CreateTask(r) for r in tasks])
    winner = _one_winner(got, "INVALID_ARGUMENT", "task with different structure already exists")
    with admin_stub(server.grpc) as stub:
        stored = stub.GetTask(common_pb2.ObjectGetRequest(id=tasks[0].id))
        assert stored.closure.compiled_task.template.container.image == f"python:3.{winner}"

    flows = [gate_workflow(f"dw-{unique}", "v1", sleep=timedelta(seconds=i + 1)) for i in range(N)]
    got = at_once(server.grpc, [lambda a, _s, r=r: a.CreateWorkflow(r) for r in flows])
    winner = _one_winner(got, "INVALID_ARGUMENT", "workflow with different structure already exists")
    with admin_stub(server.grpc) as stub:
        wf = stub.GetWorkflow(common_pb2.ObjectGetRequest(id=flows[0].id))
        gate = next(n for n in wf.closure.compiled_workflow.primary.template.nodes if n.id == "g")
        assert gate.gate_node.sleep.duration.seconds == winner + 1
        stub.CreateTask(task(f"dt2-{unique}", "v1"))
        stub.CreateWorkflow(task_workflow(f"dl-{unique}", "v1", f"dt2-{unique}"))
    plans = [
        launch_plan(f"dl-{unique}", "v1", ident(identifier_pb2.WORKFLOW, f"dl-{unique}", "v1"), x=i) for i in range(N)
    ]
    got = at_once(server.grpc, [lambda a, _s, r=r: a.CreateLaunchPlan(r) for r in plans])
    winner = _one_winner(got, "INVALID_ARGUMENT", "launch plan with different structure already exists")
    with admin_stub(server.grpc) as stub:
        lp = stub.GetLaunchPlan(common_pb2.ObjectGetRequest(id=plans[0].id))
        assert lp.spec.default_inputs.parameters["x"].default.scalar.primitive.integer == winner


def _schedules(server: Server, name: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{server.http}/api/v1/schedules?project={PROJECT}", timeout=30) as reply:
        body = json.loads(reply.read())
    rows = body if isinstance(body, list) else next(v for v in body.values() if isinstance(v, list))
    return [r for r in rows if r["name"] == name]


def test_concurrent_activations(race_server: tuple[Server, str], unique: str) -> None:
    """Two scheduled versions activated by 32 callers at once: all succeed, exactly one version is ACTIVE
    afterwards and the schedules table fires that version (one row)."""
    server = race_server[0]
    name = f"act-{unique}"
    with admin_stub(server.grpc) as stub:
        stub.CreateWorkflow(gate_workflow(name, "v1", sleep=timedelta(seconds=1)))
        wf = ident(identifier_pb2.WORKFLOW, name, "v1")
        for version in ("v1", "v2"):
            stub.CreateLaunchPlan(launch_plan(name, version, wf, every_minutes=600))
    for _round in range(3):
        requests = [
            launch_plan_pb2.LaunchPlanUpdateRequest(
                id=ident(identifier_pb2.LAUNCH_PLAN, name, f"v{1 + i % 2}"), state=launch_plan_pb2.ACTIVE
            )
            for i in range(N)
        ]
        got = at_once(server.grpc, [lambda a, _s, r=r: a.UpdateLaunchPlan(r) for r in requests])
        assert codes(got) == {OK: N}, {o.details for o in got}
        with admin_stub(server.grpc) as stub:
            active = stub.ListActiveLaunchPlans(
                launch_plan_pb2.ActiveLaunchPlanListRequest(project=PROJECT, domain=DOMAIN, limit=1000)
            )
            mine = [p.id.version for p in active.launch_plans if p.id.name == name]
            assert len(mine) == 1, mine
            current = stub.GetActiveLaunchPlan(
                launch_plan_pb2.ActiveLaunchPlanRequest(
                    id=common_pb2.NamedEntityIdentifier(project=PROJECT, domain=DOMAIN, name=name)
                )
            )
            assert current.id.version == mine[0]
        assert [s["version"] for s in _schedules(server, name)] == mine


@pytest.fixture(scope="module")
def gated(race_server: tuple[Server, str]) -> identifier_pb2.Identifier:
    """A launch plan whose workflow waits on a boolean signal ``go``."""
    with admin_stub(race_server[0].grpc) as stub:
        stub.CreateWorkflow(gate_workflow("race-gated", "v1"))
        stub.CreateLaunchPlan(launch_plan("race-gated", "v1", ident(identifier_pb2.WORKFLOW, "race-gated", "v1")))
    return ident(identifier_pb2.LAUNCH_PLAN, "race-gated", "v1")


ABORTED, SUCCEEDED = core_exec.WorkflowExecution.ABORTED, core_exec.WorkflowExecution.SUCCEEDED


def _completion_time(server: Server, gated: identifier_pb2.Identifier) -> float:
    """Seconds from SetSignal to the execution's SUCCEEDED on this server now (the race window to aim at)."""
    with admin_stub(server.grpc) as stub, grpc.insecure_channel(server.grpc) as channel:
        execution = start_gated(stub, gated)
        wait_for_signal(server, execution)
        started = time.monotonic()
        signal_pb2_grpc.SignalServiceStub(channel).SetSignal(signal_request(execution))
        assert wait_terminal(stub, execution, poll=0.005).closure.phase == SUCCEEDED
        return time.monotonic() - started


def test_terminate_racing_completion(race_server: tuple[Server, str], gated: identifier_pb2.Identifier) -> None:
    """The signal that completes an execution, and TerminateExecution sent after it with delays spread over
    the time the execution takes to complete, so that both win some rounds: one terminal phase, agreeing
    with what the terminate caller was told, with the node executions and with the event log (one terminal
    workflow event, the last one)."""
    server, db_url = race_server
    window = _completion_time(server, gated)
    seen = set()
    for i in range(24):  # until both have won (at least 10 rounds), the delay growing past the window
        if i >= 10 and seen == WF_TERMINAL:
            break
        with admin_stub(server.grpc) as stub:
            execution = start_gated(stub, gated)
        wait_for_signal(server, execution)
        signal = signal_request(execution)
        stop = execution_pb2.ExecutionTerminateRequest(id=execution, cause=f"race {i}")
        lead = window * i / 6
        got_signal, got_stop = at_once(
            server.grpc,
            [
                lambda _a, s, signal=signal: s.SetSignal(signal),
                lambda a, _s, lead=lead, stop=stop: (time.sleep(lead), a.TerminateExecution(stop)),
            ],
        )
        with admin_stub(server.grpc) as stub:
            final = wait_terminal(stub, execution)
            nodes = stub.ListNodeExecutions(
                node_execution_pb2.NodeExecutionListRequest(workflow_execution_id=execution, limit=100)
            ).node_executions
        phase = final.closure.phase
        seen.add(phase)
        assert phase in WF_TERMINAL, (phase, final.closure.error)
        assert got_signal.code in {OK, "FAILED_PRECONDITION", "NOT_FOUND"}, got_signal
        if got_stop.code == OK:
            assert phase == ABORTED
            assert final.closure.abort_metadata.cause == f"race {i}"
        else:
            assert got_stop == Outcome("FAILED_PRECONDITION", "Cannot abort an already terminated workflow execution")
            assert phase == SUCCEEDED
            assert not final.closure.HasField("abort_metadata"), final.closure.abort_metadata
        node_phases = {n.id.node_id: n.closure.phase for n in nodes}
        assert all(p in {3, 5, 6, 7, 8, 10} for p in node_phases.values()), node_phases  # terminal
        if phase == SUCCEEDED:
            assert node_phases.get("g") == 3, node_phases
        log = event_log(db_url, execution.name)
        workflow_phases = [p for kind, _, p in log if kind == "workflow"]
        terminal = [p for p in workflow_phases if p in {"SUCCEEDED", "ABORTED", "FAILED", "TIMED_OUT"}]
        assert terminal == [core_exec.WorkflowExecution.Phase.Name(phase)], workflow_phases
        assert workflow_phases[-1] == terminal[0]
        for node_id, node_phase in node_phases.items():
            recorded = [p for kind, n, p in log if kind == "node" and n == node_id]
            assert recorded[-1] == core_exec.NodeExecution.Phase.Name(node_phase), (node_id, recorded)
    assert seen == WF_TERMINAL, "the delays did not make both sides win"


def test_duplicate_and_out_of_order_events(race_server: tuple[Server, str], gated: identifier_pb2.Identifier) -> None:
    """Events of an external executor through CreateWorkflowEvent/CreateNodeEvent/CreateTaskEvent, 32 copies
    at once and out of order: the first of each is recorded, copies get ALREADY_EXISTS, changes out of a
    terminal phase FAILED_PRECONDITION (as FlyteAdmin answers), and nothing is INTERNAL."""
    server, db_url = race_server
    node = core_exec.NodeExecution
    te = core_exec.TaskExecution
    with admin_stub(server.grpc) as stub:
        execution = start_gated(stub, gated)
    wait_for_signal(server, execution)  # the engine has recorded RUNNING and waits: it sends nothing now

    running = event_pb2.WorkflowExecutionEventRequest(
        event=ev.WorkflowExecutionEvent(execution_id=execution, phase=core_exec.WorkflowExecution.RUNNING,
                                        occurred_at=now(), producer_id="propeller")
    )  # fmt: skip
    got = at_once(server.grpc, [lambda a, _s: a.CreateWorkflowEvent(running)] * N)
    assert codes(got) == {"ALREADY_EXISTS": N}, {o.details for o in got}
    queued = event_pb2.WorkflowExecutionEventRequest()
    queued.CopyFrom(running)
    queued.event.phase = core_exec.WorkflowExecution.QUEUED
    got = at_once(server.grpc, [lambda a, _s: a.CreateWorkflowEvent(queued)] * 4)
    assert codes(got) == {"FAILED_PRECONDITION": 4}, got

    first = node_event(execution, "ext", node.RUNNING)
    got = at_once(server.grpc, [lambda a, _s: a.CreateNodeEvent(first)] * N)
    assert codes(got) == {OK: 1, "ALREADY_EXISTS": N - 1}, {o.details for o in got}
    task_running = task_event(execution, "ext", te.RUNNING, version=1)
    got = at_once(server.grpc, [lambda a, _s: a.CreateTaskEvent(task_running)] * N)
    assert codes(got) == {OK: 1, "ALREADY_EXISTS": N - 1}, {o.details for o in got}
    with admin_stub(server.grpc) as stub:
        older = task_event(execution, "ext", te.RUNNING, version=0)  # an older progress update arrives late
        assert at_once(server.grpc, [lambda a, _s: a.CreateTaskEvent(older)])[0].code == "ALREADY_EXISTS"
        stub.CreateTaskEvent(task_event(execution, "ext", te.QUEUED))  # admin does not order non-terminal phases
        done = task_event(execution, "ext", te.SUCCEEDED)
        late = task_event(execution, "ext", te.RUNNING, version=5)
        got = at_once(server.grpc, [lambda a, _s: a.CreateTaskEvent(done)] * (N // 2))
        assert codes(got) == {OK: 1, "ALREADY_EXISTS": N // 2 - 1}, {o.details for o in got}
        assert at_once(server.grpc, [lambda a, _s: a.CreateTaskEvent(late)])[0].code == "FAILED_PRECONDITION"

        # A node whose first event is terminal, then an older RUNNING: recorded, then refused.
        stub.CreateNodeEvent(node_event(execution, "ext2", node.SUCCEEDED))
        late_node = node_event(execution, "ext2", node.RUNNING)
        got = at_once(server.grpc, [lambda a, _s: a.CreateNodeEvent(late_node)] * 4)
        assert codes(got) == {"FAILED_PRECONDITION": 4}, got
        got_nodes = stub.ListNodeExecutions(
            node_execution_pb2.NodeExecutionListRequest(workflow_execution_id=execution, limit=100)
        ).node_executions
        phases = {n.id.node_id: n.closure.phase for n in got_nodes}
        assert phases["ext"] == node.RUNNING and phases["ext2"] == node.SUCCEEDED
        tasks = stub.ListTaskExecutions(
            task_execution_pb2.TaskExecutionListRequest(
                node_execution_id=identifier_pb2.NodeExecutionIdentifier(node_id="ext", execution_id=execution),
                limit=10,
            )
        ).task_executions
        assert [t.closure.phase for t in tasks] == [te.SUCCEEDED]
        stub.TerminateExecution(execution_pb2.ExecutionTerminateRequest(id=execution, cause="done"))
    log = event_log(db_url, execution.name)
    assert [p for kind, n, p in log if kind == "node" and n == "ext"] == ["RUNNING"]
    assert [p for kind, n, p in log if kind == "task"] == ["RUNNING", "QUEUED", "SUCCEEDED"]

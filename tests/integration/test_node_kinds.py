"""Every node kind run end to end with real flytekit: subworkflows, branches, gates and signals, map tasks,
dynamic tasks, launch-plan nodes, failure nodes, caching, recovery and backfills."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from flyteidl.admin import node_execution_pb2, signal_pb2
from flyteidl.core import identifier_pb2, literals_pb2, types_pb2
from flyteidl.service import signal_pb2_grpc
from flytekit.models.core.execution import NodeExecutionPhase, WorkflowExecutionPhase
from flytekit.models.core.identifier import NodeExecutionIdentifier
from flytekit.models.filters import Filter
from flytekit.remote import FlyteRemote

from tests.integration.conftest import Server
from tests.support.clients import admin_stub
from tests.support.projects import register_project

PROJECT_DIR = Path(__file__).parent / "projects" / "nodes_app"
WF = "workflows.kinds"
CACHE_HIT, CACHE_POPULATED, CACHE_SKIPPED = 2, 3, 6


@pytest.fixture(scope="module")
def registered(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    yield server, register_project(server, PROJECT_DIR, tmp_path_factory.mktemp("nodes_app"))


def start(remote: FlyteRemote, version: str, name: str, inputs: dict[str, Any], **kwargs: Any) -> Any:
    lp = remote.fetch_launch_plan(name=name if name.startswith("kinds.") else f"{WF}.{name}", version=version)
    return remote.execute(lp, inputs=inputs, **kwargs)


def finish(remote: FlyteRemote, execution: Any, timeout: int = 180) -> Any:
    return remote.wait(execution, timeout=timedelta(seconds=timeout), poll_interval=timedelta(seconds=0.5))


def run(remote: FlyteRemote, version: str, name: str, inputs: dict[str, Any], timeout: int = 180) -> Any:
    return finish(remote, start(remote, version, name, inputs), timeout)


def retry(action: Any, attempts: int = 60) -> None:
    """Signals exist only once the gate is waiting: retry as flytekit's own tests do."""
    for _ in range(attempts - 1):
        try:
            action()
            return
        except Exception:
            time.sleep(0.5)
    action()


def test_static_subworkflow(registered: tuple[Server, str], remote: FlyteRemote) -> None:
    done = run(remote, registered[1], "with_subworkflow", {"x": 3})
    assert done.closure.phase == WorkflowExecutionPhase.SUCCEEDED, done.closure.error
    assert done.outputs["o0"] == 36  # double(double(square(3)))
    synced = remote.sync_execution(done, sync_nodes=True)
    parent = synced.node_executions["n0"]
    assert parent.metadata.is_parent_node
    children = parent.subworkflow_node_executions
    assert {"n0-0-n0", "n0-0-n1"} <= set(children)
    assert children["n0-0-n1"].outputs["o0"] == 18
    assert children["n0-0-n0"].metadata.spec_node_id == "n0" and children["n0-0-n0"].metadata.retry_group == "0"


def test_conditional(registered: tuple[Server, str], remote: FlyteRemote) -> None:
    version = registered[1]
    assert run(remote, version, "classify", {"x": 4}).outputs["o0"] == 8
    assert run(remote, version, "classify", {"x": -3}).outputs["o0"] == 9
    zero = run(remote, version, "classify", {"x": 0})
    assert zero.closure.phase == WorkflowExecutionPhase.FAILED
    assert "zero is neither positive nor negative" in zero.closure.error.message


def test_approve_reject_and_set_input(registered: tuple[Server, str], remote: FlyteRemote) -> None:
    version = registered[1]
    approved = start(remote, version, "approval", {"x": 5})
    retry(lambda: remote.approve("review", approved.id.name))
    done = finish(remote, approved)
    assert done.closure.phase == WorkflowExecutionPhase.SUCCEEDED and done.outputs["o0"] == "report 10"

    rejected = start(remote, version, "approval", {"x": 5})
    retry(lambda: remote.reject("review", rejected.id.name))
    failed = finish(remote, rejected)
    assert failed.closure.phase == WorkflowExecutionPhase.FAILED
    assert "reject" in failed.closure.error.message

    waiting = start(remote, version, "typed_input", {"x": 2})
    retry(lambda: remote.set_input("title", waiting.id.name, value="Quarterly", python_type=str))
    signals = remote.list_signals(waiting.id.name)
    assert [s.id.signal_id for s in signals] == ["title"]
    assert finish(remote, waiting).outputs["o0"] == "Quarterly report 2"


def test_signal_rules(registered: tuple[Server, str], remote: FlyteRemote) -> None:
    """A wrong type, a second different value and an unknown signal are refused with clear statuses."""
    waiting = start(remote, registered[1], "typed_input", {"x": 1})
    ident = identifier_pb2.SignalIdentifier(signal_id="title", execution_id=waiting.id.to_flyte_idl())
    text = literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(string_value="A")))
    number = literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(integer=3)))
    with grpc.insecure_channel(registered[0].grpc) as channel:
        stub = signal_pb2_grpc.SignalServiceStub(channel)
        unknown = identifier_pb2.SignalIdentifier(signal_id="nope", execution_id=ident.execution_id)
        with pytest.raises(grpc.RpcError) as missing:
            stub.SetSignal(signal_pb2.SignalSetRequest(id=unknown, value=text))
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND
        retry(
            lambda: stub.ListSignals(
                signal_pb2.SignalListRequest(workflow_execution_id=ident.execution_id, limit=5)
            ).signals[0]
        )
        with pytest.raises(grpc.RpcError) as wrong:
            stub.SetSignal(signal_pb2.SignalSetRequest(id=ident, value=number))
        assert wrong.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "not castable" in wrong.value.details()
        stub.SetSignal(signal_pb2.SignalSetRequest(id=ident, value=text))
        stub.SetSignal(signal_pb2.SignalSetRequest(id=ident, value=text))  # the same value again is fine
        other = literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(string_value="B")))
        with pytest.raises(grpc.RpcError) as twice:
            stub.SetSignal(signal_pb2.SignalSetRequest(id=ident, value=other))
        assert twice.value.code() == grpc.StatusCode.ALREADY_EXISTS
        with pytest.raises(grpc.RpcError) as typed:
            bool_type = types_pb2.LiteralType(simple=types_pb2.BOOLEAN)
            stub.GetOrCreateSignal(signal_pb2.SignalGetOrCreateRequest(id=ident, type=bool_type))
        assert typed.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert finish(remote, waiting).outputs["o0"] == "A report 1"


def test_gate_timeout_fails_the_execution(registered: tuple[Server, str], remote: FlyteRemote) -> None:
    done = run(remote, registered[1], "impatient", {"x": 1})
    assert done.closure.phase == WorkflowExecutionPhase.FAILED
    node = remote.client.get_node_execution(NodeExecutionIdentifier("n1", done.id))
    assert node.closure.phase == NodeExecutionPhase.TIMED_OUT and "timed out" in node.closure.error.message


def test_sleep_gate(registered: tuple[Server, str], remote: FlyteRemote) -> None:
    done = run(remote, registered[1], "nap", {"x": 21})
    assert done.closure.phase == WorkflowExecutionPhase.SUCCEEDED and done.outputs["o0"] == 42
    assert done.closure.duration.total_seconds() >= 1


def test_map_task_over_100_items(registered: tuple[Server, str], remote: FlyteRemote) -> None:
    if registered[0].backend != "sqlite":
        pytest.skip("100 task processes are run once per CI run (SQLite); the PostgreSQL run maps 10 items")
    items = list(range(100))
    done = run(remote, registered[1], "map_squares", {"xs": items}, timeout=600)
    assert done.closure.phase == WorkflowExecutionPhase.SUCCEEDED, done.closure.error
    assert done.outputs["o0"] == sum(i * i for i in items)
    synced = remote.sync_execution(done, sync_nodes=True)
    mapped = synced.node_executions["n0"]
    assert mapped.metadata.is_array
    resources = mapped.task_executions[0].closure.metadata.external_resources
    assert sorted(r.index for r in resources) == items and {r.phase for r in resources} == {3}


def test_map_task_small(registered: tuple[Server, str], remote: FlyteRemote) -> None:
    done = run(remote, registered[1], "map_squares", {"xs": list(range(10))})
    assert done.outputs["o0"] == 285


def test_map_success_ratio(registered: tuple[Server, str], remote: FlyteRemote) -> None:
    """Half the items fail: enough for a 0.5 ratio (failed items are None), not for 0.9."""
    tolerant = run(remote, registered[1], "tolerant_map", {"xs": [0, 1, 2, 3]})
    assert tolerant.closure.phase == WorkflowExecutionPhase.SUCCEEDED, tolerant.closure.error
    assert tolerant.outputs["o0"] == [0, None, 2, None]
    strict = run(remote, registered[1], "strict_map", {"xs": [0, 1, 2, 3]})
    assert strict.closure.phase == WorkflowExecutionPhase.FAILED
    message = strict.closure.error.message  # the first failure ends it (either odd item may come first)
    assert "at least 4 had to succeed" in message and ("odd 1" in message or "odd 3" in message)


def test_dynamic_with_map_inside(registered: tuple[Server, str], remote: FlyteRemote) -> None:
    done = run(remote, registered[1], "dynamic_wf", {"n": 4})
    assert done.closure.phase == WorkflowExecutionPhase.SUCCEEDED, done.closure.error
    assert done.outputs["o0"] == (0 + 1 + 4 + 9) + 2 * (0 + 1 + 2 + 3)
    synced = remote.sync_execution(done, sync_nodes=True)
    parent = synced.node_executions["n0"]
    assert parent.metadata.is_parent_node and parent.metadata.is_dynamic
    children = parent.subworkflow_node_executions
    assert "n0-0-dn0" in children and children["n0-0-dn0"].metadata.spec_node_id == "dn0"
    with admin_stub(registered[0].grpc) as stub:
        node_id = NodeExecutionIdentifier("n0", done.id).to_flyte_idl()
        generated = stub.GetDynamicNodeWorkflow(node_execution_pb2.GetDynamicNodeWorkflowRequest(id=node_id))
        node_ids = {n.id for n in generated.compiled_workflow.primary.template.nodes}
        assert {"dn0", "start-node", "end-node"} <= node_ids
        plain = NodeExecutionIdentifier("n0-0-dn0", done.id).to_flyte_idl()
        with pytest.raises(grpc.RpcError) as none:
            stub.GetDynamicNodeWorkflow(node_execution_pb2.GetDynamicNodeWorkflowRequest(id=plain))
        assert none.value.code() == grpc.StatusCode.NOT_FOUND


def test_launch_plan_nodes_three_levels(registered: tuple[Server, str], remote: FlyteRemote) -> None:
    done = finish(remote, start(remote, registered[1], "outer", {"x": 2}, interruptible=True))
    assert done.closure.phase == WorkflowExecutionPhase.SUCCEEDED, done.closure.error
    assert done.outputs["o0"] == 16 + 8  # double(inner(2)) + inner(2), inner(2) = double(square(2)) = 8
    top = remote.client.list_node_executions(done.id, limit=100)[0]
    user_nodes = [n for n in top if n.id.node_id not in ("start-node", "end-node")]
    assert len(user_nodes) == 3  # two launch-plan nodes and the add
    children = [n.closure.workflow_node_metadata.execution_id for n in user_nodes if n.closure.workflow_node_metadata]
    assert len(children) == 2
    counts = {}
    for child in children:
        middle = remote.fetch_execution(name=child.name)
        assert middle.closure.phase == WorkflowExecutionPhase.SUCCEEDED
        assert middle.spec.metadata.mode == 4 and middle.spec.metadata.nesting == 1  # CHILD_WORKFLOW
        assert middle.spec.interruptible is True, "children inherit the parent's interruptible override"
        nodes = remote.client.list_node_executions(middle.id, limit=100)[0]
        counts[middle.spec.launch_plan.name] = len([n for n in nodes if n.id.node_id not in ("start-node", "end-node")])
        for grand in nodes:
            if grand.closure.workflow_node_metadata:
                third = remote.fetch_execution(name=grand.closure.workflow_node_metadata.execution_id.name)
                assert third.spec.metadata.nesting == 2 and third.closure.phase == WorkflowExecutionPhase.SUCCEEDED
                leaf = remote.client.list_node_executions(third.id, limit=100)[0]
                assert len([n for n in leaf if n.id.node_id not in ("start-node", "end-node")]) == 2
    assert counts == {"kinds.middle_lp": 2, "kinds.inner_lp": 2}


def test_failure_node_runs_and_execution_fails(
    registered: tuple[Server, str], remote: FlyteRemote, tmp_path: Path
) -> None:
    marker = tmp_path / "broken"
    marker.write_text("x")
    done = run(remote, registered[1], "with_failure_node", {"x": 1, "marker": str(marker)})
    assert done.closure.phase == WorkflowExecutionPhase.FAILED
    assert "marker" in done.closure.error.message
    cleaned = Path(str(marker) + ".cleaned")
    assert cleaned.exists() and "marker" in cleaned.read_text()


def test_cache_hit_starts_no_process(registered: tuple[Server, str], remote: FlyteRemote, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.txt"
    inputs = {"x": 7, "ledger": str(ledger)}
    first = run(remote, registered[1], "cached", inputs)
    second = run(remote, registered[1], "cached", inputs)
    assert first.outputs["o0"] == second.outputs["o0"] == 70
    assert len(ledger.read_text().splitlines()) == 1, "the cache hit must not start the task"
    statuses = []
    for execution in (first, second):
        node = remote.client.get_node_execution(NodeExecutionIdentifier("n0", execution.id))
        statuses.append(node.closure.task_node_metadata.cache_status)
    assert statuses == [CACHE_POPULATED, CACHE_HIT]
    overwritten = finish(remote, start(remote, registered[1], "cached", inputs, overwrite_cache=True))
    assert overwritten.outputs["o0"] == 70
    assert len(ledger.read_text().splitlines()) == 2, "overwrite_cache runs the task again"


def test_cache_serialize_computes_once(registered: tuple[Server, str], remote: FlyteRemote, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.txt"
    inputs = {"x": 3, "ledger": str(ledger)}
    started = [start(remote, registered[1], "serialized_wf", inputs) for _ in range(2)]
    done = [finish(remote, execution) for execution in started]
    assert [d.outputs["o0"] for d in done] == [300, 300]
    assert len(ledger.read_text().splitlines()) == 1, "the second run waits for the first one's result"
    statuses = sorted(
        remote.client.get_node_execution(NodeExecutionIdentifier("n0", d.id)).closure.task_node_metadata.cache_status
        for d in done
    )
    assert statuses == [CACHE_HIT, CACHE_POPULATED]


def test_recover_skips_succeeded_nodes(registered: tuple[Server, str], remote: FlyteRemote, tmp_path: Path) -> None:
    marker = tmp_path / "broken"
    marker.write_text("x")
    failed = run(remote, registered[1], "recoverable", {"x": 4, "marker": str(marker)})
    assert failed.closure.phase == WorkflowExecutionPhase.FAILED
    marker.unlink()  # the fix
    recovered_id = remote.client.recover_execution(failed.id)
    recovered = finish(remote, remote.fetch_execution(name=recovered_id.name))
    assert recovered.closure.phase == WorkflowExecutionPhase.SUCCEEDED and recovered.outputs["o0"] == 9
    synced = remote.sync_execution(recovered, sync_nodes=True)
    assert synced.node_executions["n0"].closure.phase == NodeExecutionPhase.RECOVERED
    assert synced.node_executions["n0"].task_executions == []
    assert synced.node_executions["n1"].closure.phase == NodeExecutionPhase.SUCCEEDED


def test_backfill_launches_one_child_per_day(registered: tuple[Server, str], remote: FlyteRemote) -> None:
    execution = remote.launch_backfill(
        "flytesnacks",
        "development",
        datetime(2025, 12, 31),  # flytekit schedules the cron ticks after this and before the end:
        datetime(2026, 1, 4),  # Jan 1, 2 and 3
        "kinds.daily_lp",
        launchplan_version=registered[1],
        version=f"bf{registered[1]}",
    )
    done = finish(remote, execution)
    assert done.closure.phase == WorkflowExecutionPhase.SUCCEEDED, done.closure.error
    nodes = remote.client.list_node_executions(done.id, limit=100)[0]
    children = [n.closure.workflow_node_metadata.execution_id for n in nodes if n.closure.workflow_node_metadata]
    children = [c for c in children if c.name]
    assert len(children) == 3
    stamps = sorted(remote.fetch_execution(name=c.name).outputs["o0"] for c in children)
    assert stamps == [f"2026-01-0{d}T00:00:00+00:00" for d in (1, 2, 3)]


def test_eager_task_launches_child_executions(registered: tuple[Server, str], remote: FlyteRemote) -> None:
    task = remote.fetch_task(name=f"{WF}.eager_squares", version=registered[1])
    done = finish(remote, remote.execute(task, inputs={"x": 3}), timeout=300)
    assert done.closure.phase == WorkflowExecutionPhase.SUCCEEDED, done.closure.error
    assert done.outputs["o0"] == 18
    children, _ = remote.client.list_executions_paginated(
        "flytesnacks", "development", limit=100, filters=[Filter.from_python_std("eq(execution_tag.key,eager-exec)")]
    )
    mine = [c for c in children if c.spec.labels.values.get("eager-exec") == done.id.name]
    assert len(mine) == 2 and all(c.closure.phase == WorkflowExecutionPhase.SUCCEEDED for c in mine)

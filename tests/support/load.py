"""A mixed load of real flytekit clients (``SynchronousFlyteClient``, one per thread, no client-side retries so
every server error is seen): CreateExecution, Get and filtered List calls, registration of new task /
workflow / launch-plan versions, data-proxy uploads (CreateUploadLocation + PUT of the signed URL), and two
calls whose error is the right answer (an identical re-registration → ALREADY_EXISTS, a missing execution →
NOT_FOUND). Shared by ``bench/soak.py`` and the bounded load test."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import os
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import grpc
import requests
from flyteidl.admin import common_pb2
from flyteidl.core import identifier_pb2
from flytekit.clients.friendly import SynchronousFlyteClient
from flytekit.configuration import PlatformConfig
from flytekit.models import common as common_models
from flytekit.models import execution as execution_models
from flytekit.models import filters, literals
from flytekit.models.admin import common as admin_common
from flytekit.models.admin.workflow import WorkflowSpec
from flytekit.models.core import identifier as id_models
from flytekit.models.launch_plan import LaunchPlanSpec
from flytekit.models.task import TaskSpec

from tests.support.clients import admin_stub
from tests.support.entities import DOMAIN, PROJECT, gate_workflow, ident, launch_plan, task, task_workflow

GATE = "soak-gate"  # the workflow executions are created of: one 1 s sleep gate, no task process
BASE = "soak-base"  # the task re-registered identically (expected ALREADY_EXISTS)


@dataclass
class Tally:
    """Latencies of successful calls and error counts by (call, code), split into expected and not."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    expected: Counter[tuple[str, str]] = field(default_factory=Counter)
    unexpected: Counter[tuple[str, str]] = field(default_factory=Counter)
    first_error: dict[tuple[str, str], str] = field(default_factory=dict)
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def calls(self) -> int:
        return sum(len(v) for v in self.latencies.values()) + sum(self.expected.values())


def prepare(address: str, tag: str) -> str:
    """Register the workflows the load uses (through the raw stub, once); returns the version."""
    version = f"s{tag}"
    with admin_stub(address) as stub:
        stub.CreateWorkflow(gate_workflow(GATE, version, sleep=timedelta(seconds=1)))
        stub.CreateLaunchPlan(launch_plan(GATE, version, ident(identifier_pb2.WORKFLOW, GATE, version)))
    # Through flytekit's models, as the load re-registers it: their round trip sets some empty fields, which
    # changes the digest (as it would in FlyteAdmin).
    base = task(BASE, version)
    client(address).create_task(id_models.Identifier.from_flyte_idl(base.id), TaskSpec.from_flyte_idl(base.spec))
    return version


def client(address: str) -> SynchronousFlyteClient:
    """flytekit's client without its retries (which would hide errors from the tally)."""
    return SynchronousFlyteClient(
        dataclasses.replace(PlatformConfig.for_endpoint(address, insecure=True), rpc_retries=0)
    )


def error_code(exc: BaseException) -> tuple[str, str]:
    """The gRPC status name (flytekit wraps it: look down the cause chain) or HTTP status, and a message."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, grpc.RpcError):
            return seen.code().name, str(seen.details())[:300]
        if isinstance(seen, requests.HTTPError) and seen.response is not None:
            return f"HTTP {seen.response.status_code}", seen.response.text[:300]
        seen = seen.__cause__ or seen.__context__
    return type(exc).__name__, str(exc)[:300]


class Worker:
    """One client thread: its own flytekit client, its own executions and versions."""

    def __init__(self, address: str, version: str, tally: Tally, seed: int) -> None:
        self.client = client(address)
        self.version = version
        self.tally = tally
        self.random = random.Random(seed)
        self.prefix = f"w{seed}-{uuid.uuid4().hex[:6]}"
        self.count = 0
        self.executions: list[id_models.WorkflowExecutionIdentifier] = []
        self.http = requests.Session()
        lp = id_models.Identifier(id_models.ResourceType.LAUNCH_PLAN, PROJECT, DOMAIN, GATE, version)
        self.spec = execution_models.ExecutionSpec(
            launch_plan=lp, metadata=execution_models.ExecutionMetadata(mode=0, principal="soak", nesting=0)
        )

    def timed(self, name: str, call: Callable[[], object], expect: str = "") -> None:
        """Run one call; with ``expect`` the call must fail with that code (its success is an error)."""
        started = time.perf_counter()
        try:
            call()
        except Exception as exc:  # counted by code: the figure is which calls fail and how
            code, message = error_code(exc)
            with self.tally.lock:
                (self.tally.expected if code == expect else self.tally.unexpected)[(name, code)] += 1
                self.tally.first_error.setdefault((name, code), message)
            return
        with self.tally.lock:
            if expect:
                self.tally.unexpected[(name, "OK")] += 1
            else:
                self.tally.latencies.setdefault(name, []).append(time.perf_counter() - started)

    # The calls ---------------------------------------------------------------------------------------

    def create_execution(self) -> None:
        def call() -> None:
            ident_ = self.client.create_execution(PROJECT, DOMAIN, None, self.spec, literals.LiteralMap({}))
            self.executions.append(ident_)

        self.timed("create_execution", call)

    def get_execution(self) -> None:
        if not self.executions:
            return self.create_execution()
        self.timed("get_execution", lambda: self.client.get_execution(self.random.choice(self.executions)))

    def list_executions(self) -> None:
        wanted = [filters.Equal("launch_plan.name", GATE), filters.ValueIn("phase", ["RUNNING", "SUCCEEDED"])]
        sort = admin_common.Sort("created_at", admin_common.Sort.Direction.DESCENDING)
        self.timed(
            "list_executions",
            lambda: self.client.list_executions_paginated(PROJECT, DOMAIN, limit=20, filters=wanted, sort_by=sort),
        )

    def list_tasks(self) -> None:
        named = common_models.NamedEntityIdentifier(PROJECT, DOMAIN, f"{self.prefix}-t")
        wanted = [filters.NotEqual("version", "none")]
        self.timed("list_tasks", lambda: self.client.list_tasks_paginated(named, limit=20, filters=wanted))

    def register(self) -> None:
        """A new version of a task, a workflow calling it and its launch plan (three calls)."""
        self.count += 1
        version, name = f"v{self.count}", self.prefix
        t = task(f"{name}-t", version)
        w = task_workflow(f"{name}-w", version, f"{name}-t")
        lp = launch_plan(f"{name}-w", version, w.id, x=self.count)
        model = id_models.Identifier.from_flyte_idl
        self.timed("register_task", lambda: self.client.create_task(model(t.id), TaskSpec.from_flyte_idl(t.spec)))
        self.timed(
            "register_workflow", lambda: self.client.create_workflow(model(w.id), WorkflowSpec.from_flyte_idl(w.spec))
        )
        self.timed(
            "register_launch_plan",
            lambda: self.client.create_launch_plan(model(lp.id), LaunchPlanSpec.from_flyte_idl(lp.spec)),
        )

    def get_launch_plan(self) -> None:
        """Through flytekit's raw client: the friendly one caches launch plans (no call after the first)."""
        request = common_pb2.ObjectGetRequest(id=ident(identifier_pb2.LAUNCH_PLAN, GATE, self.version))
        raw = super(SynchronousFlyteClient, self.client)
        self.timed("get_launch_plan", lambda: raw.get_launch_plan(request))

    def upload(self) -> None:
        """CreateUploadLocation and a PUT of 64 KiB to the signed URL, as flytekit's upload does."""
        body = os.urandom(64 * 1024)
        md5 = hashlib.md5(body).digest()

        def call() -> None:
            name = f"{self.prefix}-{uuid.uuid4().hex[:8]}.bin"
            location = self.client.get_upload_signed_url(PROJECT, DOMAIN, content_md5=md5, filename=name)
            headers = {"Content-Length": str(len(body)), "Content-MD5": base64.b64encode(md5).decode()}
            self.http.put(location.signed_url, data=body, headers=headers, timeout=60).raise_for_status()

        self.timed("upload", call)

    def register_identical(self) -> None:
        t = task(BASE, self.version)
        model = id_models.Identifier.from_flyte_idl(t.id)
        spec = TaskSpec.from_flyte_idl(t.spec)
        self.timed("register_identical", lambda: self.client.create_task(model, spec), expect="ALREADY_EXISTS")

    def get_missing(self) -> None:
        missing = id_models.WorkflowExecutionIdentifier(PROJECT, DOMAIN, f"missing{uuid.uuid4().hex[:8]}")
        self.timed("get_missing", lambda: self.client.get_execution(missing), expect="NOT_FOUND")

    def run(self, stop_at: float) -> None:
        ops = [op for op, weight in MIX for _ in range(weight)]
        while time.perf_counter() < stop_at:
            self.random.choice(ops)(self)


# Relative weights of the calls in the mix.
MIX: list[tuple[Callable[[Worker], None], int]] = [
    (Worker.create_execution, 6),
    (Worker.get_execution, 6),
    (Worker.list_executions, 4),
    (Worker.list_tasks, 2),
    (Worker.register, 2),
    (Worker.get_launch_plan, 2),
    (Worker.upload, 2),
    (Worker.register_identical, 1),
    (Worker.get_missing, 1),
]


def run_load(address: str, version: str, clients: int, seconds: float) -> Tally:
    """``clients`` threads running the mix for ``seconds``."""
    tally = Tally()
    workers = [Worker(address, version, tally, seed) for seed in range(clients)]
    stop_at = time.perf_counter() + seconds
    threads = [threading.Thread(target=w.run, args=(stop_at,)) for w in workers]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    tally.seconds = time.perf_counter() - started
    return tally

"""The moving parts of the chaos suite: a server that is killed and restarted on one home, the side-effect
ledger the tasks write, and a snapshot of the killed server's task processes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import grpc
from flyteidl.admin import execution_pb2, signal_pb2
from flyteidl.core import identifier_pb2, literals_pb2
from flyteidl.service import admin_pb2_grpc, signal_pb2_grpc

from tests.support.projects import register_project

READY = re.compile(r"aerodrome ready: gRPC (\S+)\s+HTTP (\S+)")
PROJECT, DOMAIN = "flytesnacks", "development"


class ServerRunner:
    """``aerodrome start`` on one home and database, killed and restarted by PID; raw gRPC stubs to it."""

    def __init__(self, home: Path, db_url: str, env: dict[str, str]) -> None:
        self.home, self.db_url, self.extra = home, db_url, env
        self.process: subprocess.Popen[str] | None = None
        self.grpc = ""
        self.config = home / "flytekit.yaml"
        self.up = threading.Event()
        self._channel: grpc.Channel | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def env(self) -> dict[str, str]:
        """Environment of a flytekit subprocess that talks to this server (``register_project``)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FLYTE", "_FLYTECTL"))}
        env.update(FLYTECTL_CONFIG=str(self.config), FLYTE_SDK_RICH_TRACEBACKS="0")
        return env

    def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "AERODROME_HOME": str(self.home), **self.extra}
        env.pop("AERODROME_DB_URL", None)
        cmd = [sys.executable, "-m", "aerodrome", "start", "--grpc-port", "0", "--http-port", "0"]
        cmd += ["--log-level", "WARNING", *(["--db-url", self.db_url] if self.db_url else [])]
        with (self.home / "server.log").open("a") as log:
            process = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=log, text=True)
        assert process.stdout is not None
        for line in process.stdout:
            if match := READY.search(line):
                break
        else:
            process.wait(timeout=10)
            raise RuntimeError(f"aerodrome did not start:\n{(self.home / 'server.log').read_text()[-4000:]}")
        threading.Thread(target=process.stdout.read, daemon=True).start()  # keep its pipe drained
        self.process, self.grpc = process, match.group(1)
        self.config.write_text(f"admin:\n  endpoint: dns:///{self.grpc}\n  insecure: true\n")
        self._channel = grpc.insecure_channel(self.grpc)
        self.up.set()

    def kill(self) -> None:
        self.up.clear()
        os.kill(self.pid, signal.SIGKILL)
        assert self.process is not None
        self.process.wait()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.up.clear()
        os.kill(self.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(self.pid, signal.SIGKILL)
            self.process.wait()

    def alive(self) -> bool:
        return self.up.is_set() and self.process is not None and self.process.poll() is None

    def wait_restarted(self, timeout: float = 120.0) -> None:
        if not self.up.wait(timeout):
            raise RuntimeError("the server did not come back")

    def register(self, project: Path, scratch: Path) -> str:
        return register_project(self, project, scratch)

    def _admin(self) -> admin_pb2_grpc.AdminServiceStub:
        assert self._channel is not None
        return admin_pb2_grpc.AdminServiceStub(self._channel)

    def create(self, launch_plan: str, version: str, x: int, name: str) -> str:
        """CreateExecution of a launch plan with input ``x`` under ``name`` (chosen by the caller, as flytekit
        does, so that a retry after a lost answer finds the execution instead of creating a second one)."""
        lp = identifier_pb2.Identifier(
            resource_type=identifier_pb2.LAUNCH_PLAN, project=PROJECT, domain=DOMAIN, name=launch_plan, version=version
        )
        inputs = literals_pb2.LiteralMap(literals={"x": _integer(x)})
        request = execution_pb2.ExecutionCreateRequest(
            project=PROJECT, domain=DOMAIN, name=name, spec=execution_pb2.ExecutionSpec(launch_plan=lp), inputs=inputs
        )
        try:
            self._admin().CreateExecution(request, timeout=60)
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.ALREADY_EXISTS:  # created by an earlier try whose answer was lost
                raise
        return name

    def approve(self, name: str, signal_id: str) -> bool:
        """SetSignal true on a gate; False while the gate is not waiting yet or the server is away."""
        if not self.alive():
            return False
        assert self._channel is not None
        stub = signal_pb2_grpc.SignalServiceStub(self._channel)
        ident = identifier_pb2.SignalIdentifier(
            signal_id=signal_id,
            execution_id=identifier_pb2.WorkflowExecutionIdentifier(project=PROJECT, domain=DOMAIN, name=name),
        )
        value = literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(boolean=True)))
        try:
            stub.SetSignal(signal_pb2.SignalSetRequest(id=ident, value=value), timeout=10)
        except grpc.RpcError:
            return False
        return True

    def error(self, name: str) -> str:
        """The error message of a failed execution (empty when it has none)."""
        ident = identifier_pb2.WorkflowExecutionIdentifier(project=PROJECT, domain=DOMAIN, name=name)
        execution = self._admin().GetExecution(execution_pb2.WorkflowExecutionGetRequest(id=ident), timeout=30)
        return str(execution.closure.error.message)

    def output(self, name: str) -> int | None:
        """The integer output ``o0`` of a finished execution (inline in GetExecutionData)."""
        ident = identifier_pb2.WorkflowExecutionIdentifier(project=PROJECT, domain=DOMAIN, name=name)
        data = self._admin().GetExecutionData(execution_pb2.WorkflowExecutionGetDataRequest(id=ident), timeout=30)
        literal = data.full_outputs.literals.get("o0")
        return int(literal.scalar.primitive.integer) if literal is not None else None


def _integer(x: int) -> literals_pb2.Literal:
    return literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(integer=x)))


@dataclass(frozen=True)
class Run:
    """One directory a task ran in, from the ledger: its node, the attempt it ran as, how many times."""

    execution: str
    node: str
    where: str  # the path under the node's prefix: "<attempt>" for a task, "<index>/<attempt>" for a map item
    attempt: int | None  # the task attempt number; None for map items (their node's attempt is not in the path)
    count: int

    def __str__(self) -> str:
        return f"{self.execution}/{self.node}/{self.where}"


class Ledger:
    """The side-effect files the tasks of the mix append to (``$CHAOS_LEDGER``)."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root

    def runs(self, executions: set[str]) -> list[Run]:
        counts: Counter[tuple[str, str, str]] = Counter()
        for path in self.root.iterdir():
            execution = path.name.split(".", 1)[0]
            if execution not in executions:
                continue
            for line in path.read_text().splitlines():
                prefix = line.split(" ", 1)[1]
                rest = prefix.split(f"/{execution}/", 1)[1].removesuffix("/raw")
                node, where = rest.split("/", 1)
                counts[(execution, node, where)] += 1
        return [
            Run(execution, node, where, int(where) if where.isdigit() else None, count)
            for (execution, node, where), count in counts.items()
        ]


class ProcessSnapshot:
    """Processes descending from a server at one moment, identified by PID and start time (PIDs are reused)."""

    def __init__(self, processes: set[tuple[int, str]]) -> None:
        self.processes = processes

    @classmethod
    def of_descendants(cls, pid: int) -> ProcessSnapshot:
        table = _table()
        found, frontier = set(), {pid}
        while frontier:
            frontier = {child for child, (parent, _) in table.items() if parent in frontier} - found
            found |= frontier
        return cls({(p, table[p][1]) for p in found})

    def alive(self, grace: float = 10.0) -> set[int]:
        """Those still alive after ``grace`` seconds (a killed server's children notice and stop)."""
        deadline = time.monotonic() + grace
        while True:
            table = _table()
            left = {p for p, started in self.processes if p in table and table[p][1] == started}
            if not left or time.monotonic() > deadline:
                return left
            time.sleep(0.2)


def _table() -> dict[int, tuple[int, str]]:
    """Live (non-zombie) processes: pid → (parent pid, start time)."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            table[int(entry.name)] = (int(fields[1]), fields[19])
    return table

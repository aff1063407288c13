"""Several real ``aerodrome start`` processes on one PostgreSQL database: executions are leased to exactly
one engine, taken over when a process is killed (SIGKILL: after the lease expires; SIGTERM: at once),
terminate and approve reach the owner from any process, and a PostgreSQL restart loses nothing.

Leases are short here (8 s) so that the takeover tests stay quick; the production default is 15 s.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flytekit.remote import FlyteRemote

from tests.integration.conftest import Server, start_server, stop_server
from tests.support.clients import flyte_remote
from tests.support.pg_queries import fetch
from tests.support.postgres import fresh_database
from tests.support.projects import register_project

PROJECT_DIR = Path(__file__).parent / "projects" / "cluster_app"
TTL = 8.0
ENV = {
    "AERODROME_LEASES_TTL_SECONDS": str(TTL),
    "AERODROME_LEASES_HEARTBEAT_SECONDS": "2",
    "AERODROME_ENGINE_MAX_PROCESSES": "3",
}
WF = "workflows.cluster"


@dataclass
class Cluster:
    url: str
    root: Path
    version: str
    servers: list[Server] = field(default_factory=list)
    remotes: dict[int, FlyteRemote] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        """What the processes share besides the database: the blob store and the URL-signing key."""
        return {**ENV, "AERODROME_BLOB_URL": str(self.root / "blobs"), "AERODROME_BLOB_SIGNING_KEY": "cluster-test"}

    def start(self) -> Server:
        server = start_server(self.root / f"p{len(self.servers)}", self.url, "postgres", self.env())
        self.servers.append(server)
        return server

    def live(self) -> list[Server]:
        return [s for s in self.servers if s.process.poll() is None]

    def remote(self, server: Server) -> FlyteRemote:
        if server.pid not in self.remotes:
            self.remotes[server.pid] = flyte_remote(server.grpc)
        return self.remotes[server.pid]

    def launch(self, server: Server, workflow: str, inputs: dict[str, Any]) -> str:
        remote = self.remote(server)
        lp = remote.fetch_launch_plan(name=f"{WF}.{workflow}", version=self.version)
        return str(remote.execute(lp, inputs=inputs).id.name)

    def rows(self, names: list[str]) -> dict[str, Any]:
        query = (
            "SELECT execution_name, phase, error_code, lease_owner, lease_expires_at FROM executions"
            " WHERE execution_name = ANY($1)"
        )
        return {r["execution_name"]: r for r in fetch(self.url, query, names)}

    def wait(self, names: list[str], timeout: float, phases: tuple[str, ...] = ("SUCCEEDED",)) -> dict[str, Any]:
        """Wait until every execution is terminal; returns the rows."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.rows(names)
            if all(r["phase"] in ("SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT") for r in rows.values()):
                ends = Counter((r["phase"], r["error_code"]) for r in rows.values())
                assert {r["phase"] for r in rows.values()} <= set(phases), ends
                return rows
            assert time.monotonic() < deadline, Counter(r["phase"] for r in rows.values())
            time.sleep(0.5)

    def attempts(self, names: list[str]) -> list[Any]:
        query = (
            "SELECT execution_name, node_id, retry_attempt, phase FROM task_executions WHERE execution_name = ANY($1)"
        )
        return fetch(self.url, query, names)


def _parents() -> dict[int, int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if fields[0] != "Z":  # zombies are dead
                parents[int(entry.name)] = int(fields[1])
    return parents


def descendants(pid: int) -> set[int]:
    """Live processes started (directly or not) by ``pid``: its zygote, task processes and their wrappers."""
    parents, found, frontier = _parents(), set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pids: set[int]) -> set[int]:
    return pids & set(_parents())


def owner_pid(owner: str) -> int:
    return int(owner.split(":")[-2])


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("cluster")
    with fresh_database() as url:
        c = Cluster(url, root, version="")
        try:
            first = c.start()
            c.start()
            c.start()
            c.version = register_project(first, PROJECT_DIR, root)
            yield c
        finally:
            for server in c.live():
                stop_server(server)


def test_three_processes_share_a_burst(cluster: Cluster) -> None:
    servers = cluster.live()
    names = [cluster.launch(servers[i % 3], "chain", {"x": i}) for i in range(60)]
    rows = cluster.wait(names, timeout=240)
    drivers = Counter(owner_pid(r["lease_owner"]) for r in rows.values())
    assert set(drivers) == {s.pid for s in servers}, drivers  # every process drove some
    attempts = cluster.attempts(names)
    assert len(attempts) == 5 * len(names)  # each node ran exactly one attempt
    assert {a["retry_attempt"] for a in attempts} == {0} and {a["phase"] for a in attempts} == {"SUCCEEDED"}


def test_status_lists_the_live_processes(cluster: Cluster) -> None:
    command = [sys.executable, "-m", "aerodrome", "status", "--db-url", cluster.url, "--json"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, env={**os.environ, **ENV})
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert {p["pid"] for p in listed} == {s.pid for s in cluster.live()}
    assert all(p["live"] and p["heartbeat_age_seconds"] < TTL and p["version"] for p in listed)
    import httpx

    answer = httpx.get(f"{cluster.live()[0].http}/api/v1/processes", timeout=30).json()
    assert answer["code"] == 0 and len(answer["data"]) == len(listed)


def _owner_of(cluster: Cluster, name: str) -> Server:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        row = cluster.rows([name])[name]
        if row["lease_expires_at"] is not None and row["phase"] == "RUNNING":
            return next(s for s in cluster.live() if s.pid == owner_pid(row["lease_owner"]))
        time.sleep(0.2)
    raise AssertionError(f"{name} was not claimed")


def _node_phase(cluster: Cluster, name: str, node: str) -> str:
    rows = fetch(
        cluster.url, "SELECT phase FROM node_executions WHERE execution_name = $1 AND node_id = $2", name, node
    )
    return str(rows[0]["phase"]) if rows else ""


def test_terminate_and_approve_reach_the_owner(cluster: Cluster) -> None:
    servers = cluster.live()
    long_run = cluster.launch(servers[0], "long", {"seconds": 600.0})
    gated = cluster.launch(servers[1], "gated", {"x": 1})
    owner = _owner_of(cluster, long_run)
    elsewhere = next(s for s in servers if s.pid != owner.pid)
    while _node_phase(cluster, long_run, "n0") != "RUNNING":
        time.sleep(0.2)
    sent = time.monotonic()
    cluster.remote(elsewhere).terminate(cluster.remote(elsewhere).fetch_execution(name=long_run), cause="stop")
    while cluster.rows([long_run])[long_run]["phase"] != "ABORTED":
        assert time.monotonic() - sent < 2.0, "the terminate did not reach the owning process in 2 s"
        time.sleep(0.1)

    owner = _owner_of(cluster, gated)
    elsewhere = next(s for s in servers if s.pid != owner.pid)
    deadline = time.monotonic() + 60
    while True:  # the signal exists once the gate waits
        try:
            cluster.remote(elsewhere).approve("go", gated)
            break
        except Exception:
            assert time.monotonic() < deadline
            time.sleep(0.3)
    sent = time.monotonic()
    gate_node = "n1"
    while _node_phase(cluster, gated, gate_node) != "SUCCEEDED":
        assert time.monotonic() - sent < 2.0, "the approval did not reach the owning process in 2 s"
        time.sleep(0.1)
    cluster.wait([gated], timeout=60)


def _victim(cluster: Cluster, names: list[str]) -> tuple[Server, list[str]]:
    """The process holding the most live leases among ``names``, and those executions."""
    deadline = time.monotonic() + 60
    while True:
        rows = cluster.rows(names)
        held = Counter(owner_pid(r["lease_owner"]) for r in rows.values() if r["lease_expires_at"] is not None)
        if held and len([r for r in rows.values() if r["phase"] == "RUNNING"]) >= len(names) // 2:
            pid = held.most_common(1)[0][0]
            victim = next(s for s in cluster.live() if s.pid == pid)
            return victim, [
                n for n, r in rows.items() if r["lease_expires_at"] is not None and owner_pid(r["lease_owner"]) == pid
            ]
        assert time.monotonic() < deadline
        time.sleep(0.2)


def _taken_over_within(cluster: Cluster, names: list[str], victim: Server, since: float, limit: float) -> float:
    """Seconds until none of ``names`` is still held by the victim (finished ones count as taken)."""
    while True:
        rows = cluster.rows(names)
        stuck = [
            n
            for n, r in rows.items()
            if owner_pid(r["lease_owner"]) == victim.pid and r["phase"] not in ("SUCCEEDED", "FAILED", "ABORTED")
        ]
        elapsed = time.monotonic() - since
        if not stuck:
            return elapsed
        assert elapsed < limit, f"{len(stuck)} execution(s) still held by the stopped process after {elapsed:.1f} s"
        time.sleep(0.2)


def test_sigterm_hands_executions_over_at_once(cluster: Cluster) -> None:
    servers = cluster.live()
    names = [cluster.launch(servers[i % 3], "chain", {"x": i, "pause": 1.0}) for i in range(9)]
    victim, held = _victim(cluster, names)
    os.kill(victim.pid, signal.SIGTERM)
    stopped = time.monotonic()
    victim.process.wait(timeout=30)
    assert victim.process.returncode == 0
    handed = _taken_over_within(cluster, held, victim, stopped, limit=TTL - 1)  # well before expiry
    cluster.wait(names, timeout=180)
    print(f"SIGTERM hand-over of {len(held)} execution(s): {handed:.1f} s")
    cluster.start()  # back to three


def test_sigkill_takeover_after_expiry(cluster: Cluster) -> None:
    servers = cluster.live()
    names = [cluster.launch(servers[i % 3], "chain", {"x": i, "pause": 1.0}) for i in range(30)]
    victim, held = _victim(cluster, names)
    orphans = descendants(victim.pid)
    assert orphans, "the victim runs no task process"
    os.kill(victim.pid, signal.SIGKILL)
    killed = time.monotonic()
    victim.process.wait()
    taken = _taken_over_within(cluster, held, victim, killed, limit=TTL + 6)  # expiry + a claim + slack
    assert not alive(orphans), "task processes of the killed server are still running"
    cluster.wait(names, timeout=240)
    succeeded = Counter(
        (a["execution_name"], a["node_id"]) for a in cluster.attempts(names) if a["phase"] == "SUCCEEDED"
    )
    assert len(succeeded) == 5 * len(names) and set(succeeded.values()) == {1}  # no succeeded node ran twice
    print(f"SIGKILL takeover of {len(held)} execution(s): {taken:.1f} s (lease {TTL} s)")


def test_postgres_restart_mid_run(cluster: Cluster) -> None:
    """Restarts the shared PostgreSQL server: every process reconnects and every execution finishes."""
    if not os.environ.get("CI") and not os.environ.get("AERODROME_TEST_PG_RESTART"):
        pytest.skip("restarts the machine's PostgreSQL: runs under CI or with AERODROME_TEST_PG_RESTART=1")
    servers = cluster.live()
    names = [cluster.launch(servers[i % len(servers)], "chain", {"x": i, "pause": 1.0}) for i in range(9)]
    time.sleep(3)
    version = os.listdir("/etc/postgresql")[0]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=True, timeout=120)
    rows = cluster.wait(names, timeout=240)
    assert len(rows) == len(names)
    succeeded = Counter(
        (a["execution_name"], a["node_id"]) for a in cluster.attempts(names) if a["phase"] == "SUCCEEDED"
    )
    assert len(succeeded) == 5 * len(names) and set(succeeded.values()) == {1}
    assert all(s.process.poll() is None for s in servers)


def test_a_second_process_on_one_sqlite_file_is_refused(tmp_path: Path) -> None:
    first = start_server(tmp_path / "home", "", "sqlite")
    try:
        with pytest.raises(RuntimeError) as refused:
            start_server(tmp_path / "home", "", "sqlite")
        message = " ".join(str(refused.value).split())  # the console wraps long lines
        assert "SQLite is for one process" in message and f"pid {first.pid}" in message
        assert "Traceback" not in message  # a clear message, not a stack trace
    finally:
        stop_server(first)

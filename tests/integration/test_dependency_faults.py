"""Dependencies failing under running work: PostgreSQL connections cut, the object store stopped, the blob
disk full, a task writing a very large log. The server stays up, answers with clear errors, and every
execution ends correctly once the dependency is back (or fails with an error that names the cause)."""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from flytekit.remote import FlyteRemote

from tests.integration.conftest import Server, start_server, stop_server
from tests.support.chaos_db import Database
from tests.support.clients import flyte_remote
from tests.support.pg_queries import fetch
from tests.support.postgres import fresh_database
from tests.support.projects import register_project
from tests.support.seaweed import seaweed, unique_prefix

PROJECT = Path(__file__).parent / "projects" / "faults_app"
CHAIN = "workflows.faults.chain"


def _launch(remote: FlyteRemote, version: str, count: int, pause: float = 0.5) -> list[str]:
    lp = remote.fetch_launch_plan(name=CHAIN, version=version)
    return [str(remote.execute(lp, inputs={"x": i, "pause": pause}).id.name) for i in range(count)]


def _status(exc: BaseException) -> grpc.RpcError:
    """The gRPC error under flytekit's exception (it wraps every failed call)."""
    cause = exc if isinstance(exc, grpc.RpcError) else exc.__cause__
    assert isinstance(cause, grpc.RpcError), exc
    return cause


def _finish(remote: FlyteRemote, names: list[str], timeout: float = 180) -> dict[str, object]:
    """Wait for every execution; returns name → finished FlyteWorkflowExecution."""
    done: dict[str, object] = {}
    deadline = time.monotonic() + timeout
    while len(done) < len(names):
        for name in set(names) - set(done):
            execution = remote.fetch_execution(name=name)
            if execution.is_done:
                done[name] = execution
        assert time.monotonic() < deadline, f"{len(names) - len(done)} execution(s) did not finish"
        time.sleep(0.5)
    return done


def _no_rerun_of_succeeded(db: Database, names: list[str]) -> None:
    attempts = [a for a in db.attempts() if a["execution_name"] in names]
    won = Counter((a["execution_name"], a["node_id"]) for a in attempts if a["phase"] == "SUCCEEDED")
    assert set(won.values()) == {1}, won
    last = Counter[tuple[str, str]]()
    for a in attempts:
        key = (a["execution_name"], a["node_id"])
        last[key] = max(last[key], int(a["retry_attempt"]))
    winners = {
        (a["execution_name"], a["node_id"]): int(a["retry_attempt"]) for a in attempts if a["phase"] == "SUCCEEDED"
    }
    assert all(last[k] == v for k, v in winners.items()), "an attempt ran after its node had succeeded"
    assert db.integrity() == []


@pytest.fixture
def pg(tmp_path: Path) -> Iterator[tuple[Server, str, str]]:
    with fresh_database() as url:
        server = start_server(tmp_path / "home", url, "postgres")
        try:
            yield server, url, register_project(server, PROJECT, tmp_path)
        finally:
            stop_server(server)


def test_postgres_connections_cut_mid_run(pg: tuple[Server, str, str]) -> None:
    """``pg_terminate_backend`` on every connection of the server (what a PostgreSQL restart looks like to
    a client), three times while executions run: all of them finish, none runs a succeeded node again."""
    server, url, version = pg
    remote = flyte_remote(server.grpc)
    names = _launch(remote, version, 6)
    time.sleep(2.0)
    cut = 0
    for _ in range(3):
        rows = fetch(
            url,
            "SELECT pg_terminate_backend(pid) AS gone FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        cut += sum(1 for r in rows if r["gone"])
        time.sleep(1.5)
    assert cut > 0, "the server held no connection to cut"
    remote.client.list_executions_paginated("flytesnacks", "development", limit=5)  # it answers right away
    finished = _finish(remote, names)
    assert {n: e.closure.phase for n, e in finished.items()} == dict.fromkeys(names, 4)  # SUCCEEDED
    assert sorted(e.outputs["o0"] for e in finished.values()) == [4, 5, 6, 7, 8, 9]  # type: ignore[attr-defined]
    assert server.process.poll() is None
    _no_rerun_of_succeeded(Database(url, server.home), names)


def test_object_store_stopped_mid_run(tmp_path: Path) -> None:
    """SeaweedFS stopped for 10 s while chains run: calls that need it fail with UNAVAILABLE naming the
    store, the rest answer; once it is back every execution finishes (none is lost or failed)."""
    with seaweed(tmp_path / "weed") as store:
        # Short leases: an execution whose drive stopped on the unreachable store resumes when its lease expires.
        leases = {"AERODROME_LEASES_TTL_SECONDS": "5", "AERODROME_LEASES_HEARTBEAT_SECONDS": "1"}
        server = start_server(tmp_path / "home", "", "sqlite", {**store.blob_env(unique_prefix()), **leases})
        try:
            version = register_project(server, PROJECT, tmp_path)
            remote = flyte_remote(server.grpc)
            names = _launch(remote, version, 4)
            time.sleep(2.0)
            store.stop()
            try:
                time.sleep(3.0)
                remote.client.list_executions_paginated("flytesnacks", "development", limit=5)
                with pytest.raises(Exception) as raised:  # its inputs (never stored before) cannot be stored
                    _launch(remote, version, 1, pause=0.25)
                refused = _status(raised.value)
                assert refused.code() == grpc.StatusCode.UNAVAILABLE, refused
                assert "object store" in (refused.details() or ""), refused.details()
                time.sleep(7.0)
            finally:
                store.restart()
            finished = _finish(remote, names, timeout=240)
            phases = {n: (e.closure.phase, e.closure.error and e.closure.error.message) for n, e in finished.items()}  # type: ignore[attr-defined]
            assert {p for p, _ in phases.values()} == {4}, phases
            assert server.process.poll() is None
            _no_rerun_of_succeeded(Database("", server.home), names)
        finally:
            stop_server(server)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MiB tmpfs of our own (the test runs as root), unmounted afterwards."""
    mount = tmp_path / "blobs"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(mount: Path) -> Path:
    filler = mount / "filler"
    with filler.open("wb", buffering=0) as out:
        try:
            while True:
                out.write(b"\0" * (1 << 16))
        except OSError:
            pass
    return filler


def test_blob_disk_full(small_disk: Path, tmp_path: Path) -> None:
    """The blob disk fills up while executions run, then CreateExecution is tried: the running ones end
    SUCCEEDED or FAILED with an error naming the full disk (none hangs), the create is refused with
    RESOURCE_EXHAUSTED naming it (not INTERNAL); once space is back, new executions succeed; the server
    stays up throughout."""
    server = start_server(tmp_path / "home", "", "sqlite", {"AERODROME_BLOB_URL": str(small_disk)})
    try:
        version = register_project(server, PROJECT, tmp_path)
        remote = flyte_remote(server.grpc)
        running = _launch(remote, version, 3, pause=0.3)
        time.sleep(1.0)
        filler = _fill(small_disk)
        with pytest.raises(Exception) as raised:  # refused at the door (inputs never stored before, pause 0):
            _launch(remote, version, 1, pause=0.0)  # the status and message name the cause
        refused = _status(raised.value)
        assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, refused
        assert "No space left" in (refused.details() or ""), refused.details()
        for execution in _finish(remote, running).values():
            closure = execution.closure  # type: ignore[attr-defined]
            failed = closure.phase == 6 and "No space left" in closure.error.message  # FAILED, naming the cause
            assert closure.phase == 4 or failed, closure
        assert server.process.poll() is None
        filler.unlink()
        finished = _finish(remote, _launch(remote, version, 2, pause=0.0))
        assert {e.closure.phase for e in finished.values()} == {4}  # type: ignore[attr-defined]
    finally:
        stop_server(server)


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def test_task_writing_a_huge_log(tmp_path: Path) -> None:
    """A task writes 200 MiB to its log: the server's memory does not grow with it, and the kept log is
    cut to the configured size with a note of what was left out, keeping its start and its end."""
    keep = 4 * 1024 * 1024
    server = start_server(tmp_path / "home", "", "sqlite", {"AERODROME_ENGINE_KEPT_LOG_BYTES": str(keep)})
    try:
        version = register_project(server, PROJECT, tmp_path)
        remote = flyte_remote(server.grpc)
        warm = _finish(remote, [_run_noisy(remote, version, 1)])  # the first run warms the server up
        before = _rss(server.pid)
        (execution,) = _finish(remote, [_run_noisy(remote, version, 200)], timeout=240).values()
        after = _rss(server.pid)
        assert execution.closure.phase == 4, execution.closure  # type: ignore[attr-defined]
        assert after - before < 64 * 1024 * 1024, (before, after)
        synced = remote.sync_execution(execution, sync_nodes=True)  # type: ignore[arg-type]
        (attempt,) = synced.node_executions["n0"].task_executions
        log = Path(attempt.closure.logs[0].uri)
        assert log.stat().st_size <= keep + 1024
        text = log.read_bytes()
        assert b"x" * 1000 in text[:4096] and b"bytes of the log left out" in text
        assert warm
    finally:
        stop_server(server)


def _run_noisy(remote: FlyteRemote, version: str, megabytes: int) -> str:
    lp = remote.fetch_launch_plan(name="workflows.faults.noisy", version=version)
    return str(remote.execute(lp, inputs={"megabytes": megabytes}).id.name)

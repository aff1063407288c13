"""A real aerodrome server on free loopback ports, once per database backend, for the whole session.

The server runs as a subprocess started with the real ``aerodrome start`` command and is stopped by PID.
SQLite always runs; PostgreSQL runs when ``AERODROME_TEST_DATABASE_URL`` points at a server (``.ci/run``
sets it, so under CI both run). Tests share a server, so each uses names or versions of its own.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flytekit.remote import FlyteRemote

from tests.support.clients import flyte_remote
from tests.support.postgres import fresh_database

READY = re.compile(r"aerodrome ready: gRPC (\S+)\s+HTTP (\S+)")


@dataclass(frozen=True)
class Server:
    """A running aerodrome and how to reach it."""

    grpc: str
    http: str
    home: Path
    config: Path
    process: subprocess.Popen[str]
    backend: str

    @property
    def pid(self) -> int:
        return self.process.pid

    def env(self) -> dict[str, str]:
        """Environment for a flytekit subprocess that talks to this server and nothing else."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FLYTE", "_FLYTECTL"))}
        env.update(FLYTECTL_CONFIG=str(self.config), FLYTE_SDK_RICH_TRACEBACKS="0")
        return env


def start_server(
    home: Path, db_url: str, backend: str, extra_env: dict[str, str] | None = None, log_level: str = "WARNING"
) -> Server:
    """Start ``aerodrome start`` on free ports and wait for its ready line."""
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "AERODROME_HOME": str(home), **(extra_env or {})}
    env.pop("AERODROME_DB_URL", None)
    cmd = [sys.executable, "-m", "aerodrome", "start", "--grpc-port", "0", "--http-port", "0", "--log-level", log_level]
    if db_url:
        cmd += ["--db-url", db_url]
    log = (home / "server.log").open("w")
    process = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=log, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        match = READY.search(line)
        if match:
            break
    else:
        process.wait(timeout=10)
        raise RuntimeError(f"aerodrome did not start:\n{(home / 'server.log').read_text()}")
    grpc, http = match.groups()
    config = home / "flytekit.yaml"
    config.write_text(f"admin:\n  endpoint: dns:///{grpc}\n  insecure: true\nconsole:\n  endpoint: {http}\n")
    return Server(grpc, http, home, config, process, backend)


def stop_server(server: Server) -> None:
    """SIGTERM by PID, then wait; SIGKILL if it does not stop in time."""
    os.kill(server.pid, signal.SIGTERM)
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.kill(server.pid, signal.SIGKILL)
        server.process.wait()


def backends() -> list[str]:
    return ["sqlite", "postgres"]


@pytest.fixture(scope="session", params=backends())
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server per backend for the whole session."""
    backend = request.param
    home = tmp_path_factory.mktemp(f"aerodrome-{backend}")
    if backend == "postgres":
        with fresh_database() as url:
            srv = start_server(home, url, backend)
            yield srv
            stop_server(srv)
        return
    srv = start_server(home, "", backend)
    yield srv
    stop_server(srv)


@pytest.fixture
def unique() -> str:
    """A short unique suffix for names and versions of one test."""
    return uuid.uuid4().hex[:10]


@pytest.fixture
def remote(server: Server) -> FlyteRemote:
    """FlyteRemote against the session's server."""
    return flyte_remote(server.grpc)

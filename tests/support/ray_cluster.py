"""A real Ray cluster for tests: a head and one worker node started with ``ray start --block`` on loopback.

Ray binds to the machine's interface address unless the only interface is ``lo``, so these tests run inside
a private network namespace (``.ci/run`` makes one with ``ip netns add`` and runs the Ray test module in
it); elsewhere they skip (and fail under CI). Every port is pinned, both nodes keep their state in a
temporary directory, and they are stopped by the PIDs started here (never ``ray stop``, which would stop
every Ray process of the machine).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

HEAD_PORTS = {
    "port": 26379,
    "object-manager-port": 26380,
    "node-manager-port": 26381,
    "ray-client-server-port": 26382,
    "dashboard-agent-listen-port": 26383,
    "dashboard-agent-grpc-port": 26384,
    "runtime-env-agent-port": 26385,
    "metrics-export-port": 26386,
    "dashboard-port": 28265,
    "min-worker-port": 26400,
    "max-worker-port": 26499,
}
WORKER_PORTS = {
    "object-manager-port": 27380,
    "node-manager-port": 27381,
    "dashboard-agent-listen-port": 27383,
    "dashboard-agent-grpc-port": 27384,
    "runtime-env-agent-port": 27385,
    "metrics-export-port": 27386,
    "min-worker-port": 27400,
    "max-worker-port": 27499,
}
ADDRESS = f"127.0.0.1:{HEAD_PORTS['port']}"
DASHBOARD = f"http://127.0.0.1:{HEAD_PORTS['dashboard-port']}"
NODE_CPUS = 2


@dataclass(frozen=True)
class RayCluster:
    address: str
    dashboard: str
    processes: tuple[subprocess.Popen[bytes], ...]

    def node_ids(self) -> list[str]:
        return [n["node_id"] for n in _nodes()]


def in_private_namespace() -> bool:
    """Whether loopback is this network namespace's only interface."""
    return set(os.listdir("/sys/class/net")) == {"lo"}


def require_ray() -> None:
    reason = ""
    if importlib.util.find_spec("ray") is None or importlib.util.find_spec("flytekitplugins.ray") is None:
        reason = "Ray is not installed (pip install -e '.[test]' brings ray[default] and flytekitplugins-ray)"
    elif not in_private_namespace():
        reason = "Ray tests run in a private network namespace with only lo (.ci/run makes one: see its Ray step)"
    if reason:
        if os.environ.get("AERODROME_RAY_TESTS") == "required":
            pytest.fail(reason)
        pytest.skip(reason)


def _start(args: list[str], ports: dict[str, int], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    ray = str(Path(sys.executable).with_name("ray"))
    flags = [f"--{name}={port}" for name, port in ports.items()]
    with log.open("wb") as out:
        return subprocess.Popen(
            [ray, "start", "--block", "--node-ip-address=127.0.0.1", "--disable-usage-stats", *args, *flags],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )


def _nodes() -> list[dict[str, object]]:
    with urllib.request.urlopen(f"{DASHBOARD}/api/v0/nodes?limit=10", timeout=5) as answer:
        body = json.load(answer)
    return [n for n in body["data"]["result"]["result"] if n.get("state") == "ALIVE"]


def _wait_for_nodes(count: int, processes: list[subprocess.Popen[bytes]], logs: list[Path], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process, log in zip(processes, logs, strict=True):
            if process.poll() is not None:
                raise RuntimeError(f"ray start exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        with contextlib.suppress(OSError, KeyError, ValueError):
            if len(_nodes()) >= count:
                return
        time.sleep(0.5)
    raise RuntimeError("the Ray cluster did not come up:\n" + "\n".join(log.read_text()[-2000:] for log in logs))


def _session_logs(temp: str) -> str:
    """The tails of the Ray processes' own logs, for a cluster that did not start."""
    found = sorted(Path(temp).glob("session_*/logs/*.err")) + sorted(Path(temp).glob("session_*/logs/raylet.out"))
    return "\n".join(f"--- {path.name}\n{path.read_text(errors='replace')[-1500:]}" for path in found)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the ``ray start`` process (it stops what it started), then SIGKILL its session."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # anything of its session that outlived it


@contextlib.contextmanager
def ray_cluster(workdir: Path) -> Iterator[RayCluster]:
    """A head and one worker node (2 CPUs each, no GPU), the worker offering the custom resource ``worker``."""
    require_ray()
    workdir.mkdir(parents=True, exist_ok=True)
    bins = str(Path(sys.executable).parent)
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "PATH": f"{bins}:{os.environ.get('PATH', '')}"}
    env["RAY_raylet_start_wait_time_s"] = "240"  # a loaded 2-core machine starts a raylet slowly
    env = {k: v for k, v in env.items() if not k.startswith(("FLYTE", "AERODROME_"))}
    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # short: Ray's socket paths must fit in 107 bytes
    logs = [workdir / "head.log", workdir / "worker.log"]
    started: list[subprocess.Popen[bytes]] = []
    try:
        head_args = ["--head", "--dashboard-host=127.0.0.1", f"--num-cpus={NODE_CPUS}", f"--temp-dir={temp}"]
        started.append(_start(head_args, HEAD_PORTS, logs[0], env))
        _wait_for_nodes(1, started, logs[:1], 240)
        worker_args = [f"--address={ADDRESS}", f"--num-cpus={NODE_CPUS}", '--resources={"worker": 1}']
        started.append(_start(worker_args, WORKER_PORTS, logs[1], env))
        _wait_for_nodes(2, started, logs, 240)
        yield RayCluster(ADDRESS, DASHBOARD, tuple(started))
    except RuntimeError as exc:
        raise RuntimeError(f"{exc}\n{_session_logs(temp)}") from None
    finally:
        for process in reversed(started):
            stop(process)
        shutil.rmtree(temp, ignore_errors=True)

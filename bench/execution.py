"""Execution overhead: CreateExecution → SUCCEEDED for a 1-task workflow, a 100-node chain, a 100-wide
fan-out and a map task over 1,000 items, next to the cost of a fresh ``import flytekit`` and flytekit's
local execution of the same workflows, all measured in the same run.

Run: ``.venv/bin/python bench/execution.py`` (``--repeat N`` rounds per figure; medians are reported;
``--only map1000`` runs one workflow; ``--cold`` also runs every workflow on a second server started with
``AERODROME_ENGINE_WARM_PROCESSES=false``, fresh interpreters per task, in the same run).
The end of an execution is seen by GetExecution (no node listing) every 10 ms, or every 2% of the time
elapsed once that is longer (fewer calls to load the server with), so the client's figure is at most
max(10 ms, 2%) late; the server's own figure (the execution's ``created_at`` → its SUCCEEDED event,
engine-side timestamps, without the CreateExecution call and the last commit) is printed beside it.
Baselines from the same run: a fresh ``import flytekit``, a fork (and exit) of a process with flytekit
loaded, and flytekit's local run of each workflow (``python -c "from workflows.shapes import one; one()"``,
interpreter start and import included).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from flytekit.configuration import Config
from flytekit.remote import FlyteRemote

sys.path.insert(0, str(Path(__file__).parent))
from _harness import aerodrome_server, cpu_seconds, median

HERE = Path(__file__).parent
PYFLYTE = str(Path(sys.executable).with_name("pyflyte"))


def timed(cmd: list[str], cwd: Path | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - started


TERMINAL = (4, 6, 7, 8)  # SUCCEEDED, FAILED, ABORTED, TIMED_OUT
POLL_SECONDS = 0.01
FORK = """
import os, statistics, time
import flytekit
times = []
for _ in range(50):
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    times.append(time.perf_counter() - started)
print(statistics.median(times))
"""


def fork_seconds() -> float:
    """Median fork + exit + wait of a process that has flytekit loaded (what a warm task start costs at least)."""
    done = subprocess.run([sys.executable, "-c", FORK], check=True, capture_output=True, text=True)
    return float(done.stdout.strip())


def remote_run(remote: FlyteRemote, version: str, workflow: str) -> tuple[float, float]:
    """(client seconds, server seconds) of one execution: CreateExecution → SUCCEEDED seen by GetExecution,
    and the execution's created_at → updated_at (its SUCCEEDED event) as the server recorded them."""
    lp = remote.fetch_launch_plan(name=f"workflows.shapes.{workflow}", version=version)
    started = time.perf_counter()
    execution = remote.execute(lp, inputs={"x": 0})
    deadline = started + 1800
    while True:
        done = remote.client.get_execution(execution.id)
        if done.closure.phase in TERMINAL or time.perf_counter() > deadline:
            break
        time.sleep(max(POLL_SECONDS, (time.perf_counter() - started) / 50))
    elapsed = time.perf_counter() - started
    if done.closure.phase != 4:
        raise RuntimeError(f"{workflow} ended in phase {done.closure.phase}: {done.closure.error.message}")
    server = (done.closure.updated_at - done.closure.created_at).total_seconds()
    return elapsed, server


@contextmanager
def server(home: Path, app: Path, env: dict[str, str]) -> Iterator[tuple[FlyteRemote, str, int]]:
    """A fresh server with the workflows registered and warmed up (its first task starts the warm process);
    yields the client, the registered version and the server's PID."""
    with aerodrome_server(home, env_extra=env) as started:
        grpc = started.grpc
        config = home.parent / f"{home.name}.yaml"
        config.write_text(f"admin:\n  endpoint: dns:///{grpc}\n  insecure: true\n")
        version = f"b{uuid.uuid4().hex[:8]}"
        subprocess.run(
            [PYFLYTE, "-c", str(config), "register", "--version", version, "workflows"],
            cwd=app,
            check=True,
            capture_output=True,
        )
        remote = FlyteRemote(
            Config.for_endpoint(grpc, insecure=True), default_project="flytesnacks", default_domain="development"
        )
        remote_run(remote, version, "one")
        yield remote, version, started.pid


def measure(
    tmp: Path, app: Path, modes: dict[str, dict[str, str]], tasks: dict[str, int], repeat: int
) -> dict[str, dict[str, tuple[float, float, float]]]:
    """Median (client s, server s, server CPU s) per mode and workflow. The servers of all modes run side by
    side and take turns (round by round, workflow by workflow), so a change in the machine's load hits them
    alike. The CPU is the server process's own (all its threads; not its task processes), which, unlike wall
    time, hardly depends on what else runs on the machine."""
    runs: dict[str, dict[str, list[tuple[float, float, float]]]] = {m: {wf: [] for wf in tasks} for m in modes}
    with ExitStack() as stack:
        servers = {m: stack.enter_context(server(tmp / m, app, env)) for m, env in modes.items()}
        for _ in range(repeat):
            for wf in tasks:
                for mode, (remote, version, pid) in servers.items():
                    cpu = cpu_seconds(pid)
                    client, recorded = remote_run(remote, version, wf)
                    runs[mode][wf].append((client, recorded, cpu_seconds(pid) - cpu))
    return {
        m: {wf: tuple(median([run[i] for run in r]) for i in range(3)) for wf, r in by_wf.items()}  # type: ignore[misc]
        for m, by_wf in runs.items()
    }


WORKFLOWS = {"one": 1, "chain100": 100, "fanout100": 100, "map1000": 1000}


def main(repeat: int, only: list[str], cold: bool, before_src: str) -> None:
    tasks = {wf: n for wf, n in WORKFLOWS.items() if not only or wf in only}
    load = [os.getloadavg()[0]]
    import_s = median([timed([sys.executable, "-c", "import flytekit"]) for _ in range(repeat)])
    fork_s = median([fork_seconds() for _ in range(repeat)])
    local = {
        wf: median(
            [
                timed([sys.executable, "-c", f"from workflows.shapes import {wf}; {wf}()"], cwd=HERE)
                for _ in range(repeat)
            ]
        )
        for wf in tasks
    }
    modes: dict[str, dict[str, str]] = {"warm": {}}
    if before_src:  # the same workflows on a server run from an older revision's sources, in the same run
        modes = {"before": {"PYTHONPATH": before_src}, **modes}
    if cold:
        modes["cold"] = {"AERODROME_ENGINE_WARM_PROCESSES": "false"}
    with tempfile.TemporaryDirectory() as tmp:
        app = Path(tmp) / "app"
        shutil.copytree(HERE / "workflows", app / "workflows", ignore=shutil.ignore_patterns("__pycache__"))
        results = measure(Path(tmp), app, modes, tasks, repeat)
        load.append(os.getloadavg()[0])
    print(f"load average (1 min) along the run: {', '.join(f'{x:.1f}' for x in load)} (2 cores)")
    print(
        f"fresh `import flytekit`: {import_s * 1000:.0f} ms; fork of a flytekit-loaded process: {fork_s * 1000:.1f} ms"
    )
    print(
        f"medians of {repeat}; client: CreateExecution → SUCCEEDED seen by GetExecution every "
        f"max({POLL_SECONDS * 1000:.0f} ms, 2% of the time elapsed)"
    )
    header = f"{'mode':>6} {'workflow':>10} {'tasks':>5} {'client s':>9} {'server s':>9} {'per task ms':>12}"
    print(f"{header} {'server CPU ms/task':>18} {'÷ import':>9} {'local s':>8}")
    for mode, figures in results.items():
        for wf, count in tasks.items():
            client, recorded, cpu = figures[wf]
            per_task = client / count
            print(
                f"{mode:>6} {wf:>10} {count:>5} {client:>9.2f} {recorded:>9.2f} {per_task * 1000:>12.1f} "
                f"{cpu / count * 1000:>18.1f} {per_task / import_s:>9.2f} {local[wf]:>8.2f}"
            )
    print("targets: one ≤ 0.1 s, chain100 ≤ 2 s, fanout100 ≤ 1.5 s, map1000 ≤ 5 s (warm)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", action="append", default=[], choices=sorted(WORKFLOWS))
    parser.add_argument("--cold", action="store_true", help="also run with AERODROME_ENGINE_WARM_PROCESSES=false")
    parser.add_argument("--before-src", default="", help="also run a server from this src directory (mode 'before')")
    arguments = parser.parse_args()
    main(arguments.repeat, arguments.only, arguments.cold, arguments.before_src)

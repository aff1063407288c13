"""The Ray launcher's cost per attempt, next to Ray's own floors measured in the same run.

Usage: ``.venv/bin/python bench/ray_launcher.py [--repeat N] [--map-items N]`` (as root: it runs itself in
a private network namespace with only loopback, as the tests do, starting a Ray head and worker node, a
SeaweedFS store and ``aerodrome start`` with the Ray launcher as default).

Prints medians of N rounds (default 5):
- Ray's floors, from a driver on the same cluster: a trivial remote call (``ray.get(f.remote())``), a
  remote ``subprocess.run`` of ``python -c pass``, and a remote ``subprocess.run`` of
  ``python -c "import flytekit"`` (what a fresh task process must at least do);
- aerodrome, once the Ray workers are warm (their zygotes started, the code unpacked): a trivial task's
  attempt in steady state (the task execution's own duration, RUNNING to SUCCEEDED: Ray dispatch, the fork,
  flytekit reading inputs and writing outputs through S3, the outcome read back), the 1-task workflow from
  CreateExecution to SUCCEEDED around it, and a map over ``--map-items`` items (default 1,000), per item;
- the same map over ``--baseline-items`` items (default 100) in batches and, on a second server with
  ``AERODROME_ENGINE_MAP_BATCH_SIZE=0``, with one Ray task per item, interleaved for ``--compare-rounds``
  rounds (default 3; 0 items skips the comparison).
Target: per-attempt overhead <= 2x the remote-subprocess floor; the ratios to both subprocess floors are
printed. Read with the load average printed beside them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

FLOORS = """
import statistics, subprocess, sys, time, ray
ray.init(address=sys.argv[1], log_to_driver=False)
rounds = int(sys.argv[2])

@ray.remote
def noop():
    return 0

@ray.remote
def sub(code):
    return subprocess.run([sys.executable, "-c", code]).returncode

def timed(call, n):
    ray.get(call())  # warm the worker
    out = []
    for _ in range(n):
        started = time.perf_counter(); ray.get(call()); out.append(time.perf_counter() - started)
    return statistics.median(out)

print(timed(noop.remote, 20 * rounds))
print(timed(lambda: sub.remote("pass"), rounds))
print(timed(lambda: sub.remote("import flytekit"), rounds))
"""


def in_namespace() -> None:
    """Re-run this script inside a fresh network namespace with only loopback (then delete it)."""
    name = f"aerodrome-bench-ray-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        code = subprocess.run(["ip", "netns", "exec", name, sys.executable, *sys.argv]).returncode
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False)
    sys.exit(code)


Runner = Callable[[str, dict[str, object]], tuple[float, float]]


@contextmanager
def served(tmp: Path, name: str, env: dict[str, str]) -> Iterator[Runner]:
    """``aerodrome start`` with ``env``, the bench workflows registered; yields a runner of a workflow that
    answers the seconds from CreateExecution to SUCCEEDED and of the (first) task attempt in it."""
    from _harness import aerodrome_server
    from flytekit.configuration import Config
    from flytekit.remote import FlyteRemote

    with aerodrome_server(tmp / name, env_extra=env) as server:
        app = tmp / f"app-{name}"
        shutil.copytree(ROOT / "bench" / "workflows", app / "workflows")
        config = tmp / f"config-{name}.yaml"
        config.write_text(f"admin:\n  endpoint: dns:///{server.grpc}\n  insecure: true\n")
        version = f"b{uuid.uuid4().hex[:8]}"
        pyflyte = str(Path(sys.executable).with_name("pyflyte"))
        clean = {k: v for k, v in os.environ.items() if not k.startswith("FLYTE")}
        register = [pyflyte, "-c", str(config), "register", "--version", version, "workflows"]
        subprocess.run(register, cwd=app, check=True, capture_output=True, env=clean)
        remote = FlyteRemote(
            Config.for_endpoint(server.grpc, insecure=True), default_project="flytesnacks", default_domain="development"
        )

        def run(workflow: str, inputs: dict[str, object]) -> tuple[float, float]:
            plan = remote.fetch_launch_plan(name=f"workflows.{workflow}", version=version)
            started = time.perf_counter()
            done = remote.wait(remote.execute(plan, inputs=inputs), timeout=3600, poll_interval=0.1)
            elapsed = time.perf_counter() - started
            if done.closure.phase != 4:
                raise RuntimeError(f"{workflow}: {done.closure.error.message}")
            synced = remote.sync_execution(done, sync_nodes=True)
            tasks = [t for n in synced.node_executions.values() for t in n.task_executions]
            return elapsed, tasks[0].closure.duration.total_seconds() if tasks else float("nan")

        yield run


def main(repeat: int, items: int, baseline_items: int, compare_rounds: int) -> None:
    from tests.support.ray_cluster import ray_cluster
    from tests.support.seaweed import seaweed

    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        with ray_cluster(tmp / "cluster") as cluster, seaweed(tmp / "weed") as weed:
            floors = subprocess.run(
                [sys.executable, "-c", FLOORS, cluster.address, str(repeat)], check=True, capture_output=True, text=True
            ).stdout.split()
            call_s, pass_s, import_s = (float(v) for v in floors[-3:])
            env = {**weed.blob_env(f"bench-{uuid.uuid4().hex[:6]}"), "AERODROME_ENGINE_LAUNCHER": "ray"}
            env["AERODROME_ENGINE_RAY_ADDRESS"] = cluster.address
            per_item_env = {**env, "AERODROME_ENGINE_MAP_BATCH_SIZE": "0"}
            with served(tmp, "batched", env) as run, served(tmp, "per-item", per_item_env) as single:
                for _ in range(3):  # warm: the workers' zygotes and the unpacked code
                    run("shapes.one", {"x": 0})
                rounds = [run("shapes.one", {"x": 0}) for _ in range(repeat)]
                one_s = statistics.median(r[0] for r in rounds)
                attempt_s = statistics.median(r[1] for r in rounds)
                batched, alone = [], []
                if baseline_items:  # the same map in batches and with one Ray task per item, interleaved
                    run("ray_map.mapped", {"n": 8})
                    single("ray_map.mapped", {"n": 8})
                    for _ in range(compare_rounds):
                        batched.append(run("ray_map.mapped", {"n": baseline_items})[0])
                        alone.append(single("ray_map.mapped", {"n": baseline_items})[0])
                map_s = run("ray_map.mapped", {"n": items})[0]
    load = os.getloadavg()
    print(f"Ray trivial remote call        {call_s * 1000:8.1f} ms")
    print(f"Ray remote subprocess.run pass {pass_s * 1000:8.1f} ms")
    print(f"Ray remote subprocess.run import flytekit {import_s * 1000:8.1f} ms")
    print(f"aerodrome trivial task attempt on a warm Ray worker {attempt_s * 1000:8.1f} ms")
    print(f"  ratio to the python -c pass floor {attempt_s / pass_s:5.2f}")
    print(f"  ratio to the import-flytekit floor {attempt_s / import_s:5.2f}")
    print(f"aerodrome 1-task workflow on Ray, CreateExecution to SUCCEEDED {one_s * 1000:8.1f} ms")
    print(f"aerodrome map over {items} items on Ray: {map_s:7.1f} s, {map_s / items * 1000:7.1f} ms per item")
    if baseline_items:
        for label, runs in (("in batches", batched), ("one Ray task per item", alone)):
            seconds = statistics.median(runs)
            per_item = seconds / baseline_items * 1000
            shown = ", ".join(f"{r:.1f}" for r in runs)
            print(f"aerodrome map over {baseline_items} items, {label}: median {seconds:7.1f} s ({shown}), "
                  f"{per_item:7.1f} ms per item")
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} (2-core machine)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--map-items", type=int, default=1000)
    parser.add_argument("--baseline-items", type=int, default=100, help="map size of the batched/per-item comparison")
    parser.add_argument("--compare-rounds", type=int, default=3, help="interleaved rounds of that comparison")
    arguments = parser.parse_args()
    if set(os.listdir("/sys/class/net")) != {"lo"}:
        in_namespace()
    main(arguments.repeat, arguments.map_items, arguments.baseline_items, arguments.compare_rounds)

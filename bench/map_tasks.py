"""Map tasks: CreateExecution → SUCCEEDED of a map over 1,000 and over 10,000 tiny items, with the server's
CPU, the task processes' CPU and the server's RSS growth per item, next to two baselines measured in the
same run: a fresh ``import flytekit`` and a fork (+ exit) of a process that has imported flytekit.

Run: ``.venv/bin/python bench/map_tasks.py [--repeat N] [--only map100|map1000|map10000] [--cold]``; ``--cold``
starts the server with ``AERODROME_ENGINE_WARM_PROCESSES=false``; ``--env K=V`` adds server settings
(e.g. ``AERODROME_ENGINE_MAP_BATCH_SIZE=0`` for one forked process per item). Medians of N rounds.
Targets: map over 1,000 items ≤ 5 s, over 10,000 items ≤ 50 s (a shared 2-core machine: read the load
average printed beside them).
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
from pathlib import Path

from flytekit.configuration import Config
from flytekit.remote import FlyteRemote

sys.path.insert(0, str(Path(__file__).parent))
from _harness import aerodrome_server, cpu_seconds, median

HERE = Path(__file__).parent
PYFLYTE = str(Path(sys.executable).with_name("pyflyte"))
SIZES = {"map100": 100, "map1000": 1000, "map10000": 10000}
DEFAULT = ["map1000", "map10000"]  # map100 on request (--only map100: a cold server's figure)
FORK = (
    "import os, time, flytekit\n"
    "from flytekit.bin import entrypoint\n"
    "n = 50; started = time.perf_counter()\n"
    "for _ in range(n):\n"
    "    pid = os.fork()\n"
    "    if pid == 0:\n"
    "        os._exit(0)\n"
    "    os.waitpid(pid, 0)\n"
    "print((time.perf_counter() - started) / n)\n"
)


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def children_cpu(pid: int) -> float:
    """CPU of the server's task processes: its children (the zygote, subprocesses) and what they reaped."""
    total = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
            except FileNotFoundError:
                continue
            total += sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return total + (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


def run_once(remote: FlyteRemote, version: str, workflow: str, pid: int) -> dict[str, float]:
    lp = remote.fetch_launch_plan(name=f"workflows.maps.{workflow}", version=version)
    before_rss, before_cpu, before_tasks = rss_bytes(pid), cpu_seconds(pid), children_cpu(pid)
    started = time.perf_counter()
    execution = remote.execute(lp, inputs={})
    done = remote.wait(execution, timeout=3600, poll_interval=0.2)
    elapsed = time.perf_counter() - started
    if done.closure.phase != 4:
        raise RuntimeError(f"{workflow} ended in phase {done.closure.phase}: {done.closure.error.message}")
    n = SIZES[workflow]
    if done.outputs["o0"] != sum(i * i for i in range(n)):
        raise RuntimeError(f"{workflow}: wrong sum {done.outputs['o0']}")
    return {
        "wall": elapsed,
        "server_cpu": cpu_seconds(pid) - before_cpu,
        "task_cpu": children_cpu(pid) - before_tasks,
        "rss_growth": rss_bytes(pid) - before_rss,
        "rss_after": rss_bytes(pid),
    }


def main(args: argparse.Namespace) -> None:
    load = os.getloadavg()
    import_s = median([_timed([sys.executable, "-c", "import flytekit"]) for _ in range(args.repeat)])
    fork_s = median(
        [
            float(subprocess.run([sys.executable, "-c", FORK], check=True, capture_output=True, text=True).stdout)
            for _ in range(args.repeat)
        ]
    )
    env = dict(item.split("=", 1) for item in args.env)
    if args.cold:
        env["AERODROME_ENGINE_WARM_PROCESSES"] = "false"
    results: dict[str, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        app = Path(tmp) / "app"
        shutil.copytree(HERE / "workflows", app / "workflows", ignore=shutil.ignore_patterns("__pycache__"))
        with aerodrome_server(Path(tmp) / "home", env_extra=env) as server:
            config = Path(tmp) / "config.yaml"
            config.write_text(f"admin:\n  endpoint: dns:///{server.grpc}\n  insecure: true\n")
            version = f"b{uuid.uuid4().hex[:8]}"
            subprocess.run(
                [PYFLYTE, "-c", str(config), "register", "--version", version, "workflows"],
                cwd=app,
                check=True,
                capture_output=True,
            )
            remote = FlyteRemote(
                Config.for_endpoint(server.grpc, insecure=True),
                default_project="flytesnacks",
                default_domain="development",
            )
            start_rss = rss_bytes(server.pid)
            for workflow in args.only or DEFAULT:
                results[workflow] = []
                for round_ in range(args.repeat):
                    figures = run_once(remote, version, workflow, server.pid)
                    results[workflow].append(figures)
                    print(f"  {workflow} round {round_ + 1}: {figures['wall']:.2f} s", flush=True)
    print(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; now: {os.getloadavg()[0]:.2f}")
    print(f"fresh `import flytekit`: {import_s * 1000:.0f} ms; fork+exit of a flytekit process: {fork_s * 1000:.2f} ms")
    print(f"server RSS after start and registration: {start_rss / 2**20:.0f} MiB")
    header = ("workflow", "items", "wall s", "ms/item", "server ms/item", "tasks ms/item", "RSS KiB/item", "RSS MiB")
    print("{:>9} {:>6} {:>8} {:>8} {:>15} {:>14} {:>13} {:>8}".format(*header))
    for workflow, rounds in results.items():
        n = SIZES[workflow]
        med = {key: median([r[key] for r in rounds]) for key in rounds[0]}
        print(
            f"{workflow:>9} {n:>6} {med['wall']:>8.2f} {med['wall'] / n * 1000:>8.2f} "
            f"{med['server_cpu'] / n * 1000:>15.2f} {med['task_cpu'] / n * 1000:>14.2f} "
            f"{med['rss_growth'] / n / 1024:>13.2f} {med['rss_after'] / 2**20:>8.0f}"
        )
    print("targets: map1000 ≤ 5 s, map10000 ≤ 50 s")


def _timed(cmd: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - started


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", action="append", default=[], choices=sorted(SIZES))
    parser.add_argument("--cold", action="store_true", help="AERODROME_ENGINE_WARM_PROCESSES=false")
    parser.add_argument("--env", action="append", default=[], help="K=V added to the server's environment")
    main(parser.parse_args())

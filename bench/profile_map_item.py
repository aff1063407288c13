"""Where one map item's time goes, before and after batching, measured in the same run.

Before: one fork per item of a process that has imported flytekit (as the zygote forked them), running
``pyflyte-map-execute`` with the array node's whole input list. After: the items run one after another in
one forked process (``map_batch.py``, exactly as the server runs them), each with only its own element.
Then a cProfile of the batch path, per item, grouped by what flytekit does (execution context and scratch
directories, inputs, outputs; the main thread only: flytekit runs its async conversions and copies in a
loop thread, which shows as the main thread waiting), and the baselines of the same run: a fork + exit of a
flytekit process and a fresh ``import flytekit``.

Run: ``.venv/bin/python bench/profile_map_item.py [--items 1000] [--measured 100]``.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import pstats
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from flyteidl.core import literals_pb2

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))  # workflows.maps, the task being mapped
RESOLVER_ARGS = ["vars", "", "resolver", "flytekit.core.python_auto_container.default_task_resolver"]
RESOLVER_ARGS += ["task-module", "workflows.maps", "task-name", "square"]
ENV = {
    "BATCH_JOB_ARRAY_INDEX_VAR_NAME": "FLYTE_K8S_ARRAY_INDEX",
    "FLYTE_INTERNAL_EXECUTION_ID": "e",
    "FLYTE_INTERNAL_EXECUTION_PROJECT": "p",
    "FLYTE_INTERNAL_EXECUTION_DOMAIN": "d",
    "FLYTE_INTERNAL_TASK_PROJECT": "p",
    "FLYTE_INTERNAL_TASK_DOMAIN": "d",
    "FLYTE_INTERNAL_TASK_NAME": "t",
    "FLYTE_INTERNAL_TASK_VERSION": "v",
}
GROUPS = {  # cumulative time of these functions, per item
    "execution context, scratch dirs (setup_execution)": ("entrypoint.py", "setup_execution"),
    "inputs: copy + parse + to Python": ("entrypoint.py", "_dispatch_execute", "inputs"),
    "waiting on flytekit's loop thread (copies, conversions)": ("asyn.py", "run_sync"),
    "slicing (batch only; the first item loads the task, reads the list)": ("map_batch.py", "item_inputs"),
}


def args_for(root: str, index: int) -> list[str]:
    out = f"{root}/o{index}"
    return [
        "--inputs", f"{root}/inputs.pb", "--output-prefix", out, "--raw-output-data-prefix", f"{out}/raw",
        "--checkpoint-path", f"{out}/raw/_flytecheckpoints", "--prev-checkpoint", '""',
        "--resolver", "flytekit.core.array_node_map_task.ArrayNodeMapTaskResolver", "--", *RESOLVER_ARGS,
    ]  # fmt: skip


def write_inputs(root: str, size: int) -> None:
    items = [
        literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(integer=i)))
        for i in range(size)
    ]
    inputs = literals_pb2.LiteralMap(
        literals={"x": literals_pb2.Literal(collection=literals_pb2.LiteralCollection(literals=items))}
    )
    Path(root, "inputs.pb").write_bytes(inputs.SerializeToString())


def fork_per_item(root: str, measured: int, size: int) -> tuple[list[float], list[float]]:
    """Before: a fork of a flytekit process per item, pyflyte-map-execute in it (whole input list)."""
    from flytekit.bin import entrypoint  # type: ignore[import-untyped]

    walls, cpus = [], []
    for k in range(measured):
        index = k * size // measured
        started = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            os.setsid()
            log = os.open(f"{root}/fork{k}.log", os.O_WRONLY | os.O_CREAT, 0o644)
            os.dup2(log, 1), os.dup2(log, 2)
            os.environ.update(ENV, FLYTE_K8S_ARRAY_INDEX=str(index))
            with contextlib.suppress(SystemExit):
                entrypoint.map_execute_task_cmd.main(args=args_for(root, index), standalone_mode=True)
            os._exit(0)
        _, _, usage = os.wait4(pid, 0)
        walls.append(time.perf_counter() - started)
        cpus.append(usage.ru_utime + usage.ru_stime)
        assert Path(f"{root}/o{index}/outputs.pb").exists(), Path(f"{root}/fork{k}.log").read_text()
    return walls, cpus


def batch(root: str, measured: int, size: int, profile: str = "") -> tuple[list[float], list[float]]:
    """After: the items in one forked process, as map_batch.py runs them for the server."""
    from flytekit.bin import entrypoint

    from aerodrome.engine.launchers import map_batch

    path = f"{tempfile.mkdtemp(prefix='mapprof-')}/s"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    messages: list[dict[str, Any]] = []

    def collect() -> None:
        connection, _ = listener.accept()
        for line in connection.makefile("rb"):
            messages.append({**json.loads(line), "at": time.perf_counter()})

    reader = threading.Thread(target=collect)
    reader.start()
    items = [
        {"i": k * size // measured, "a": 0, "prefix": f"{root}/b{k}", "prev": "", "dir": f"{root}/bd{k}",
         "log": f"{root}/b{k}.log", "remove": True}
        for k in range(measured)
    ]  # fmt: skip
    request = {"batch": {"socket": path, "token": "t", "args": args_for(root, 0), "items": items}}
    pid = os.fork()
    if pid == 0:
        os.makedirs(f"{root}/batch-{len(profile)}", exist_ok=True)
        os.chdir(f"{root}/batch-{len(profile)}")
        os.environ.update(ENV)
        profiler = cProfile.Profile() if profile else None
        if profiler:
            profiler.enable()
        map_batch.run(request, entrypoint)
        if profiler:
            profiler.disable()
            profiler.dump_stats(profile)
        os._exit(0)
    os.waitpid(pid, 0)
    reader.join()
    starts = {m["start"]: m["at"] for m in messages if "start" in m}
    done = [m for m in messages if "done" in m]
    assert len(done) == measured and all(m["has_outputs"] for m in done), Path(f"{root}/b0.log").read_text()
    return [m["at"] - starts[m["done"]] for m in done], [m["cpu"] for m in done]


def grouped(profile: str, measured: int) -> dict[str, float]:
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    out: dict[str, float] = {}
    for label, (file, name, *_) in GROUPS.items():
        out[label] = sum(v[3] for (f, _, n), v in stats.items() if f.endswith(file) and n == name) / measured
    out["inputs: copy + parse + to Python"] = (
        sum(
            v[3]
            for (f, _, n), v in stats.items()
            if n in {"get_data", "_literal_map_to_python_input", "load_proto_from_file"}
        )
        / measured
    )
    total = sum(v[3] for (f, _, n), v in stats.items() if f.endswith("map_batch.py") and n == "run_item") / measured
    out["whole item (run_item)"] = total
    return out


def main(size: int, measured: int) -> None:
    load = os.getloadavg()
    fresh = statistics.median([_timed([sys.executable, "-c", "import flytekit"]) for _ in range(3)])
    from flytekit.bin import entrypoint  # noqa: F401 - the import every fork below inherits

    forks = []
    for _ in range(50):
        started = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        forks.append(time.perf_counter() - started)
    with tempfile.TemporaryDirectory() as root:
        write_inputs(root, size)
        before_wall, before_cpu = fork_per_item(root, measured, size)
        after_wall, after_cpu = batch(root, measured, size)
        profile = f"{root}/batch.prof"
        batch(root, measured, size, profile)
        groups = grouped(profile, measured)
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; now {os.getloadavg()[0]:.2f}")
    print(f"fresh `import flytekit`: {fresh * 1000:.0f} ms; fork+exit of a flytekit process: "
          f"{statistics.median(forks) * 1000:.2f} ms")  # fmt: skip
    print(f"a map over {size} items, {measured} items measured (medians per item):")
    print(f"  before, a fork per item (pyflyte-map-execute): wall {statistics.median(before_wall) * 1000:.1f} ms, "
          f"CPU {statistics.median(before_cpu) * 1000:.1f} ms")  # fmt: skip
    print(f"  after, items in one batch process: wall {statistics.median(after_wall) * 1000:.1f} ms, "
          f"CPU {statistics.median(after_cpu) * 1000:.1f} ms")  # fmt: skip
    print("  batch item under cProfile (ms per item, cumulative, overlapping):")
    for label, seconds in groups.items():
        print(f"    {label:<70} {seconds * 1000:7.2f}")
    self_cpu = resource.getrusage(resource.RUSAGE_SELF)
    print(f"  (this script's own CPU: {self_cpu.ru_utime + self_cpu.ru_stime:.1f} s)")


def _timed(cmd: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - started


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000, help="length of the mapped list")
    parser.add_argument("--measured", type=int, default=100, help="items run each way")
    arguments = parser.parse_args()
    main(arguments.items, arguments.measured)

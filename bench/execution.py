"""Execution overhead: CreateExecution → SUCCEEDED for a 1-task workflow, a 100-node chain, a 100-wide
fan-out and a map task over 1,000 items, next to the cost of a fresh ``import flytekit`` and flytekit's
local execution of the same workflows, all measured in the same run.

Run: ``.venv/bin/python bench/execution.py`` (``--repeat N`` rounds per figure; medians are reported;
``--only map1000`` runs one workflow).
The target for now: per-task overhead ≤ 1.5 times the fresh flytekit import time.
"""

from __future__ import annotations

import argparse
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
from _harness import aerodrome, median

HERE = Path(__file__).parent
PYFLYTE = str(Path(sys.executable).with_name("pyflyte"))


def timed(cmd: list[str], cwd: Path | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - started


def remote_run(remote: FlyteRemote, version: str, workflow: str) -> float:
    lp = remote.fetch_launch_plan(name=f"workflows.shapes.{workflow}", version=version)
    started = time.perf_counter()
    execution = remote.execute(lp, inputs={"x": 0})
    done = remote.wait(execution, timeout=1800, poll_interval=0.2)
    elapsed = time.perf_counter() - started
    if done.closure.phase != 4:
        raise RuntimeError(f"{workflow} ended in phase {done.closure.phase}: {done.closure.error.message}")
    return elapsed


WORKFLOWS = {"one": 1, "chain100": 100, "fanout100": 100, "map1000": 1000}


def main(repeat: int, only: list[str]) -> None:
    tasks = {wf: n for wf, n in WORKFLOWS.items() if not only or wf in only}
    import_s = median([timed([sys.executable, "-c", "import flytekit"]) for _ in range(repeat)])
    local = {
        wf: median(
            [
                timed([sys.executable, "-c", f"from workflows.shapes import {wf}; {wf}()"], cwd=HERE)
                for _ in range(repeat)
            ]
        )
        for wf in tasks
    }
    with tempfile.TemporaryDirectory() as tmp:
        app = Path(tmp) / "app"
        shutil.copytree(HERE / "workflows", app / "workflows", ignore=shutil.ignore_patterns("__pycache__"))
        with aerodrome(Path(tmp) / "home") as grpc:
            config = Path(tmp) / "config.yaml"
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
            remote_s = {
                wf: median([remote_run(remote, version, wf) for _ in range(repeat)])
                for wf in tasks
            }
    print(f"fresh `import flytekit`: {import_s * 1000:.0f} ms (median of {repeat})")
    print(f"{'workflow':>10} {'tasks':>5} {'aerodrome s':>12} {'per task ms':>12} {'÷ import':>9} {'local s':>8}")
    for wf, count in tasks.items():
        per_task = remote_s[wf] / count
        print(
            f"{wf:>10} {count:>5} {remote_s[wf]:>12.2f} {per_task * 1000:>12.0f} {per_task / import_s:>9.2f} "
            f"{local[wf]:>8.2f}"
        )
    print("target: per-task overhead ≤ 1.5 times the fresh flytekit import time")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", action="append", default=[], choices=sorted(WORKFLOWS))
    arguments = parser.parse_args()
    main(arguments.repeat, arguments.only)

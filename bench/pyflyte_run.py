"""``pyflyte run --remote --wait --poll-interval 1`` of a 1-task workflow next to plain ``pyflyte run`` (local)
of the same workflow, in the same run: what a user iterating from a terminal waits for.

Run: ``.venv/bin/python bench/pyflyte_run.py [--repeat N]``. Target: remote ≤ 1.2 times local (medians).
flytekit polls every 30 s unless told otherwise, hence ``--poll-interval 1`` (its smallest useful value):
the remote figure is therefore rounded up to whole poll intervals after the first status check.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _harness import aerodrome, median

HERE = Path(__file__).parent
PYFLYTE = str(Path(sys.executable).with_name("pyflyte"))


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {done.stderr[-2000:]}")
    return elapsed


def main(repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        app = tmp / "app"
        shutil.copytree(HERE / "workflows", app / "workflows", ignore=shutil.ignore_patterns("__pycache__"))
        env = {**os.environ, "FLYTE_SDK_LOGGING_LEVEL": "40"}
        local_cmd = [PYFLYTE, "run", "workflows/shapes.py", "one", "--x", "1"]
        with aerodrome(tmp / "home") as grpc:
            config = tmp / "config.yaml"
            config.write_text(f"admin:\n  endpoint: dns:///{grpc}\n  insecure: true\n")
            remote_cmd = [PYFLYTE, "-c", str(config), "run", "--remote", "--wait", "--poll-interval", "1"]
            remote_cmd += ["workflows/shapes.py", "one", "--x", "1"]
            timed(remote_cmd, app, env)  # the first run registers the code version; not counted
            local, remote = [], []
            for _ in range(repeat):
                local.append(timed(local_cmd, app, env))
                remote.append(timed(remote_cmd, app, env))
    lm, rm = median(local), median(remote)
    print(f"load average {os.getloadavg()[0]:.1f}; medians of {repeat}")
    print(f"  pyflyte run (local):                              {lm:6.2f} s")
    print(f"  pyflyte run --remote --wait --poll-interval 1:    {rm:6.2f} s   {rm / lm:.2f}x local (target ≤ 1.2)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    main(parser.parse_args().repeat)

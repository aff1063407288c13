"""Console page speed: the execution page of a map over 1,000 items and the executions list with 100,000
executions in the database, each next to the API calls that fetch the same data, in the same run.

Run: ``.venv/bin/python bench/console.py [--repeat N] [--seed N]``. A real server (SQLite) runs map1000 from
bench/workflows once; the database is then seeded with copies of that execution row (plain SQL, the way a
busy deployment's table looks) and each page is requested N times over loopback. Figures are medians of
client-observed time (the same client for page and API). Targets: each page ≤ 2x its API calls and under
150 ms at the median on SQLite.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from flytekit.configuration import Config
from flytekit.remote import FlyteRemote

sys.path.insert(0, str(Path(__file__).parent))
from _harness import aerodrome_server, median

HERE = Path(__file__).parent
PYFLYTE = str(Path(sys.executable).with_name("pyflyte"))
READY = re.compile(r"aerodrome ready: gRPC (\S+)\s+HTTP (\S+)")
P, D = "flytesnacks", "development"


@contextmanager
def server(home: Path) -> Iterator[tuple[str, str]]:
    """``aerodrome start`` on SQLite; yields (gRPC address, HTTP base URL) and stops it by PID."""
    with aerodrome_server(home) as started:
        yield started.grpc, started.http


def run_map(grpc: str, tmp: Path) -> str:
    """Register bench/workflows and run map1000 to the end; its execution name."""
    app = tmp / "app"
    shutil.copytree(HERE / "workflows", app / "workflows", ignore=shutil.ignore_patterns("__pycache__"))
    config = tmp / "config.yaml"
    config.write_text(f"admin:\n  endpoint: dns:///{grpc}\n  insecure: true\n")
    version = f"c{uuid.uuid4().hex[:8]}"
    subprocess.run(
        [PYFLYTE, "-c", str(config), "register", "--version", version, "workflows"],
        cwd=app,
        check=True,
        capture_output=True,
    )
    remote = FlyteRemote(Config.for_endpoint(grpc, insecure=True), default_project=P, default_domain=D)
    lp = remote.fetch_launch_plan(name="workflows.shapes.map1000", version=version)
    done = remote.wait(remote.execute(lp, inputs={"x": 0}), timeout=1800, poll_interval=1)
    if done.closure.phase != 4:
        raise RuntimeError(f"map1000 ended in phase {done.closure.phase}: {done.closure.error.message}")
    return str(done.id.name)


def seed(database: Path, template: str, count: int) -> None:
    """``count`` copies of one execution row under new names (recursive CTE, one transaction)."""
    db = sqlite3.connect(database, timeout=60)
    columns = [row[1] for row in db.execute("PRAGMA table_info(executions)") if row[1] != "id"]
    chosen = ", ".join("'s' || n" if c == "execution_name" else c for c in columns)
    db.execute(
        f"WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?) "
        f"INSERT INTO executions ({', '.join(columns)}) SELECT {chosen} FROM seq, executions "
        f"WHERE executions.execution_name = ?",
        (count, template),
    )
    db.commit()
    db.close()


def timed(client: httpx.Client, urls: list[str], repeat: int) -> float:
    """Median seconds to fetch every URL in ``urls`` once (in order), over ``repeat`` rounds after a warm-up."""

    def once() -> float:
        started = time.perf_counter()
        for url in urls:
            response = client.get(url)
            response.raise_for_status()
        return time.perf_counter() - started

    once()
    return median([once() for _ in range(repeat)])


def report(label: str, page: float, api: float) -> None:
    ratio = page / api if api else float("inf")
    verdict = "ok" if ratio <= 2 and page < 0.150 else "MISSED"
    print(f"{label:<34} page {page * 1000:7.1f} ms   api {api * 1000:7.1f} ms   x{ratio:4.2f}   {verdict}")


def main(repeat: int, count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        with server(home) as (grpc, http):
            name = run_map(grpc, Path(tmp))
            started = time.perf_counter()
            seed(home / "aerodrome.db", name, count)
            print(f"seeded {count} executions in {time.perf_counter() - started:.1f} s")
            console = f"{http}/console/projects/{P}/domains/{D}"
            api = f"{http}/api/v1"
            with httpx.Client(timeout=60) as client:
                measure: dict[str, Callable[[], tuple[float, float]]] = {
                    "execution page (map over 1,000)": lambda: (
                        timed(client, [f"{console}/executions/{name}"], repeat),
                        timed(
                            client,
                            [
                                f"{api}/executions/{P}/{D}/{name}",
                                f"{api}/node_executions/{P}/{D}/{name}?limit=100",
                                f"{api}/data/executions/{P}/{D}/{name}",
                            ],
                            repeat,
                        ),
                    ),
                    f"executions list ({count:,} rows)": lambda: (
                        timed(client, [f"{console}/executions"], repeat),
                        timed(
                            client,
                            [
                                f"{api}/executions/{P}/{D}?limit=25&sort_by.key=execution_created_at"
                                "&sort_by.direction=DESCENDING"
                            ],
                            repeat,
                        ),
                    ),
                }
                for label, run in measure.items():
                    report(label, *run())
    load = os.getloadavg()
    print(f"medians of {repeat}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    print("targets: page ≤ 2x its API calls and < 150 ms (SQLite)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--seed", type=int, default=100_000)
    arguments = parser.parse_args()
    main(arguments.repeat, arguments.seed)

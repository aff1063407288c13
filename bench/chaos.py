"""Chaos: executions of a workflow mix, the server SIGKILLed at a random moment and restarted, T trials.

Each trial creates N executions (chain, fan-out, map, subworkflow, launch-plan node, gate approved by the
harness, cached task, retried task), kills the server with SIGKILL at a random moment in the first
``--kill-window`` seconds (possibly while creations still arrive), restarts it on the same database and
waits until every execution is terminal. Then it checks every promise (see tests/support/chaos.py) and
prints one row per trial and the totals: lost executions, re-runs of succeeded nodes, attempts that ran
unrecorded or were left open, orphaned task processes, integrity problems, and the time to recover
(kill → ready, ready → all terminal).

Run: ``.venv/bin/python bench/chaos.py [--db sqlite|postgres] [--trials 20] [--executions 100]``
(PostgreSQL: a fresh database on ``AERODROME_TEST_DATABASE_URL``, by default the local server).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.chaos import Chaos, Figures  # noqa: E402
from tests.support.postgres import fresh_database  # noqa: E402

PROJECT = ROOT / "tests" / "integration" / "projects" / "chaos_app"
COLUMNS = ("trial", "created", "kill at s", "in flight", "lost", "reruns", "unrecorded", "unclosed", "orphans")
COLUMNS += ("integrity", "restart s", "drain s")


def row(f: Figures) -> tuple[object, ...]:
    counts = (f.in_flight, f.lost, f.reruns, f.unrecorded, f.unclosed, f.orphans, f.integrity)
    return (f.trial, f.created, f"{f.kill_after:.1f}", *counts, f"{f.restart_seconds:.1f}", f"{f.drain_seconds:.1f}")


def table(rows: list[tuple[object, ...]]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--executions", type=int, default=100)
    parser.add_argument("--kill-window", type=float, default=20.0, help="kill within this many seconds")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory (logs, ledger)")
    args = parser.parse_args()
    if args.db == "postgres":
        os.environ.setdefault("AERODROME_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
    root = Path(tempfile.mkdtemp(prefix="aerodrome-chaos-"))
    figures: list[Figures] = []
    began = time.monotonic()
    with ExitStack() as stack:
        url = stack.enter_context(fresh_database()) if args.db == "postgres" else ""
        chaos = Chaos(root, url, seed=args.seed, kill_window=args.kill_window)
        stack.callback(chaos.close)
        chaos.setup(PROJECT)
        for number in range(1, args.trials + 1):
            result = chaos.trial(number, args.executions)
            figures.append(result)
            print(table([row(result)]).splitlines()[-1], flush=True)
            for problem in result.problems[:20]:
                print(f"    {problem}", flush=True)
    elapsed = time.monotonic() - began
    print(f"\nchaos on {args.db}: {args.trials} trials x {args.executions} executions in {elapsed / 60:.1f} min")
    print(table([row(f) for f in figures]))
    totals = {
        "lost executions": sum(f.lost for f in figures),
        "re-runs of succeeded nodes": sum(f.reruns for f in figures),
        "unrecorded attempts": sum(f.unrecorded for f in figures),
        "in-flight attempts left open": sum(f.unclosed for f in figures),
        "orphaned task processes": sum(f.orphans for f in figures),
        "integrity problems": sum(f.integrity for f in figures),
    }
    for label, value in totals.items():
        print(f"{label}: {value}")
    print(f"in-flight attempts at the kills: {sum(f.in_flight for f in figures)}")
    print(f"restart (kill -> ready) median s: {statistics.median(f.restart_seconds for f in figures):.1f}")
    print(f"drain (ready -> all terminal) median s: {statistics.median(f.drain_seconds for f in figures):.1f}")
    print(f"load average: {os.getloadavg()}")
    if args.keep:
        print(f"kept {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)
    return 0 if not any(totals.values()) else 1


if __name__ == "__main__":
    sys.exit(main())

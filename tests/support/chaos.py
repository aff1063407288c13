"""The chaos suite: executions of a workflow mix, the server SIGKILLed at a random moment, restarted, and
every promise checked after each trial (bench/chaos.py runs it long, tests/integration/test_chaos.py short).

Per trial: start creating N executions (chain, fan-out, map, subworkflow, launch-plan node, gate approved
by the harness, cached task, retried task), SIGKILL the server at a random moment (possibly while the
creations still arrive), restart it on the same database, wait until every execution is terminal, then
check: every acknowledged execution SUCCEEDED with the right output; no node attempt ran twice and no node
ran again after an attempt of it SUCCEEDED (from the attempt records and from the side-effect ledger the
tasks write); every attempt that ran is recorded and every attempt in flight at the kill was closed; no
task process of the killed server is alive; the database passes its integrity checks.
"""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.chaos_db import TERMINAL, Database
from tests.support.chaos_server import Ledger, ProcessSnapshot, ServerRunner

MIX = ("chain", "fanout", "mapped", "sub", "lp_node", "gated", "cached", "retried")
PREFIX = "workflows.mix"


def expected(workflow: str, x: int) -> int:
    """The output ``o0`` each workflow of the mix must produce for input ``x``."""
    return {
        "chain": x + 3,
        "fanout": 3 * (x + 1),
        "mapped": 6 * x + 6,
        "sub": x + 3,
        "lp_node": x + 3,
        "gated": x + 2,
        "cached": (x % 3) ** 2 + 1,
        "retried": x + 2,
    }[workflow]


@dataclass
class Figures:
    """What one trial found (every count but ``created`` should be 0)."""

    trial: int
    created: int = 0
    lost: int = 0
    reruns: int = 0
    unrecorded: int = 0
    unclosed: int = 0
    orphans: int = 0
    integrity: int = 0
    kill_after: float = 0.0
    in_flight: int = 0
    restart_seconds: float = 0.0
    drain_seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.problems


class Chaos:
    """Trials against one home (and database) that persists across the kills."""

    def __init__(
        self,
        root: Path,
        db_url: str = "",
        seed: int = 0,
        kill_window: float = 20.0,
        env: dict[str, str] | None = None,
    ) -> None:
        self.root = root
        self.rng = random.Random(seed)
        self.ledger = Ledger(root / "ledger")
        self.server = ServerRunner(root / "home", db_url, {"CHAOS_LEDGER": str(self.ledger.root), **(env or {})})
        self.db = Database(db_url, root / "home")
        self.kill_window = kill_window
        self.version = ""
        self.failure: Exception | None = None  # a creation that failed while the server was up

    def setup(self, project: Path) -> None:
        self.server.start()
        self.version = self.server.register(project, self.root)

    def close(self) -> None:
        self.server.stop()

    def trial(self, number: int, count: int, timeout: float = 600.0) -> Figures:
        figures = Figures(number)
        runs = [(MIX[i % len(MIX)], number * 10_000 + i) for i in range(count)]
        self.rng.shuffle(runs)
        created: dict[str, tuple[str, int]] = {}
        gates: set[str] = set()
        creator = threading.Thread(target=self._create, args=(runs, created, gates), daemon=True)
        started = time.monotonic()
        creator.start()
        figures.kill_after = self.rng.uniform(0.2, self.kill_window)
        time.sleep(figures.kill_after)
        snapshot = ProcessSnapshot.of_descendants(self.server.pid)
        killed = time.monotonic()
        self.server.kill()
        in_flight = self.db.running_attempts()
        figures.in_flight = len(in_flight)
        self.server.start()
        figures.restart_seconds = time.monotonic() - killed
        ready = time.monotonic()
        creator.join()
        if self.failure is not None:
            raise self.failure
        figures.created = len(created)
        self._drain(created, gates, timeout - (ready - started))
        figures.drain_seconds = time.monotonic() - ready
        self._check(figures, created, in_flight, snapshot)
        return figures

    # Creating and approving --------------------------------------------------------------------------

    def _create(self, runs: list[tuple[str, int]], created: dict[str, tuple[str, int]], gates: set[str]) -> None:
        """Create the executions, across the kill: a call that fails is tried again under the same name once
        the server answers; only acknowledged executions are counted."""
        for workflow, x in runs:
            name = f"c{x}{self.rng.randrange(16**6):06x}"
            for tries in range(5):
                try:
                    self.server.create(f"{PREFIX}.{workflow}", self.version, x, name)
                    break
                except Exception as exc:
                    if tries == 4:
                        self.failure = exc
                        return
                    if not self.server.alive():
                        self.server.wait_restarted()
            created[name] = (workflow, x)
            if workflow == "gated":
                gates.add(name)

    def _drain(self, created: dict[str, tuple[str, int]], gates: set[str], timeout: float) -> None:
        """Approve the gates as they open and wait until every execution of this trial is terminal."""
        deadline = time.monotonic() + max(timeout, 60.0)
        while True:
            for name in list(gates):
                if self.server.approve(name, "go"):
                    gates.discard(name)
            executions = self._mine(created)
            if all(r["phase"] in TERMINAL for r in executions.values()) and set(created) <= set(executions):
                return
            if time.monotonic() > deadline:
                return
            time.sleep(0.5)

    def _mine(self, created: dict[str, tuple[str, int]]) -> dict[str, dict[str, object]]:
        """This trial's executions and the child executions their nodes launched."""
        everything = self.db.executions()
        mine = {n: r for n, r in everything.items() if n in created}
        mine.update({n: r for n, r in everything.items() if r["parent"] in created})
        return mine

    # Checking ---------------------------------------------------------------------------------------

    def _check(
        self,
        figures: Figures,
        created: dict[str, tuple[str, int]],
        in_flight: set[tuple[str, str, int]],
        snapshot: ProcessSnapshot,
    ) -> None:
        mine = self._mine(created)
        for name, (workflow, x) in created.items():
            phase = mine.get(name, {}).get("phase", "MISSING")
            output = self.server.output(name) if phase == "SUCCEEDED" else None
            if phase != "SUCCEEDED" or output != expected(workflow, x):
                figures.lost += 1
                cause = self.server.error(name)[:500] if phase == "FAILED" else ""
                figures.problems.append(f"{name} ({workflow} x={x}): {phase}, output {output} {cause}")
        for name, row in mine.items():
            if name not in created and row["phase"] != "SUCCEEDED":
                figures.lost += 1
                cause = self.server.error(name)[:500] if row["phase"] == "FAILED" else ""
                figures.problems.append(f"child execution {name}: {row['phase']} {cause}")
        self._check_attempts(figures, set(mine), in_flight)
        orphans = snapshot.alive()
        figures.orphans = len(orphans)
        if orphans:
            figures.problems.append(f"task processes of the killed server still alive: {sorted(orphans)}")
        problems = self.db.integrity()
        figures.integrity = len(problems)
        figures.problems.extend(problems)

    def _check_attempts(self, figures: Figures, names: set[str], in_flight: set[tuple[str, str, int]]) -> None:
        recorded: dict[tuple[str, str], dict[int, str]] = defaultdict(dict)
        for row in self.db.attempts():
            if row["execution_name"] in names:
                recorded[(row["execution_name"], row["node_id"])][int(row["retry_attempt"])] = row["phase"]
        for (name, node), phases in recorded.items():
            won = sorted(a for a, p in phases.items() if p == "SUCCEEDED")
            if len(won) > 1 or (won and max(phases) > won[0]):
                figures.reruns += 1
                figures.problems.append(f"{name}/{node} ran again after it succeeded: {phases}")
        for key in in_flight:
            if key[0] in names and recorded.get(key[:2], {}).get(key[2]) not in ("SUCCEEDED", "FAILED", "ABORTED"):
                figures.unclosed += 1
                figures.problems.append(f"attempt {key} in flight at the kill was not closed")
        for run in self.ledger.runs(names):
            phases = recorded.get((run.execution, run.node), {})
            if run.count > 1:
                figures.reruns += 1
                figures.problems.append(f"{run} ran {run.count} times under one attempt number")
            if run.attempt is None:  # a map item: only its node has attempt records
                if not phases:
                    figures.unrecorded += 1
                    figures.problems.append(f"{run} ran but its map node has no attempt record")
                continue
            if run.attempt not in phases:
                figures.unrecorded += 1
                figures.problems.append(f"{run} ran but has no attempt record ({phases})")
            won = [a for a, p in phases.items() if p == "SUCCEEDED"]
            if won and run.attempt > min(won):
                figures.reruns += 1
                figures.problems.append(f"{run} ran after attempt {min(won)} had succeeded")

"""Load / soak: 16 flytekit clients (``SynchronousFlyteClient``, no client retries) running a mix of calls
against a real ``aerodrome start`` for 60 s (``--seconds 600`` for the 10-minute soak), on SQLite and
(when ``AERODROME_TEST_DATABASE_URL`` is set) a fresh PostgreSQL database.

The mix (``tests/support/load.py``, shared with the bounded test in ``tests/integration/test_load.py``):
CreateExecution of a workflow that sleeps 1 s on a gate (no task process), GetExecution, filtered
ListExecutions and ListTasks, registration of new task / workflow / launch-plan versions, GetLaunchPlan,
data-proxy uploads (CreateUploadLocation + PUT of 64 KiB to the signed URL), and two calls whose error is
the answer (identical re-registration → ALREADY_EXISTS, a missing execution → NOT_FOUND).

Prints errors by call and code (expected and not), p50/p99 and rate per call, total throughput, and the
server's RSS (``/proc/<pid>/status``) sampled every second: before, after, peak, and the slope of a
least-squares line over the second half of the run (MB/min; a leak shows as a steady positive slope).

Run: ``.venv/bin/python bench/soak.py [--seconds 60] [--clients 16] [--backends sqlite postgres]``.
Target: 0 unexpected errors; no RSS growth trend over the 10-minute soak.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))
from _harness import aerodrome_server, percentile
from create_execution import drop_postgres, fresh_postgres
from tests.support.load import Tally, prepare, run_load


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class RssSampler(threading.Thread):
    """(seconds since start, RSS MB) of one process every ``every`` seconds until stopped."""

    def __init__(self, pid: int, every: float) -> None:
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.samples: list[tuple[float, float]] = []
        self.done = threading.Event()

    def run(self) -> None:
        started = time.perf_counter()
        while not self.done.is_set():
            self.samples.append((time.perf_counter() - started, rss_mb(self.pid)))
            self.done.wait(self.every)


def slope_mb_per_min(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope over the second half of the samples (the first half is warm-up)."""
    half = samples[len(samples) // 2 :]
    if len(half) < 3:
        return float("nan")
    fit = statistics.linear_regression([t for t, _ in half], [r for _, r in half])
    return fit.slope * 60


def report(label: str, tally: Tally, rss: dict[str, float], load: tuple[float, float]) -> None:
    print(f"\n{label}: {tally.calls()} calls in {tally.seconds:.1f} s = {tally.calls() / tally.seconds:.0f} calls/s")
    print(f"  {'call':<22}{'ok':>7}{'rate/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
    for name, values in sorted(tally.latencies.items()):
        p50, p99 = percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000
        print(f"  {name:<22}{len(values):>7}{len(values) / tally.seconds:>9.1f}{p50:>9.1f}{p99:>9.1f}")
    print(f"  expected errors:   {dict(tally.expected) or 'none'}")
    print(f"  unexpected errors: {dict(tally.unexpected) or 'none'}")
    for key in tally.unexpected:
        print(f"    first {key}: {tally.first_error[key]}")
    print(
        f"  server RSS: before {rss['before']:.0f} MB, after {rss['after']:.0f} MB, peak {rss['peak']:.0f} MB, "
        f"second-half slope {rss['slope']:+.2f} MB/min; load average {load[0]:.1f} → {load[1]:.1f} "
        f"on {os.cpu_count()} CPUs"
    )


def soak(label: str, db_url: str, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp, aerodrome_server(Path(tmp) / "home", db_url) as server:
        version = prepare(server.grpc, uuid.uuid4().hex[:8])
        time.sleep(2)
        sampler = RssSampler(server.pid, args.sample)
        before, load_before = rss_mb(server.pid), os.getloadavg()[0]
        sampler.start()
        tally = run_load(server.grpc, version, args.clients, args.seconds)
        sampler.done.set()
        sampler.join()
        after = rss_mb(server.pid)
        rss = {
            "before": before,
            "after": after,
            "peak": max(r for _, r in sampler.samples),
            "slope": slope_mb_per_min(sampler.samples),
        }
        report(f"{label}, {args.clients} clients x {args.seconds:.0f} s", tally, rss, (load_before, os.getloadavg()[0]))
        if args.trace:
            print("  RSS trace (s, MB): " + ", ".join(f"{t:.0f}:{r:.0f}" for t, r in sampler.samples[:: args.trace]))


def main(args: argparse.Namespace) -> None:
    if "sqlite" in args.backends:
        soak("sqlite", "", args)
    pg = fresh_postgres() if "postgres" in args.backends else None
    if pg is not None:
        from sqlalchemy.engine import make_url

        base, name = pg
        try:
            soak("postgres", make_url(base).set(database=name).render_as_string(hide_password=False), args)
        finally:
            drop_postgres(base, name)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--sample", type=float, default=1.0, help="seconds between RSS samples")
    parser.add_argument("--trace", type=int, default=0, help="print every Nth RSS sample")
    main(parser.parse_args())

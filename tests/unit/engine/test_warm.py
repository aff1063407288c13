"""The warm task-process factory, driven for real: forks run flytekit's commands, limits and deaths."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from aerodrome.engine.launchers.warm import WarmUnavailable, Zygote, forkable

SLEEPER = "import time\ntime.sleep(120)\n"


def sleeper_command(tmp_path: Path) -> tuple[list[str], dict[str, str]]:
    """pyflyte-execute of a task whose module sleeps on import: a child that runs until it is stopped."""
    (tmp_path / "sleeper.py").write_text(SLEEPER)
    argv = [
        "pyflyte-execute",
        "--inputs",
        str(tmp_path / "inputs.pb"),
        "--output-prefix",
        str(tmp_path / "out"),
        "--raw-output-data-prefix",
        str(tmp_path / "raw"),
        "--resolver",
        "flytekit.core.python_auto_container.default_task_resolver",
        "--",
        "task-module",
        "sleeper",
        "task-name",
        "t",
    ]
    return argv, {"PYTHONPATH": str(tmp_path), "PATH": os.environ.get("PATH", "")}


def in_directory(path: Path) -> list[int]:
    """Live processes other than this one whose working directory is ``path`` (a forked attempt's)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if os.readlink(entry / "cwd") == str(path):
                    found.append(int(entry.name))
            except OSError:  # gone, a zombie, or not ours to read
                continue
    return found


async def started(log: Path, limit: float = 120.0) -> None:
    """Until the forked child has opened its log (then a moment for it to be inside the task)."""
    for _ in range(int(limit * 10)):
        if log.exists():
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(1)


def test_only_flytekit_commands_are_forked() -> None:
    assert forkable(["/venv/bin/pyflyte-execute", "--inputs", "x"])
    assert forkable(["pyflyte-map-execute"])
    assert not forkable(["pyflyte-fast-execute"]) and not forkable(["python", "-c", "1"]) and not forkable([])


async def test_a_failing_command_reports_its_exit_code_and_log(tmp_path: Path) -> None:
    zygote = Zygote(sys.executable, tmp_path / "zygote.log")
    try:
        log = tmp_path / "task.log"
        ended, timed_out = await zygote.run(["pyflyte-execute"], {"PATH": ""}, tmp_path, log, 60)
        assert (ended.exit_code, timed_out) == (2, False)  # click's usage error
        assert "Missing option" in log.read_text()
        assert ended.cpu_seconds >= 0 and ended.peak_rss_bytes > 10_000_000  # the fork holds flytekit
    finally:
        await zygote.close()


async def test_a_time_limit_stops_the_child(tmp_path: Path) -> None:
    zygote = Zygote(sys.executable, tmp_path / "zygote.log")
    try:
        argv, env = sleeper_command(tmp_path)
        ended, timed_out = await zygote.run(argv, env, tmp_path, tmp_path / "task.log", 1.0)
        assert timed_out and ended.exit_code == -signal.SIGTERM
    finally:
        await zygote.close()


async def test_cancelling_stops_the_child_and_a_dead_zygote_is_replaced(tmp_path: Path) -> None:
    zygote = Zygote(sys.executable, tmp_path / "zygote.log")
    try:
        argv, env = sleeper_command(tmp_path)
        running = asyncio.create_task(zygote.run(argv, env, tmp_path, tmp_path / "a.log", None))
        await started(tmp_path / "a.log")  # the zygote is up (it takes seconds on a loaded machine)
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
        first = zygote.process
        assert first is not None
        running = asyncio.create_task(zygote.run(argv, env, tmp_path, tmp_path / "b.log", None))
        await started(tmp_path / "b.log")
        assert in_directory(tmp_path)  # the attempt's fork (it took on the attempt's directory)
        os.kill(first.pid, signal.SIGKILL)  # the zygote dies under a running attempt
        with pytest.raises(WarmUnavailable):
            await running
        for _ in range(50):  # the orphaned attempt is killed with it: its retry must not run beside it
            if not in_directory(tmp_path):
                break
            await asyncio.sleep(0.1)
        assert not in_directory(tmp_path)
        ended, _ = await zygote.run(["pyflyte-execute"], {"PATH": ""}, tmp_path, tmp_path / "c.log", 60)
        assert ended.exit_code == 2 and zygote.process is not first
    finally:
        await zygote.close()


async def test_forks_inherit_the_rehearsal(tmp_path: Path) -> None:
    """The zygote rehearses pyflyte-execute before its first fork (``rehearsal.py``, imported from beside
    it), and its children inherit that. Its import once came after the zygote's directory left sys.path, so
    the rehearsal silently never ran."""
    seen = tmp_path / "seen.txt"
    (tmp_path / "probe.py").write_text(
        f"import sys\nopen({str(seen)!r}, 'w').write(str(getattr(sys.modules.get('rehearsal'), 'REHEARSED', 0)))\n"
    )
    argv, env = sleeper_command(tmp_path)
    argv[argv.index("sleeper")] = "probe"
    zygote = Zygote(sys.executable, tmp_path / "zygote.log")
    try:
        await zygote.run(argv, env, tmp_path, tmp_path / "task.log", 60)
        assert seen.read_text() == "True", (tmp_path / "zygote.log").read_text()
    finally:
        await zygote.close()


SPARE_PROBE = """
import os, sys
with open(os.environ["PROBE_OUT"], "w") as out:
    ticks = int(open("/proc/self/stat").read().rsplit(")", 1)[1].split()[19])
    out.write(f"{ticks} {os.getcwd()} {os.environ['ONLY_THIS_ATTEMPT']} {os.getpgid(0) == os.getpid()}")
"""


def _children_of(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.update(int(p) for p in (task / "children").read_text().split())
    return found


async def _spare_ready(zygote: Zygote) -> None:
    """Until the zygote has a child that is not a running attempt (its spare) and a moment for its rehearsal."""
    assert zygote.process is not None
    for _ in range(1200):
        if _children_of(zygote.process.pid):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(3)  # its rehearsal takes a fraction of a second; much more on a loaded machine


async def test_an_idle_zygote_runs_the_next_attempt_in_a_spare_forked_and_rehearsed_ahead(tmp_path: Path) -> None:
    """The attempt's process existed before its request was sent (a spare: forked and rehearsed while the
    zygote was idle, see spares.py), yet takes on the request's environment, directory and its own process
    group, like a direct fork; the rehearsal's CPU time is left out of the attempt's figure. A spare that
    is never used ends with the zygote."""
    (tmp_path / "probe.py").write_text(SPARE_PROBE)
    argv, env = sleeper_command(tmp_path)
    argv[argv.index("sleeper")] = "probe"
    zygote = Zygote(sys.executable, tmp_path / "zygote.log")
    try:
        await zygote.run(["pyflyte-execute"], {"PATH": ""}, tmp_path, tmp_path / "first.log", 60)  # starts it
        await _spare_ready(zygote)
        assert zygote.process is not None
        spares = _children_of(zygote.process.pid)
        before = float(Path("/proc/uptime").read_text().split()[0]) * os.sysconf("SC_CLK_TCK")
        workdir = tmp_path / "attempt"
        workdir.mkdir()
        extra = {"PROBE_OUT": str(tmp_path / "probe.out"), "ONLY_THIS_ATTEMPT": "yes"}
        ended, _ = await zygote.run(argv, {**env, **extra}, workdir, tmp_path / "task.log", 60)
        started_at, cwd, variable, leader = (tmp_path / "probe.out").read_text().split()
        assert int(started_at) < before, "the attempt was forked after its request: no spare was used"
        assert (cwd, variable, leader) == (str(workdir), "yes", "True")
        assert ended.cpu_seconds < 5.0  # the rehearsal's CPU is not the attempt's
        await _spare_ready(zygote)  # the zygote made a new spare after handing out the old one
        spare = next(iter(_children_of(zygote.process.pid)))
    finally:
        await zygote.close()
    assert spares and spare not in spares
    for _ in range(100):  # the unused spare ends with the zygote
        if not Path(f"/proc/{spare}").exists() or "Z" in Path(f"/proc/{spare}/stat").read_text().split()[2]:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the unused spare outlived its zygote")

"""A finished attempt's process, kept to run the next attempt of the same execution instead of a new fork.

A fork of the zygote pays for its memory: the fork copies the page tables, every page the task writes is
copied on first write (~2,000 faults for a trivial flytekit task, ~3 µs each on this kind of machine), and
the exit tears it all down again. Measured here: 19 ms of CPU per forked attempt, 3.3 to 4.4 ms per attempt
run again in a process that has already run one. In a fan-out, where attempts run side by side and no spare
is ready, that is most of a task's CPU.

So a child whose attempt carried a reuse key (``code_zygotes.reuse_key``: the same execution, environment
and memory limit, a first attempt without a time limit, not eager; the server decides) and ended cleanly does not exit:
it reports its end as usual (``endings.py``) with ``idle`` set, and waits on its own request pipe for the
next request with the same key. Before it offers itself it checks that the attempt wrote plain outputs
(not a dynamic workflow's futures, not an error) and left nothing behind that could reach the next one: no
child process still running, no thread but flytekit's loop, no new open file, no more than ``GROWTH`` of
memory, fewer than ``USES`` attempts so far; otherwise it exits. Directory, environment, ``sys.path``,
streams, SIGTERM and SIGINT handlers and pending alarms are set again for each attempt.
Module-level state of the user's code is shared by the attempts one process runs, as in flytekit's local run
of a workflow; a task that sets ``AERODROME_PROCESS_REUSE=false`` gets a fresh fork for every attempt.

The zygote side (``Pool``) keeps the write end of each reusable child's request pipe, and the idle children
by key; the zygote calls it under its lock. Standard library only (it runs under the task interpreter).
"""

import contextlib
import json
import os
import resource
import sys
import threading
from collections.abc import Callable
from typing import Any

USES = 50  # attempts per process at most
IDLE = 4  # idle processes a zygote keeps at most (the server runs 2 attempts per core at once by default)
GROWTH = 64 * 2**20  # resident memory a process may gain over its first attempt before it stops taking more
_state: dict[str, int] = {}  # in a reusable child: its resident bytes before, files open after its first attempt; uses


class Pool:
    """The zygote's reusable children: their request pipes, and the idle ones (at most ``IDLE``)."""

    def __init__(self) -> None:
        self.lines: dict[int, int] = {}  # pid -> write end of its request pipe
        self.idle: dict[int, tuple[str, int]] = {}  # pid -> (key, read end of its report pipe), oldest first

    @staticmethod
    def pipe(request: dict[str, Any]) -> tuple[int, int]:
        """A request pipe for a child forked for ``request`` when it carries a reuse key, else (-1, -1)."""
        return os.pipe() if request.get("reuse") else (-1, -1)

    def track(self, pid: int, line: int) -> None:
        """``pid`` may become idle; ``line`` is the write end of its request pipe."""
        if line >= 0:
            self.lines[pid] = line

    def take(self, request: dict[str, Any]) -> tuple[int, int]:
        """An idle child of the request's key now running it, and its report pipe; (0, -1) if none."""
        key, data = str(request.get("reuse") or ""), (json.dumps(request) + "\n").encode()
        for pid in [pid for pid, (waits_for, _) in reversed(self.idle.items()) if key and waits_for == key]:
            reports = self.idle.pop(pid)[1]
            try:
                if os.write(self.lines[pid], data) == len(data):
                    return pid, reports
            except (OSError, KeyError):  # it died while idle (its reaping will forget it)
                pass
            self._drop(pid, reports)
        return 0, -1

    def waiting(self) -> int:
        """How many children are idle."""
        return len(self.idle)

    def park(self, pid: int, key: str, reports: int) -> None:
        """``pid`` finished an attempt and waits for the next one of ``key`` (from the endings thread). The
        oldest idle child beyond ``IDLE`` is let go (its request pipe closes: it exits): the key of an
        execution that has ended is never asked for again."""
        if pid not in self.lines:  # reaped meanwhile
            with contextlib.suppress(OSError):
                os.close(reports)
            return
        self.idle[pid] = (key, reports)
        while len(self.idle) > IDLE:
            oldest = next(iter(self.idle))
            self._drop(oldest, self.idle.pop(oldest)[1])

    def gone(self, pid: int) -> bool:
        """The reaper reaped ``pid``: forget it; whether it was idle (no attempt's end to report)."""
        entry = self.idle.pop(pid, None)
        self._drop(pid, entry[1] if entry else -1)
        return entry is not None

    def in_child(self) -> None:
        """In any child the zygote forks: the other children's pipes are not its to hold (an idle child
        must see its request pipe close when the zygote dies)."""
        for fd in [*self.lines.values(), *(reports for _, reports in self.idle.values())]:
            with contextlib.suppress(OSError):
                os.close(fd)

    def _drop(self, pid: int, reports: int) -> None:
        for fd in (self.lines.pop(pid, -1), reports):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)


def serve(request: dict[str, Any], attempt: Callable[[dict[str, Any]], int], report: Callable[..., None] | None) -> int:
    """In a child: run ``request``'s attempt and report its end (``endings.report``), then, while the
    process stays clean and has a request pipe (``request_fd``), the next requests of its key; the last
    attempt's exit code, for the child's exit."""
    lines = int(request.get("request_fd", -1)) if report is not None else -1
    if lines >= 0:
        _state.update(resident=_resident(), uses=0)
    path = list(sys.path)
    while True:
        sys.path[:] = path  # what an attempt's PYTHONPATH put ahead goes
        code = attempt(request)
        idle = lines >= 0 and clean(code, request["argv"])
        if report is not None:  # before the exit's teardown (see endings.py)
            extra = {"request": request.get("id"), **({"idle": request["reuse"]} if idle else {})}
            report(int(request.get("report_fd", -1)), code, float(request.get("pre_cpu", 0.0)), extra)
        following = next_request(lines) if idle else None
        if following is None:
            return code
        request = {**following, "report_fd": request["report_fd"]}


def clean(code: int, argv: list[str]) -> bool:
    """In the child after an attempt with a reuse key: whether nothing of it can reach the next one."""
    if code != 0 or not _state or not _plain(argv):
        return False
    _state["uses"] += 1
    if _state["uses"] >= USES or _resident() > _state["resident"] + GROWTH:
        return False
    try:
        while os.waitpid(-1, os.WNOHANG) != (0, 0):  # reap what it left behind
            continue
        return False  # a process it started still runs
    except ChildProcessError:  # none left
        pass
    loop = f"{threading.main_thread().name} : loop-runner"  # flytekit's loop thread (flytekit/utils/asyn.py)
    if any(t is not threading.main_thread() and t.name != loop for t in threading.enumerate()):
        return False
    files = len(os.listdir("/proc/self/fd"))  # the first attempt's (flytekit's loop opens some) is the most
    return files <= _state.setdefault("files", files)


def _plain(argv: list[str]) -> bool:
    """Whether the attempt wrote outputs to a local prefix, neither an error nor a dynamic workflow's
    futures: flytekit compiling a dynamic workflow changes the module's workflow objects in the process
    (a second compile there went wrong), and a failed attempt is best not trusted with the next one."""
    if "--output-prefix" not in argv[:-1]:
        return False
    prefix = argv[argv.index("--output-prefix") + 1].removeprefix("file://")
    found = [os.path.exists(os.path.join(prefix, name)) for name in ("outputs.pb", "futures.pb", "error.pb")]
    return os.path.isabs(prefix) and found == [True, False, False]


def next_request(fd: int) -> dict[str, Any] | None:
    """Wait for the next request on the child's request pipe; None once the zygote closes it."""
    chunks: list[bytes] = []
    while not chunks or not chunks[-1].endswith(b"\n"):
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return None
        chunks.append(chunk)
    request: dict[str, Any] = json.loads(b"".join(chunks))
    usage, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    request["pre_cpu"] = usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime
    return request


def _resident() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

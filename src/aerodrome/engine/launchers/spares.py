"""A spare: the zygote's next child, forked and rehearsed before the request it will run arrives.

A fork shares its parent's memory copy-on-write, so the first write to each page costs the child a page
fault and a copy; Python writes to every object it merely uses (reference counts), so a flytekit task run
in a fresh fork takes some 1,500 to 2,000 faults. On a virtual machine that is most of the child's time
(measured here: ~10 ms of system time against ~3.5 ms of flytekit's own work). A spare is forked while
the zygote is idle and runs the rehearsal (``rehearsal.py``) in its own memory: the pages a task run
writes become its own then, off the critical path, and flytekit's loop thread is already running. Then
it waits on a pipe for one request and runs it exactly as a direct fork would (``zygote._child``): its
own session, limits, log, directory and environment are taken on only once the request is there.

The zygote keeps at most one spare and uses it only once it has finished rehearsing; a request that
finds none ready is forked directly, as before, so a burst of requests never waits for spares. A spare
that is never used ends when the zygote's end of its pipe closes. Its rehearsal's CPU time is reported
(``pre_cpu``) so that the attempt's figure can leave it out. Standard library only (it runs under the task
interpreter, and is shipped to Ray workers beside ``zygote.py``).
"""

import contextlib
import json
import os
import resource
import select
from collections.abc import Callable
from typing import Any


class Keeper:
    """The zygote's one spare and the bookkeeping of spares it forked: whose exits nobody awaits (not yet
    handed a request) and how much CPU a handed one's rehearsal took. The zygote calls it under its lock."""

    def __init__(
        self,
        rehearse: Callable[[], object],
        run: Callable[[dict[str, Any]], None],
        out: int,
        after_fork: Callable[[], None] = lambda: None,
    ) -> None:
        self._rehearse, self._run, self._out, self._after_fork = rehearse, run, out, after_fork
        self.spare: Spare | None = None
        self.silent: set[int] = set()
        self.pre_cpu: dict[int, float] = {}

    def take(self, request: dict[str, Any]) -> tuple[int, int, int]:
        """The pid of the ready spare now running ``request``, the pipe it reports its end on
        (``endings.py``) and, for a request with a reuse key, the one it takes its next requests on
        (``reuse.py``; else -1); or (0, -1, -1): none ready, the zygote forks."""
        spare = self.spare
        if spare is None or not spare.is_ready() or not spare.hand(request):
            return 0, -1, -1
        self.spare = None
        self.silent.discard(spare.pid)
        self.pre_cpu[spare.pid] = spare.pre_cpu or 0.0
        return spare.pid, spare.take_reports(), spare.take_requests()

    def replenish(self) -> int:
        """Fork a new spare unless a live one is waiting; its pid, or 0."""
        if self.spare is not None and not self.spare.dead:
            return 0
        if self.spare is not None:
            self.spare.close()
        self.spare = fork_spare(self._rehearse, self._run, self._out, self._after_fork)
        self.silent.add(self.spare.pid)
        return self.spare.pid

    def in_child(self) -> None:
        """In any other child the zygote forks: let go of the spare's pipes."""
        if self.spare is not None:
            self.spare.close()


class Spare:
    """The zygote's end of one spare child."""

    def __init__(self, pid: int, requests: int, ready: int) -> None:
        self.pid = pid
        self._requests = requests  # write end: the one request
        self._ready = ready  # read end: the spare's CPU time once its rehearsal is done
        self.pre_cpu: float | None = None
        self.dead = False

    def is_ready(self) -> bool:
        """Whether it has finished rehearsing (without waiting); a spare that died meanwhile is ``dead``."""
        if self.pre_cpu is None and not self.dead:
            if not select.select([self._ready], [], [], 0)[0]:
                return False
            data = os.read(self._ready, 64)
            if not data:
                self.dead = True
                return False
            self.pre_cpu = float(data)
        return self.pre_cpu is not None

    def hand(self, request: dict[str, Any]) -> bool:
        """Send it its request; False if it is gone (the caller forks the attempt directly). The pipe stays
        open for a request with a reuse key (``take_requests``)."""
        data = memoryview((json.dumps(request) + "\n").encode())
        try:
            while data:
                data = data[os.write(self._requests, data) :]
            return True
        except OSError:
            self.dead = True
            self.close()
            return False
        finally:
            if not request.get("reuse"):
                with contextlib.suppress(OSError):
                    os.close(self._requests)
                self._requests = -1

    def take_requests(self) -> int:
        """The write end of its request pipe, from now on the caller's (-1: closed, not reusable)."""
        fd, self._requests = self._requests, -1
        return fd

    def take_reports(self) -> int:
        """The read end of its pipe, from now on the caller's: the spare reports its end on it."""
        fd, self._ready = self._ready, -1
        return fd

    def close(self) -> None:
        """Close the zygote's ends (in the zygote once it is used or dropped, and in every other child it
        forks: a pipe end held by another process would keep an unused spare waiting after the zygote died)."""
        for fd in (self._requests, self._ready):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._requests = self._ready = -1


def fork_spare(
    rehearse: Callable[[], object] | None,
    run: Callable[[dict[str, Any]], None],
    out: int,
    after_fork: Callable[[], None] = lambda: None,
) -> Spare:
    """Fork a spare; in the child, rehearse, report the CPU time it took, wait for the request and ``run``
    it (which never returns) with the pipe to report its end on (``report_fd``) and that CPU time
    (``pre_cpu``). ``out`` is the zygote's channel to the server, which the spare must not hold open (its
    closing is how the server learns the zygote died)."""
    requests_r, requests_w = os.pipe()
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid:
        os.close(requests_r)
        os.close(ready_w)
        return Spare(pid, requests_w, ready_r)
    code = 0
    try:
        os.close(requests_w)
        os.close(ready_r)
        after_fork()
        if out != 1:
            os.close(out)
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        if rehearse is not None:
            rehearse()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        pre_cpu = usage.ru_utime + usage.ru_stime
        os.write(ready_w, repr(pre_cpu).encode())
        request = _read_request(requests_r)
        if request is not None:
            if not request.get("reuse"):
                os.close(requests_r)
                requests_r = -1
            run({**request, "report_fd": ready_w, "pre_cpu": pre_cpu, "request_fd": requests_r})
    except BaseException:  # never back into the zygote's loop
        code = 1
    os._exit(code)


def _read_request(fd: int) -> dict[str, Any] | None:
    """One JSON line from the zygote, or None once its end closes without one."""
    chunks: list[bytes] = []
    while not chunks or not chunks[-1].endswith(b"\n"):
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return None
        chunks.append(chunk)
    request: dict[str, Any] = json.loads(b"".join(chunks))
    return request

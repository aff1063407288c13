"""An attempt's end, reported before its process has finished exiting.

A forked attempt that calls ``os._exit`` is not reaped at once: the kernel first tears down its address
space (the zygote's ~100 MB of shared mappings and the pages it copied), which took 5 to 6 ms per attempt
here, most of a chain node's time outside flytekit. So the child writes its exit code, CPU time and peak
memory to a pipe of its own just before it exits, and the zygote forwards that at once; the reaper then
reaps the process without a second report. A child that dies without a word (a crash, a signal) is
reported by the reaper as before. Exactly one report goes out per attempt: ``claim`` decides under the
zygote's lock. Standard library only (it runs under the task interpreter and is shipped to Ray workers).
"""

import contextlib
import json
import os
import resource
import select
import sys
import threading
from collections.abc import Callable
from typing import Any


class Endings:
    """The zygote's end of the attempts' report pipes, read by one thread."""

    def __init__(
        self,
        lock: threading.Lock,
        send: Callable[[dict[str, object]], None],
        park: Callable[[int, str, int], None] | None = None,
    ) -> None:
        self._lock, self._send = lock, send
        self._park = park  # a child that waits for its next attempt (reuse.py): pid, key, its report pipe
        self._pipes: dict[int, int] = {}  # read end -> pid
        self._watched: set[int] = set()  # pids with a report pipe
        self._reported: set[int] = set()  # pids whose end went out early (the reaper stays silent)
        self._reaped: set[int] = set()  # pids the reaper reported (an early word that comes after is dropped)
        self._wake_r, self._wake_w = os.pipe()
        threading.Thread(target=self._watch, name="endings", daemon=True).start()

    def pipe(self) -> tuple[int, int]:
        """A report pipe for the next child: (read end, for ``watch``; write end, for the child)."""
        return os.pipe()

    def watch(self, pid: int, fd: int) -> None:
        """Read the report of ``pid`` from ``fd`` (called under the zygote's lock)."""
        self._reported.discard(pid)  # a reused child's earlier attempt
        self._reaped.discard(pid)
        self._pipes[fd] = pid
        self._watched.add(pid)
        os.write(self._wake_w, b"x")

    def reaped(self, pid: int) -> bool:
        """The reaper reaped ``pid`` (under the zygote's lock): whether it must report the end itself."""
        if pid in self._reported:
            self._reported.discard(pid)
            return False
        if pid in self._watched:  # its pipe is still read: a word found there now comes too late
            self._reaped.add(pid)
        return True

    def in_child(self) -> None:
        """In a forked child: the zygote's ends are not its to hold."""
        for fd in [*self._pipes, self._wake_r, self._wake_w]:
            with contextlib.suppress(OSError):
                os.close(fd)

    def _watch(self) -> None:
        while True:
            with self._lock:
                fds = list(self._pipes)
            for fd in select.select([self._wake_r, *fds], [], [])[0]:
                if fd == self._wake_r:
                    os.read(fd, 4096)
                    continue
                data = os.read(fd, 4096)
                with self._lock:
                    pid = self._pipes.pop(fd)
                    self._watched.discard(pid)
                    early = data.endswith(b"\n") and pid not in self._reaped
                    self._reaped.discard(pid)
                    if early:
                        self._reported.add(pid)
                message = json.loads(data) if early else {}
                idle = str(message.pop("idle", "")) if self._park is not None else ""
                if early:
                    self._send({**message, "pid": pid})
                if idle:  # after its end went out: its next attempt's start comes after this one's end
                    with self._lock:
                        self._park(pid, idle, fd)  # type: ignore[misc]
                else:
                    os.close(fd)


def report(fd: int, code: int, pre_cpu: float, extra: dict[str, Any] | None = None) -> None:
    """In the child, just before ``os._exit(code)`` (or, reused, before it waits for its next attempt): its
    end, on its report pipe (``fd`` -1: none). The figures are those the reaper would have reported (its own
    and its reaped children's CPU, its peak memory), less the CPU before the attempt (a spare's rehearsal, a
    reused process's earlier attempts: ``pre_cpu``); ``extra``: the request's id, ``idle`` (reuse.py)."""
    if fd < 0:
        return
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    message: dict[str, Any] = {
        **(extra or {}),
        "exit_code": code,
        "cpu_seconds": max(0.0, cpu - pre_cpu),
        "peak_rss_bytes": own.ru_maxrss * (1 if sys.platform == "darwin" else 1024),
    }
    with contextlib.suppress(OSError):  # the zygote is gone: nobody to tell
        os.write(fd, (json.dumps(message) + "\n").encode())

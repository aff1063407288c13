"""A batch of map items on a Ray worker: many items of one array node in one fork of the worker's zygote.

The worker side of ``on_ray/batches.py``, called by ``remote.run_attempt``. The fork runs ``map_batch.py``
(as the local launcher's batches do): the task is loaded, the S3 client made and the inputs read once, then
each item runs with its own index, attempt, directory, output prefix and log. It reports each item's start
and end over a Unix socket that this function serves; an item that outlives its timeout has the process
group killed, and the items after it are answered unstarted (the server runs them in another batch). The
items' logs come back in the result.

Standard library only, shipped by value with ``remote.py``: nothing here imports aerodrome.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import socket
import tempfile
import time
import uuid
from collections.abc import Callable
from typing import Any

MAP_BATCH = "aerodrome-map-batch"
FAST = "pyflyte-fast-execute"
GRACE_SECONDS = 2.0


class _Follower:
    """The batch's state as its messages arrive: the item running, since when, and those that ended."""

    def __init__(self, timeouts: list[float | None]) -> None:
        self.timeouts = timeouts
        self.current: int | None = None
        self.since = time.monotonic()
        self.done: list[dict[str, Any]] = []
        self.buffer = b""

    def feed(self, data: bytes) -> None:
        self.buffer += data
        while b"\n" in self.buffer:
            line, _, self.buffer = self.buffer.partition(b"\n")
            message = json.loads(line)
            if "start" in message:
                self.current, self.since = int(message["start"]), time.monotonic()
            elif "done" in message:
                self.current = None
                self.done.append(message)

    def overdue(self) -> bool:
        limit = self.timeouts[self.current] if self.current is not None else None
        return bool(limit) and time.monotonic() - self.since > float(limit)  # type: ignore[arg-type]


Messages = Callable[[float | None], "dict[str, Any] | None"]  # the zygote's next line by a deadline


def run_batch(
    request: dict[str, Any], zygote: Any, messages: Messages, argv: list[str], env: dict[str, str], scratch: str
) -> dict[str, Any]:
    """Run the request's items (``request["batch"]``) as one fork of ``zygote``, whose lines ``messages``
    reads. Returns the ended items with their logs, the one the fork died in, and how."""
    spec = request["batch"]
    home = tempfile.mkdtemp(prefix="adr-")  # short: a socket path has at most 107 bytes
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(os.path.join(home, "s"))
    server.listen(1)
    items = [
        {**item, "dir": os.path.join(scratch, str(k)), "log": os.path.join(scratch, str(k), "task.log")}
        for k, item in enumerate(spec["items"])
    ]
    batch = {"socket": os.path.join(home, "s"), "token": uuid.uuid4().hex, "items": items}
    batch["recycle_bytes"] = spec.get("recycle_bytes", 0)
    if os.path.basename(argv[0]) != FAST:  # a fast-registered command: the zygote unpacks it, then runs this
        batch["args"], argv = argv[1:], [MAP_BATCH]
    log = os.path.join(scratch, ".batch.log")
    message = {"id": 0, "argv": argv, "env": env, "cwd": scratch, "log": log, "batch": batch}
    zygote.stdin.write((json.dumps(message) + "\n").encode())
    zygote.stdin.flush()
    follower = _Follower([item.get("timeout") for item in spec["items"]])
    try:
        started = messages(None)
        while started is not None and "id" not in started:  # a late exit line of an earlier, stopped fork
            started = messages(None)
        if started is None:
            return {"lost": "the warm process ended before the batch started"}
        pid = int(started["pid"])

        def exited(deadline: float | None) -> dict[str, Any] | None:
            while (message := messages(deadline)) is not None:
                if message.get("pid") == pid and "exit_code" in message:
                    return message
            return None

        try:
            exit_, timed_out = _follow(server, follower, pid, exited)
        except BaseException:  # ray.cancel: stop the batch's process group, then let the cancellation go on
            _kill(pid, exited)
            raise
    finally:
        server.close()
        shutil.rmtree(home, ignore_errors=True)
    return {
        "done": [{**m, "log": _text(items[int(m["done"])]["log"])} for m in follower.done],
        "current": follower.current,
        "current_log": _text(items[follower.current]["log"]) if follower.current is not None else "",
        "timed_out": timed_out,
        "exit_code": exit_["exit_code"] if exit_ else None,
        "batch_log": _text(log),
    }


def _follow(
    server: socket.socket, follower: _Follower, pid: int, exited: Callable[[float | None], dict[str, Any] | None]
) -> tuple[dict[str, Any] | None, bool]:
    """Serve the batch's socket until it closes, killing the group past an item's timeout; then its exit."""
    connection: socket.socket | None = None
    deadline = time.monotonic() + 300  # connecting: the fork only parses the command and loads nothing yet
    while True:
        if follower.overdue():
            return _kill(pid, exited), True
        if connection is None and time.monotonic() > deadline:
            return _kill(pid, exited), False
        watched = [connection or server]
        ready, _, _ = select.select(watched, [], [], 0.05)
        exit_ = exited(time.monotonic()) if not ready and connection is None else None
        if exit_ is not None:  # the fork ended before it connected
            return exit_, False
        if not ready:
            continue
        if connection is None:
            connection, _ = server.accept()
            continue
        data = connection.recv(65536)
        if not data:
            connection.close()
            return exited(time.monotonic() + 30), False
        follower.feed(data)


def _kill(pid: int, exited: Callable[[float | None], dict[str, Any] | None]) -> dict[str, Any] | None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, sig)
        exit_ = exited(time.monotonic() + GRACE_SECONDS)
        if exit_ is not None:
            return exit_
    return None


def _text(path: str, limit: int = 1 << 20) -> str:
    if not os.path.exists(path):
        return ""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        handle.seek(max(0, size - limit))
        return handle.read().decode(errors="replace")

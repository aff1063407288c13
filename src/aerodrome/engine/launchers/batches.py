"""Map items in batches: many items of one array node run one after another in one warm process.

The server side of ``map_batch.py``. A batch is one fork of the zygote that takes one process slot; it
reports over a Unix socket when each item starts and how it ended. Every item keeps its own attempt
(directory, output prefix, log, retries): an item that crashes its process or outlives its timeout fails
alone (the process group is killed), and the items after it are handed back unstarted, to run in another
batch. The launcher's per-attempt path (one process per item) remains for what a batch cannot run: other
interpreters, commands other than ``pyflyte-map-execute``, and servers without warm processes.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flyteidl.core import execution_pb2

from aerodrome.blobstore.store import LocalStore
from aerodrome.engine.launchers.attempts import Attempt, AttemptResult
from aerodrome.engine.launchers.distributions import FastCommand
from aerodrome.engine.launchers.memory import memory_limit
from aerodrome.engine.launchers.outcomes import item_succeeded, item_usage
from aerodrome.engine.launchers.warm import WarmUnavailable, Zygote, stop_group

if TYPE_CHECKING:
    from aerodrome.engine.launchers.local import LocalLauncher

COMMAND = "pyflyte-map-execute"
OPT_OUT = "AERODROME_MAP_BATCH"
RECYCLE_BYTES = 256 * 2**20  # a batch process that grew this much stops taking items (a leak)
LINE_LIMIT = 1 << 22
log = logging.getLogger("aerodrome.engine")


@dataclass(frozen=True)
class Done:
    """One item's end: its result and, when small, its ``outputs.pb`` bytes (no read-back needed)."""

    result: AttemptResult
    outputs: bytes | None = None


OnDone = Callable[[int, Done], None]  # (position of the item in the batch, how it ended)


@dataclass(frozen=True)
class _Channel:
    """A batch process's connection back to the server."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    pid: int


class MapBatches:
    """Runs batches of map items as forks of the zygote, one process slot per batch."""

    def __init__(self, launcher: LocalLauncher, zygote: Zygote, size: int) -> None:
        self.launcher = launcher
        self.zygote = zygote
        self.size = size
        self._server: asyncio.AbstractServer | None = None
        self._socket_dir = ""
        self._waiting: dict[str, asyncio.Future[_Channel]] = {}
        self._lock = asyncio.Lock()

    @property
    def capacity(self) -> int:
        return self.launcher.capacity

    def accepts(self, attempt: Attempt) -> bool:
        """Whether the attempt's command is ``pyflyte-map-execute`` under the zygote's interpreter, and the
        task did not ask for a process per item (``AERODROME_MAP_BATCH=false`` in its environment: items of
        a batch share module-level state, as in flytekit's local run of a map)."""
        if self.launcher.python_of(attempt) != self.launcher.python or attempt.task.metadata.is_eager:
            return False
        env = {kv.key: kv.value for kv in attempt.task.container.env}
        if env.get(OPT_OUT, "").strip().lower() in {"0", "false", "no", "off"}:
            return False
        args = self.launcher.command(attempt)
        fast = FastCommand.parse(args)
        inner = fast.inner if fast else args
        return bool(inner) and Path(inner[0]).name == COMMAND

    async def _socket(self) -> str:
        async with self._lock:
            if self._server is None:
                self._socket_dir = tempfile.mkdtemp(prefix="aerodrome-map-")  # short: socket paths are ≤ 107
                path = f"{self._socket_dir}/s"
                self._server = await asyncio.start_unix_server(self._connected, path=path, limit=LINE_LIMIT)
            return f"{self._socket_dir}/s"

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ValueError, ConnectionError, asyncio.IncompleteReadError):
            hello = json.loads(await reader.readline())
            waiter = self._waiting.pop(str(hello.get("token")), None)
            if waiter is not None and not waiter.done():
                waiter.set_result(_Channel(reader, writer, int(hello["pid"])))
                return
        writer.close()

    async def run(self, items: list[Attempt], on_done: OnDone) -> list[int]:
        """Run the items (attempts of one array node) in one process, in order, calling ``on_done`` as each
        ends; returns the positions of the items it did not start. WarmUnavailable if none could start."""
        async with self.launcher.processes:
            self.launcher.running += 1
            try:
                return await self._run(items, on_done)
            finally:
                self.launcher.running -= 1

    async def _run(self, items: list[Attempt], on_done: OnDone) -> list[int]:
        token = uuid.uuid4().hex
        first = items[0]
        base = replace(first, workdir=first.workdir.parent.parent / f"batch-{token[:12]}")
        base.workdir.mkdir(parents=True, exist_ok=True)
        args, env, _ = await self.launcher._direct(base)
        await self.launcher._inject_secrets(base, env)
        connected = self._waiting[token] = asyncio.get_running_loop().create_future()
        request = {
            "batch": {
                "socket": await self._socket(),
                "token": token,
                "args": args[1:],
                "recycle_bytes": RECYCLE_BYTES,
                "items": [self._item(item) for item in items],
            },
            "memory_bytes": memory_limit(first.task),
        }
        process = asyncio.create_task(
            self.zygote.run(["aerodrome-map-batch"], env, base.workdir, base.workdir / "batch.log", None, request)
        )
        runner = _Runner(self, items, on_done)
        try:
            done, _ = await asyncio.wait({connected, process}, return_when=asyncio.FIRST_COMPLETED)
            if connected not in done:
                await process  # raises WarmUnavailable when the zygote is gone
                raise WarmUnavailable(f"the map batch process ended before it started (see {base.workdir})")
            channel = connected.result()
            try:
                await runner.follow(channel, process)
            finally:
                channel.writer.close()
            try:
                exit_code = (await process)[0].exit_code
            except WarmUnavailable:  # the zygote died under the batch: as if the batch process had
                exit_code = -1
            return await runner.finish(exit_code)
        finally:
            self._waiting.pop(token, None)
            connected.cancel()
            if not process.done():
                process.cancel()  # the zygote's client kills the process group (SIGTERM, then SIGKILL)
            await asyncio.gather(process, return_exceptions=True)
            shutil.rmtree(base.workdir if not self.launcher.keep_workdirs else base.workdir / ".secrets", True)

    def log_of(self, item: Attempt) -> tuple[str, Path]:
        """Where an item's log goes: straight into a local store (no copy), else its directory (uploaded)."""
        url, store = f"{item.output_prefix}/task.log", self.launcher.store
        if not isinstance(store, LocalStore):
            return url, item.workdir / "task.log"
        # The engine made the prefix inside the store: no need to resolve and check it again per item.
        inside = url.startswith(f"{store.root}/") and "/../" not in url
        return url, Path(url) if inside else store.path(url)

    async def kept_log(self, item: Attempt) -> tuple[str, Path]:
        """The item's log URL once stored, and the local file it was written to."""
        url, path = self.log_of(item)
        if isinstance(self.launcher.store, LocalStore):
            return url, path
        return await self.launcher._keep_log(item, path), path

    def _item(self, item: Attempt) -> dict[str, Any]:
        local = isinstance(self.launcher.store, LocalStore)
        _, log_path = self.log_of(item)
        return {
            "i": int(item.envs.get("FLYTE_K8S_ARRAY_INDEX", "0")),
            "a": item.attempt,
            "prefix": item.output_prefix,
            "prev": item.prev_checkpoint,
            "dir": str(item.workdir),
            "log": str(log_path),
            "remove": local and not self.launcher.keep_workdirs,
        }

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            shutil.rmtree(self._socket_dir, ignore_errors=True)


class _Runner:
    """Follows one batch process: which item runs, since when, and what each one produced."""

    def __init__(self, batches: MapBatches, items: list[Attempt], on_done: OnDone) -> None:
        self.batches = batches
        self.items = items
        self.on_done = on_done
        self.current: int | None = None
        self.finished = -1
        self.timed_out = False

    async def follow(self, channel: _Channel, process: asyncio.Task[Any]) -> None:
        """Read the process's messages until it closes the socket; past an item's timeout, kill it."""
        started = time.monotonic()
        while True:
            limit = self.items[self.current].timeout_seconds if self.current is not None else None
            wait = None if limit is None else max(0.0, started + limit - time.monotonic())
            try:
                line = await asyncio.wait_for(channel.reader.readline(), wait)
            except TimeoutError:
                self.timed_out = True
                await stop_group(channel.pid, process)
                return
            if not line:
                return
            message = json.loads(line)
            if "start" in message:
                self.current, started = int(message["start"]), time.monotonic()
            elif "done" in message:
                self.current = None
                self.finished = int(message["done"])
                self.on_done(self.finished, await self._done(self.items[self.finished], message))

    async def _done(self, item: Attempt, message: dict[str, Any]) -> Done:
        launcher = self.batches.launcher
        usage = item_usage(message)
        local = isinstance(launcher.store, LocalStore)
        log_url, log_path = await self.batches.kept_log(item)
        if message.get("has_outputs"):
            data = base64.b64decode(message["outputs"]) if message.get("outputs") else None
            result = item_succeeded(item, log_url, usage)
            if not local and not launcher.keep_workdirs:
                shutil.rmtree(item.workdir, ignore_errors=True)
            return Done(result, data)
        return Done(await launcher._outcome(item, False, 0, log_path, log_url, usage))

    async def finish(self, exit_code: int) -> list[int]:
        """The item the process died in fails (timeout or crash); those after it were not started."""
        if self.current is None:
            return list(range(self.finished + 1, len(self.items)))
        item = self.items[self.current]
        if self.timed_out:
            error = execution_pb2.ExecutionError(
                code="TimeoutExpired",
                kind=execution_pb2.ExecutionError.SYSTEM,
                message=f"task attempt {item.attempt} exceeded its timeout of {item.timeout_seconds}s",
            )
            self.on_done(self.current, Done(AttemptResult(error=error, retryable=True, exit_code=exit_code)))
        else:
            launcher = self.batches.launcher
            log_url, log_path = await self.batches.kept_log(item)
            self.on_done(self.current, Done(await launcher._outcome(item, False, exit_code, log_path, log_url, {})))
        return list(range(self.current + 1, len(self.items)))

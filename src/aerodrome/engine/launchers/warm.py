"""The server side of ``zygote.py``: task attempts as forks of a process that has imported flytekit.

One zygote per interpreter, started on first use and restarted if it dies. ``run`` sends a request and
waits for the child's exit; a timeout or a cancellation signals the child's process group (SIGTERM,
then SIGKILL after a grace period), exactly as for a plain subprocess. Anything that goes wrong with the
zygote itself is a ``WarmUnavailable``, and the launcher falls back to a plain subprocess.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ZYGOTE = Path(__file__).with_name("zygote.py")
COMMANDS = frozenset({"pyflyte-execute", "pyflyte-map-execute"})
STREAM_LIMIT = 1 << 20
log = logging.getLogger("aerodrome.engine")


class WarmUnavailable(Exception):
    """The zygote could not run this attempt (it is not running, or died)."""


@dataclass(frozen=True)
class Exit:
    """How a forked attempt ended."""

    exit_code: int
    cpu_seconds: float
    peak_rss_bytes: int


class Forker:
    """The request protocol of a running zygote (``zygote.py``): fork one attempt, learn how it ended.
    Subclasses say how to reach the process (``_writer``) and feed its messages to ``_read``."""

    def __init__(self) -> None:
        self._ids = itertools.count()
        self._started: dict[int, asyncio.Future[int]] = {}
        self._exits: dict[int, asyncio.Future[Exit]] = {}
        self._detached_ids: set[int] = set()  # requests that fork no attempt (code zygotes) …
        self._detached: set[int] = set()  # … and their pids: their exits are awaited by no one

    async def _writer(self) -> asyncio.StreamWriter:
        raise NotImplementedError

    async def _read(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            message = json.loads(line)
            if "id" in message:
                if message["id"] in self._detached_ids:
                    self._detached_ids.discard(message["id"])
                    self._detached.add(message["pid"])
                self._started.pop(message["id"]).set_result(message["pid"])
            elif message["pid"] in self._detached:
                self._detached.discard(message["pid"])
            elif message.get("request") is None:  # a spare or a code zygote: nobody waits for it
                continue
            elif not (ended := self._exit_future(message["request"])).done():  # one report per attempt (endings.py)
                ended.set_result(Exit(message["exit_code"], message["cpu_seconds"], message["peak_rss_bytes"]))
        failure = WarmUnavailable("the warm task process exited")
        pending: list[asyncio.Future[int]] | list[asyncio.Future[Exit]]
        for pending in (list(self._started.values()), list(self._exits.values())):
            for future in pending:
                if not future.done():
                    future.set_exception(failure)
        self._started.clear()
        self._exits.clear()
        self._detached_ids.clear()
        self._detached.clear()

    def _exit_future(self, ident: int) -> asyncio.Future[Exit]:
        """How request ``ident`` ended: by request, not by pid, as a reused process runs several (reuse.py)."""
        return self._exits.setdefault(ident, asyncio.get_running_loop().create_future())

    async def fork(self, request: dict[str, Any], detached: bool = False) -> int:
        """Send one request; the pid of the child forked for it (``detached``: its exit is not awaited)."""
        return (await self._start(request, detached))[1]

    async def _start(self, request: dict[str, Any], detached: bool = False) -> tuple[int, int]:
        """Send one request; its id and the pid of the process that runs it."""
        writer = await self._writer()
        ident = next(self._ids)
        if detached:
            self._detached_ids.add(ident)
        started: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._started[ident] = started
        try:
            writer.write((json.dumps({**request, "id": ident}) + "\n").encode())
            await writer.drain()
        except (BrokenPipeError, ConnectionResetError) as exc:
            self._started.pop(ident, None)
            self._detached_ids.discard(ident)
            raise WarmUnavailable(f"the warm task process is gone: {exc}") from None
        return ident, await started

    async def run(
        self,
        argv: list[str],
        env: dict[str, str],
        cwd: Path,
        log_path: Path,
        time_limit: float | None,
        extra: dict[str, Any] | None = None,
    ) -> tuple[Exit, bool]:
        """Fork one attempt and wait for it; returns how it exited and whether it timed out. ``extra`` goes
        into the request as is (``memory_bytes``, a map ``batch``: see zygote.py)."""
        request = {**(extra or {}), "argv": argv, "env": env, "cwd": str(cwd), "log": str(log_path)}
        ident, pid = await self._start(request)
        finished = self._exit_future(ident)
        try:
            return await asyncio.wait_for(asyncio.shield(finished), time_limit), False
        except TimeoutError:
            return await _stop(pid, finished), True
        except WarmUnavailable:
            _kill_orphan(pid)
            raise
        except asyncio.CancelledError:
            await _stop(pid, finished)
            raise
        finally:
            self._exits.pop(ident, None)


class Zygote(Forker):
    """One running ``zygote.py`` and the attempts in flight in it."""

    def __init__(self, python: str, log_path: Path) -> None:
        super().__init__()
        self.python = python
        self.log_path = log_path
        self.process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def _writer(self) -> asyncio.StreamWriter:
        process = await self._ensure()
        assert process.stdin is not None
        return process.stdin

    async def _ensure(self) -> asyncio.subprocess.Process:
        async with self._lock:
            alive = self._reader is not None and not self._reader.done()  # its output ends when it dies
            if self.process is not None and self.process.returncode is None and alive:
                return self.process
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("ab") as errors:
                process = await asyncio.create_subprocess_exec(
                    self.python,
                    str(ZYGOTE),
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=errors,
                    start_new_session=True,
                    limit=STREAM_LIMIT,
                )
            assert process.stdout is not None
            try:
                ready = await process.stdout.readline()
            except BaseException:  # cancelled while it starts: it must not live on untracked
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                await process.wait()
                raise
            if b"ready" not in ready:
                raise WarmUnavailable(f"the warm task process did not start (see {self.log_path})")
            self.process = process
            assert process.stdout is not None
            self._reader = asyncio.create_task(self._read(process.stdout))
            return process

    async def spawn(self, spec: dict[str, Any]) -> int:
        """Fork a code zygote (see zygote.py); its pid. Its exit is not reported to anyone waiting."""
        return await self.fork({"code": spec}, detached=True)

    async def close(self) -> None:
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            await self.process.wait()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)


async def stop_group(pid: int, finished: asyncio.Future[Any], grace: float = 5.0) -> None:
    """SIGTERM a forked process's group, then SIGKILL after a grace period, until ``finished`` is done."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, sig)
        try:
            await asyncio.wait_for(asyncio.shield(finished), grace)
            return
        except TimeoutError:
            continue
        except Exception:  # how it ended is the caller's business
            return


def _kill_orphan(pid: int) -> None:
    """The zygote died under a running attempt, which lives on without a parent to report it: it must not
    go on beside the retry the caller starts (two runs of one attempt). It leads its own session
    (``zygote._child``) unless it died before getting there."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


async def _stop(pid: int, finished: asyncio.Future[Exit], grace: float = 5.0) -> Exit:
    """SIGTERM the attempt's process group, then SIGKILL after a grace period."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, sig)
        try:
            return await asyncio.wait_for(asyncio.shield(finished), grace)
        except TimeoutError:
            continue
    return await finished


def forkable(argv: list[str]) -> bool:
    """Whether a command is one the zygote runs in-process."""
    return bool(argv) and Path(argv[0]).name in COMMANDS

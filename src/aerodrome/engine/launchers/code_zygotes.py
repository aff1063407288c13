"""Warm processes per code version: forks of the zygote that have already imported one task module.

A fork of the zygote (``warm.py``) still imports the user's module in every attempt (for a module that
defines workflows, flytekit compiles them on import: tens of milliseconds per attempt). A *code zygote*
is forked from the zygote once per code version: it imports the task module of a fast-registered
tarball with the environment of the attempt that started it, then forks that code's attempts, which find
the module in ``sys.modules``. Each attempt is still its own forked process, exactly as before: what it
changes (module globals, environment, directory) dies with it, and the next attempt forks from the
pristine import again.

A code version is the unpacked tarball, the module and the attempt's environment except the variables
that name the attempt itself (``PER_ATTEMPT``): attempts whose environment differs otherwise (a requested
secret, an execution's ``envs``) get a code zygote of their own, so module-level code never sees another
task's secrets. The first attempt of a code version runs as a plain fork (a version seen once is not
worth an import); the second starts its code zygote, which imports in the background while attempts still
run as plain forks. A module that does not import there (or a process that dies while it does) is
remembered and its attempts stay plain forks. At most ``limit`` code zygotes live at once: the least recently used idle
one is stopped to make room; when none is idle, attempts of a new code version run as plain forks.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import shutil
import signal
import tempfile
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aerodrome.engine.launchers.attempts import Attempt
from aerodrome.engine.launchers.warm import STREAM_LIMIT, Exit, Forker, WarmUnavailable, Zygote

DEFAULT_RESOLVER = "flytekit.core.python_auto_container.default_task_resolver"
PER_ATTEMPT = frozenset(
    {
        "FLYTE_INTERNAL_EXECUTION_ID",
        "FLYTE_INTERNAL_EXECUTION_WORKFLOW",
        "FLYTE_INTERNAL_EXECUTION_LAUNCHPLAN",
        "FLYTE_INTERNAL_TASK_NAME",
        "FLYTE_INTERNAL_TASK_VERSION",
        "FLYTE_ATTEMPT_NUMBER",
        "FLYTE_CREDENTIALS_CLIENT_ID",
        "FLYTE_CREDENTIALS_CLIENT_SECRET",
    }
)
NO_REUSE = "AERODROME_PROCESS_REUSE"  # "false" in a task's environment: a fresh fork for each of its attempts
OFF = frozenset({"0", "false", "no", "off"})
READY_SECONDS = 120.0  # longer than any sane module import; past it the code version stays plain forks
REMEMBERED = 256  # code versions remembered as seen once, or as failed to import
log = logging.getLogger("aerodrome.engine")


@dataclass(frozen=True)
class CodeVersion:
    """What a code zygote has imported: the module, from where, under which environment."""

    code_dir: str
    module: str
    env: tuple[tuple[str, str], ...]


def code_version(args: list[str], env: dict[str, str], code_dir: Path | None) -> CodeVersion | None:
    """The code version of a ``pyflyte-execute`` of fast-registered code with flytekit's default resolver
    (the task's module is named in its arguments); None for anything else."""
    if code_dir is None or not args or Path(args[0]).name != "pyflyte-execute" or "--" not in args:
        return None
    if DEFAULT_RESOLVER not in args[: args.index("--")]:
        return None
    loader = args[args.index("--") + 1 :]
    options = dict(zip(loader[::2], loader[1::2], strict=False))
    module = options.get("task-module", "")
    if not module:
        return None
    kept = tuple(sorted((k, v) for k, v in env.items() if k not in PER_ATTEMPT))
    return CodeVersion(str(code_dir), module, kept)


def reuse_key(attempt: Attempt, env: dict[str, str], memory_bytes: int) -> str:
    """Which finished processes may run this attempt instead of a new fork (``reuse.py``): those that ran
    attempts of the same execution with the same environment (but for the variables naming the task and
    attempt: so never one that imported code under another task's secrets) and memory limit. '' for none: a
    retry starts from a fresh fork, as does an attempt with a time limit (its stop signals the process,
    which must not be running another attempt by then), an eager task and a task that opted out
    (``NO_REUSE``). The child itself decides whether it stays (``reuse.clean``)."""
    if attempt.attempt > 0 or attempt.timeout_seconds or env.get(NO_REUSE, "").strip().lower() in OFF:
        return ""
    if attempt.task.metadata.is_eager:  # it launches and awaits executions through flytekit's remote client
        return ""
    ident = attempt.execution
    kept = sorted((k, v) for k, v in env.items() if k not in PER_ATTEMPT)
    named = json.dumps([ident.project, ident.domain, ident.name, memory_bytes, kept])
    return hashlib.sha256(named.encode()).hexdigest()


class CodeZygote(Forker):
    """One code zygote, reached over a Unix socket once it has imported its module."""

    def __init__(self) -> None:
        super().__init__()
        self.pid = 0
        self.in_flight = 0
        self._stream: asyncio.StreamWriter | None = None
        self._reader: asyncio.Task[None] | None = None

    @property
    def ready(self) -> bool:
        return self._reader is not None and not self._reader.done()

    async def _writer(self) -> asyncio.StreamWriter:
        if self._stream is None or not self.ready:
            raise WarmUnavailable("the code's warm process is gone")
        return self._stream

    async def start(self, base: Zygote, spec: dict[str, Any], path: str) -> None:
        """Fork it from ``base`` and wait until it has imported the module (WarmUnavailable if it cannot)."""
        token = uuid.uuid4().hex
        connected: asyncio.Future[tuple[asyncio.StreamReader, asyncio.StreamWriter]]
        connected = asyncio.get_running_loop().create_future()

        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            if connected.done():
                writer.close()
            else:
                connected.set_result((reader, writer))

        server = await asyncio.start_unix_server(accept, path=path, limit=STREAM_LIMIT)
        try:
            self.pid = await base.spawn({**spec, "socket": path, "token": token})
            reader, writer = await asyncio.wait_for(connected, READY_SECONDS)
        except BaseException:
            self._kill()
            raise
        finally:
            server.close()
            with contextlib.suppress(OSError):
                os.unlink(path)
        try:
            hello = json.loads(await asyncio.wait_for(reader.readline(), READY_SECONDS) or b"{}")
            ready = await asyncio.wait_for(reader.readline(), READY_SECONDS)
            if hello.get("token") != token or b"ready" not in ready:
                raise WarmUnavailable(f"the module {spec['module']} did not import (see zygote.log)")
        except BaseException:
            writer.close()
            self._kill()
            raise
        self._stream = writer
        self._reader = asyncio.create_task(self._read(reader))

    async def run(
        self,
        argv: list[str],
        env: dict[str, str],
        cwd: Path,
        log_path: Path,
        time_limit: float | None,
        extra: dict[str, Any] | None = None,
    ) -> tuple[Exit, bool]:
        self.in_flight += 1
        try:
            return await super().run(argv, env, cwd, log_path, time_limit, extra)
        finally:
            self.in_flight -= 1

    def _kill(self) -> None:
        if self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    async def close(self) -> None:
        """Closing its socket ends it and its forks (they are stopped by the engine before this)."""
        if self._stream is not None:
            self._stream.close()
        self._kill()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)


class CodeZygotes:
    """The code zygotes of one launcher: at most ``limit``, least recently used idle ones stopped first."""

    def __init__(self, base: Zygote, limit: int) -> None:
        self.base = base
        self.limit = limit
        self._zygotes: OrderedDict[CodeVersion, CodeZygote] = OrderedDict()
        self._starting: dict[CodeVersion, asyncio.Task[None]] = {}
        self._failed: OrderedDict[CodeVersion, None] = OrderedDict()
        self._seen: OrderedDict[CodeVersion, None] = OrderedDict()
        self._closing: set[asyncio.Task[None]] = set()
        self._socket_dir = ""

    def ready_for(self, version: CodeVersion, env: dict[str, str]) -> CodeZygote | None:
        """The ready code zygote of this version, else None (and one starts in the background with
        ``env`` when there is room and the version did not fail before)."""
        zygote = self._zygotes.get(version)
        if zygote is not None and zygote.ready:
            self._zygotes.move_to_end(version)
            return zygote
        if zygote is not None and version not in self._starting:  # it died (a task killed it?): a new one
            del self._zygotes[version]
            self._stop(zygote)
        if version in self._zygotes or version in self._failed or not self._seen_before(version):
            return None
        if not self._room():
            return None
        zygote = self._zygotes[version] = CodeZygote()
        spec = {"module": version.module, "env": env, "cwd": version.code_dir}
        task = asyncio.create_task(self._start(version, zygote, spec))
        self._starting[version] = task
        return None

    def _seen_before(self, version: CodeVersion) -> bool:
        """Whether an attempt of this version came before: a version seen once (a one-task execution with
        its own ``envs``) is not worth an import in the background."""
        if version in self._seen:
            return True
        self._seen[version] = None
        while len(self._seen) > REMEMBERED:
            self._seen.popitem(last=False)
        return False

    async def _start(self, version: CodeVersion, zygote: CodeZygote, spec: dict[str, Any]) -> None:
        try:
            await zygote.start(self.base, spec, f"{self._sockets()}/{uuid.uuid4().hex[:12]}")
        except (WarmUnavailable, OSError, TimeoutError) as exc:
            log.info("attempts of %s stay plain forks: %s", version.module, exc)
            self._zygotes.pop(version, None)
            self._failed[version] = None
            while len(self._failed) > REMEMBERED:
                self._failed.popitem(last=False)
        finally:
            self._starting.pop(version, None)

    def _room(self) -> bool:
        """Whether one more may start, stopping the least recently used idle one if needed."""
        if self.limit <= 0:
            return False
        while len(self._zygotes) >= self.limit:
            idle = next((v for v, z in self._zygotes.items() if z.ready and z.in_flight == 0), None)
            if idle is None:
                return False
            self._stop(self._zygotes.pop(idle))
        return True

    def _stop(self, zygote: CodeZygote) -> None:
        task = asyncio.create_task(zygote.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def _sockets(self) -> str:
        if not self._socket_dir:
            self._socket_dir = tempfile.mkdtemp(prefix="aerodrome-code-")  # short: socket paths are ≤ 107
        return self._socket_dir

    async def close(self) -> None:
        for task in list(self._starting.values()):
            task.cancel()
        await asyncio.gather(*self._starting.values(), return_exceptions=True)
        await asyncio.gather(*(z.close() for z in self._zygotes.values()), *self._closing, return_exceptions=True)
        self._zygotes.clear()
        if self._socket_dir:
            shutil.rmtree(self._socket_dir, ignore_errors=True)

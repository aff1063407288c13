"""The local launcher: runs a task attempt as a process with the task's registered container args, as a
fork of the warm zygote (``warm.py``) when it can, else as a fresh interpreter under ``wrapper.py``.

The command and the task's variables come from ``commands.py`` (shared with the Ray launcher); the
process gets them on top of the server's environment, with a platform URL for tasks that call back. The
outcome is read from ``outputs.pb`` / ``error.pb`` under the attempt's output prefix (``outcomes.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

from aerodrome.blobstore.store import BlobStore
from aerodrome.engine.launchers.attempts import Attempt, AttemptResult, user_error
from aerodrome.engine.launchers.batches import MapBatches
from aerodrome.engine.launchers.code_zygotes import CodeZygotes, code_version, reuse_key
from aerodrome.engine.launchers.commands import container_args, task_variables
from aerodrome.engine.launchers.distributions import DistributionCache, FastCommand
from aerodrome.engine.launchers.memory import memory_limit
from aerodrome.engine.launchers.outcomes import keep_log, outcome
from aerodrome.engine.launchers.warm import Forker, WarmUnavailable, Zygote, forkable
from aerodrome.managers.secrets import ENV_PREFIX, SecretManager, SecretMissing

WRAPPER = Path(__file__).with_name("wrapper.py")
CONNECTOR_RUNNER = Path(__file__).with_name("connector_runner.py")
log = logging.getLogger("aerodrome.engine")
SECRETS_DIR = ".secrets"


class LocalLauncher:
    """Runs attempts as subprocesses of this server, with a chosen Python interpreter."""

    def __init__(
        self,
        store: BlobStore,
        *,
        python: str,
        platform_url: str,
        extra_env: dict[str, str],
        keep_workdirs: bool = False,
        distributions: DistributionCache | None = None,
        max_processes: int = 0,
        warm: Zygote | None = None,
        secrets: SecretManager | None = None,
        map_batch_size: int = 0,
        kept_log_bytes: int = 0,
        code_processes: int = 0,
    ) -> None:
        self.warm = warm
        # Warm processes that have imported one code version's task module (code_zygotes.py).
        self.code_zygotes = CodeZygotes(warm, code_processes) if warm is not None and code_processes > 0 else None
        # Map items in batches of up to this many per warm process (batches.py); None runs one per process.
        self.batches = MapBatches(self, warm, map_batch_size) if warm is not None and map_batch_size > 0 else None
        self.secrets = secrets
        self.store = store
        self.capacity = max_processes or 2 * (os.cpu_count() or 1)
        self.processes = asyncio.Semaphore(self.capacity)
        self.running = 0  # attempts holding a process slot now
        self.python = python or sys.executable
        self.platform_url = platform_url
        self.extra_env = extra_env
        # Per-attempt environment added last by the composition root (auth: a project-scoped credential).
        self.credentials: Callable[[Attempt], dict[str, str]] | None = None
        self.keep_workdirs = keep_workdirs
        self.kept_log_bytes = kept_log_bytes
        self.distributions = distributions
        self._tidying: set[asyncio.Task[None]] = set()  # removals of finished attempts' directories

    def command(self, attempt: Attempt) -> list[str]:
        """The registered container args, templated, with the destination directory remapped."""
        if not attempt.task.HasField("container"):  # a connector task (sensor, agent): see connector_runner.py
            task_url = f"{attempt.output_prefix}/task.pb"
            return [self.python_of(attempt), str(CONNECTOR_RUNNER), task_url, attempt.inputs_url, attempt.output_prefix]
        args = container_args(attempt, str(attempt.workdir))
        if args:
            args[0] = self._executable(args[0], attempt)
        return args

    def python_of(self, attempt: Attempt) -> str:
        """The interpreter of an attempt: its provider's ``venv``, else the launcher's."""
        return (attempt.provider.python if attempt.provider else "") or self.python

    def _executable(self, name: str, attempt: Attempt) -> str:
        """Console scripts (pyflyte-execute …) come from the task interpreter's environment, else (a
        provider's venv may see flytekit through a .pth and have no scripts) from the launcher's."""
        if "/" in name:
            return name
        for directory in dict.fromkeys((Path(self.python_of(attempt)).parent, Path(self.python).parent)):
            if (directory / name).exists():
                return str(directory / name)
        return name

    def _interpreted(self, args: list[str], attempt: Attempt) -> list[str]:
        """A provider's interpreter runs a script from elsewhere itself (not the script's shebang Python)."""
        python = self.python_of(attempt)
        if not args or python == self.python or Path(args[0]).parent == Path(python).parent:
            return args
        return [python, args[0], *args[1:]] if Path(args[0]).is_absolute() else args

    def environment(self, attempt: Attempt) -> dict[str, str]:
        """A controlled environment: no client config of the server's user leaks into tasks."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FLYTE", "_FLYTECTL", "_F_"))}
        bins = dict.fromkeys(str(Path(p).parent) for p in (self.python_of(attempt), self.python))
        env["PATH"] = os.pathsep.join([*bins, env.get("PATH", "")])
        env.update(task_variables(attempt, self.platform_url, self.extra_env, self.credentials))
        if attempt.provider is not None and attempt.provider.code_path:  # the provider's code first on the path
            env["PYTHONPATH"] = os.pathsep.join(p for p in (attempt.provider.code_path, env.get("PYTHONPATH")) if p)
        return env

    async def _direct(self, attempt: Attempt) -> tuple[list[str], dict[str, str], Path | None]:
        """The command, environment and unpacked code directory; fast-registered code is unpacked once and
        run without the intermediate ``pyflyte-fast-execute`` process (see ``distributions.py``)."""
        args, env = self.command(attempt), self.environment(attempt)
        fast = FastCommand.parse(args)
        code_dir = await self.distributions.unpacked(fast.distribution) if fast and self.distributions else None
        if fast is None or code_dir is None:
            return args, env, None
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(code_dir), env.get("PYTHONPATH", "")) if p)
        inner = fast.command(code_dir)
        inner[0] = self._executable(inner[0], attempt)
        return inner, env, code_dir

    async def run(self, attempt: Attempt) -> AttemptResult:
        """Run one attempt to completion (or timeout) once a process slot is free; cancellation kills the
        process group. Eager tasks do not take a slot: they mostly wait for the child executions they launch,
        which need the slots."""
        try:
            if attempt.task.metadata.is_eager:
                return await self._run(attempt)
            async with self.processes:
                self.running += 1
                try:
                    return await self._run(attempt)
                finally:
                    self.running -= 1
        finally:  # requested secret files never outlive the attempt, even where a failed workdir is kept
            shutil.rmtree(attempt.workdir / SECRETS_DIR, ignore_errors=True)

    def has_free_slot(self) -> bool:
        """Whether a new attempt would start now (the engine claims new executions only then)."""
        return self.running < self.capacity

    def refusal(self, attempt: Attempt) -> str:
        """Any attempt can run here: this is the launcher of last resort."""
        return ""

    def batches_for(self, attempt: Attempt) -> MapBatches | None:
        """Map items run in batches of warm forks when there is a zygote and the item's command fits."""
        return self.batches if self.batches is not None and self.batches.accepts(attempt) else None

    async def close(self) -> None:
        """Stop the warm zygote (running attempts were cancelled by the engine already)."""
        await asyncio.gather(*self._tidying, return_exceptions=True)
        if self.batches is not None:
            await self.batches.close()
        if self.code_zygotes is not None:
            await self.code_zygotes.close()
        if self.warm is not None:
            await self.warm.close()

    async def _run(self, attempt: Attempt) -> AttemptResult:
        attempt.workdir.mkdir(parents=True, exist_ok=True)
        log_path = attempt.workdir / "task.log"  # not in the store: a full blob disk must not cost the log
        if not attempt.task.HasField("container"):
            await self.store.write_proto(f"{attempt.output_prefix}/task.pb", attempt.task)
        try:
            args, env, code_dir = await self._direct(attempt)
            await self._inject_secrets(attempt, env)
        except tarfile.TarError as exc:  # a link or device escaping the code tarball (FilterError is a TarError)
            return user_error("CodeBundleRejected", f"the code tarball cannot be unpacked: {exc}")
        except SecretMissing as exc:
            return user_error("SecretNotFound", str(exc))
        if self.warm is not None and self.python_of(attempt) == self.python and forkable(args):
            for forker in self._forkers(args, env, code_dir):
                try:
                    memory = memory_limit(attempt.task)
                    limit = {"memory_bytes": memory, "reuse": reuse_key(attempt, env, memory)}
                    ended, timed_out = await forker.run(
                        args, env, attempt.workdir, log_path, attempt.timeout_seconds, limit
                    )
                    usage = {"cpu_seconds": ended.cpu_seconds, "peak_rss_bytes": float(ended.peak_rss_bytes)}
                    return await self._finish(attempt, timed_out, ended.exit_code, log_path, usage)
                except WarmUnavailable as exc:
                    log.warning("running %s as a plain subprocess: %s", attempt.node_id, exc)
        timed_out, code, usage = await self._subprocess(attempt, args, env, log_path)
        return await self._finish(attempt, timed_out, code, log_path, usage)

    def _forkers(self, args: list[str], env: dict[str, str], code_dir: Path | None) -> list[Forker]:
        """Where a forkable attempt may run, best first: its code's warm process, then the zygote."""
        assert self.warm is not None
        version = code_version(args, env, code_dir) if self.code_zygotes is not None else None
        code = self.code_zygotes.ready_for(version, env) if self.code_zygotes and version else None
        return [code, self.warm] if code is not None else [self.warm]

    async def _subprocess(
        self, attempt: Attempt, args: list[str], env: dict[str, str], log_path: Path
    ) -> tuple[bool, int | None, dict[str, float]]:
        """A fresh interpreter for the attempt, under ``wrapper.py`` (which measures what it cost)."""
        usage_file = attempt.workdir / ".usage.json"
        command = [self.python_of(attempt), str(WRAPPER), str(usage_file), "--", *self._interpreted(args, attempt)]
        with log_path.open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                *command,
                cwd=attempt.workdir,
                env=env,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                stdin=asyncio.subprocess.DEVNULL,
                start_new_session=True,
            )
            timed_out = False
            try:
                await asyncio.wait_for(process.wait(), attempt.timeout_seconds)
            except TimeoutError:
                timed_out = True
                await _stop(process)
            except asyncio.CancelledError:
                await _stop(process)
                raise
        usage = json.loads(await asyncio.to_thread(usage_file.read_text)) if usage_file.exists() else {}
        return timed_out, process.returncode, usage

    async def _finish(
        self, attempt: Attempt, timed_out: bool, code: int | None, log_path: Path, usage: dict[str, float]
    ) -> AttemptResult:
        self._note_skipped(attempt, log_path)
        log_url = await self._keep_log(attempt, log_path)
        result = await self._outcome(attempt, timed_out, code, log_path, log_url, usage)
        if result.ok and not self.keep_workdirs:  # off the loop and after the result (~1 ms of file system work)
            tidy = asyncio.create_task(asyncio.to_thread(shutil.rmtree, attempt.workdir, True))
            self._tidying.add(tidy)
            tidy.add_done_callback(self._tidying.discard)
        return result

    async def _inject_secrets(self, attempt: Attempt, env: dict[str, str]) -> None:
        """The secrets the task requested, as variables and as files in the attempt's private directory
        (removed when the attempt ends); a task that requested none gets nothing."""
        requests = list(attempt.task.security_context.secrets)
        if not requests:
            return
        if self.secrets is None:
            raise SecretMissing("this server has no secret store")
        injection = await self.secrets.injection(requests)
        env.update(injection.env)
        env.update({"FLYTE_SECRETS_ENV_PREFIX": ENV_PREFIX})
        if injection.files:
            root = attempt.workdir / SECRETS_DIR
            for relative, value in injection.files.items():
                path = root / relative
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as handle:
                    handle.write(value)
            env.update({"FLYTE_SECRETS_DEFAULT_DIR": str(root), "FLYTE_SECRETS_FILE_PREFIX": ""})

    def _note_skipped(self, attempt: Attempt, log_path: Path) -> None:
        """A warning in the task log for code tarball entries left out of the unpacked code."""
        fast = FastCommand.parse(self.command(attempt)) if self.distributions else None
        names = self.distributions.skipped(fast.distribution) if fast and self.distributions else []
        if names:
            with contextlib.suppress(OSError), log_path.open("a") as out:
                listed = ", ".join(names[:10]) + (" ..." if len(names) > 10 else "")
                out.write(f"\n[aerodrome] warning: skipped {len(names)} code tarball entries outside its root: ")
                out.write(f"{listed}\n")

    async def _keep_log(self, attempt: Attempt, log_path: Path) -> str:
        return await keep_log(self.store, attempt, log_path, self.kept_log_bytes)

    async def _outcome(
        self, attempt: Attempt, timed_out: bool, code: int | None, log_path: Path, log_url: str, usage: dict[str, float]
    ) -> AttemptResult:
        return await outcome(self.store, attempt, timed_out, code, log_path, log_url, usage)


async def _stop(process: asyncio.subprocess.Process, grace: float = 5.0) -> None:
    """SIGTERM the attempt's process group, then SIGKILL after a grace period."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            await asyncio.wait_for(process.wait(), grace)
            return
        except TimeoutError:
            continue

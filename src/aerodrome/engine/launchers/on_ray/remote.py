"""What runs on a Ray worker for one attempt: the task's command in a scratch directory of its own.

Standard library only, and shipped to the cluster by value (the driver registers this module with
cloudpickle), so the workers need Ray, flytekit and the task's own packages, not aerodrome. A flytekit
command runs as a fork of a warm ``zygote.py`` (sent as text with ``map_batch.py``, which it imports)
kept by this worker process, so an attempt does not pay flytekit's import; anything else, or a worker
where the zygote cannot start, runs under ``wrapper.py`` (sent as text). Either way CPU seconds and peak
RSS are measured, the process group dies with the worker, and a cancelled Ray task (``ray.cancel``) stops
the group here, SIGTERM then SIGKILL. The log comes back in the result, its tail when it is longer than
the limit.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any

from aerodrome.engine.launchers.on_ray.remote_batch import run_batch  # shipped by value too (driver.py)

SCRATCH = "@AERODROME_SCRATCH@"  # stands for the attempt's scratch directory in argv
GRACE_SECONDS = 2.0
FORKABLE = frozenset({"pyflyte-execute", "pyflyte-map-execute", "pyflyte-fast-execute"})
_zygotes: dict[str, Any] = {}  # this worker process's warm zygote (Ray reuses worker processes)


def run_attempt(request: dict[str, Any]) -> dict[str, Any]:
    """Run ``request["argv"]`` to its end or its timeout; return exit code, usage, log and where it ran."""
    import ray

    node_id = ray.get_runtime_context().get_node_id()
    root = request.get("scratch_root") or os.path.join(tempfile.gettempdir(), "aerodrome-ray")
    os.makedirs(root, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix=f"{request['key'][:80]}-", dir=root)
    try:
        wrapper = os.path.join(scratch, ".wrapper.py")
        with open(wrapper, "w") as out:
            out.write(request["wrapper"])
        usage_path = os.path.join(scratch, ".usage.json")
        env = _environment(request["env"], node_id)
        _write_secrets(os.path.join(scratch, ".secrets"), request.get("secret_files") or {}, env)
        argv = [scratch if a == SCRATCH else a for a in request["argv"]]
        code_dir = _code_dir(root, argv)
        argv[0] = _executable(argv[0], env["PATH"])
        log_path = os.path.join(scratch, ".task.log")
        forkable = os.path.basename(argv[0]) in FORKABLE
        zygote = _zygote(root, request.get("zygote") or {}, request.get("preload", [])) if forkable else None
        if zygote is not None and code_dir:  # forks share one unpacked copy of the code per tarball
            argv[argv.index("--dest-dir") + 1] = code_dir
        where = {"node_id": node_id, "forked": zygote is not None, "zygote_error": _zygotes.get("failed", "")}
        if "batch" in request:  # map items, one after another in one fork (None: no warm process here)
            batch = run_batch(request, zygote, lambda by: _message(zygote, by), argv, env, scratch) if zygote else None
            return {"batch": batch, **where}
        usage: dict[str, float] = {}
        if zygote is not None:
            timed_out, code, usage = _forked(zygote, argv, env, scratch, log_path, request.get("timeout"))
        else:
            command = [sys.executable, wrapper, usage_path, "--", *argv]
            timed_out, code = _run(command, env, scratch, log_path, request)
            if os.path.exists(usage_path):
                with open(usage_path) as handle:
                    usage = json.load(handle)
        return {
            "exit_code": code,
            "timed_out": timed_out,
            "usage": usage,
            "log": _read_tail(log_path, int(request.get("log_limit", 16 << 20))),
            **where,
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _write_secrets(root: str, files: dict[str, str], env: dict[str, str]) -> None:
    """The requested secret files, readable by this user only, in the attempt's scratch directory (removed
    with it); flytekit finds them through FLYTE_SECRETS_DEFAULT_DIR."""
    if not files:
        return
    for relative, value in files.items():
        path = os.path.join(root, relative)
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(value)
    env.update({"FLYTE_SECRETS_DEFAULT_DIR": root, "FLYTE_SECRETS_FILE_PREFIX": ""})


def _code_dir(root: str, argv: list[str]) -> str:
    """Where this worker keeps the unpacked code tarball of a fast-registered command ('' for others)."""
    if "--additional-distribution" not in argv or "--dest-dir" not in argv:
        return ""
    url = argv[argv.index("--additional-distribution") + 1]
    return os.path.join(root, ".code-" + hashlib.sha256(url.encode()).hexdigest()[:24])


def _environment(task_env: dict[str, str], node_id: str) -> dict[str, str]:
    """The worker's environment without client config, with the attempt's variables on top."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLYTE", "_FLYTECTL", "_F_"))}
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    env.update(task_env)
    env["AERODROME_RAY_NODE_ID"] = node_id
    return env


def _executable(name: str, path: str) -> str:
    """A console script (pyflyte-execute) from this worker's Python first, then from PATH."""
    if "/" in name:
        return name
    return shutil.which(name, path=path) or name


def _run(
    command: list[str], env: dict[str, str], cwd: str, log_path: str, request: dict[str, Any]
) -> tuple[bool, int | None]:
    timeout = request.get("timeout")
    deadline = time.monotonic() + timeout if timeout else None
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        pause = 0.002
        while process.poll() is None:  # short sleeps: a cancellation arrives between two of them
            if deadline is not None and time.monotonic() > deadline:
                _stop(process)
                return True, process.returncode
            time.sleep(pause)
            pause = min(pause * 2, 0.05)
    except BaseException:  # ray.cancel (KeyboardInterrupt / TaskCancelledError): stop the whole tree
        _stop(process)
        raise
    return False, process.returncode


def _zygote(root: str, files: dict[str, str], preload: list[str]) -> subprocess.Popen[bytes] | None:
    """This worker's zygote, started on first use from ``files`` (``zygote.py`` and the modules it imports
    from beside itself); None when there are no files or it did not start (then never tried again by this
    worker process: the reason is in ``_zygotes["failed"]`` and goes back with every result). It imports the
    ``preload`` modules before its first fork."""
    running = _zygotes.get("process")
    if running is not None and running.poll() is None:
        return running  # type: ignore[no-any-return]
    if not files or _zygotes.get("failed"):
        return None
    home = tempfile.mkdtemp(prefix=f".zygote-{os.getpid()}-", dir=root)
    for name, text in files.items():
        with open(os.path.join(home, name), "w") as out:
            out.write(text)
    errors_path = os.path.join(root, f".zygote-{os.getpid()}.log")
    with open(errors_path, "ab") as errors:
        process = subprocess.Popen(
            [sys.executable, os.path.join(home, "zygote.py"), *preload], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=errors, start_new_session=True,
        )
    _zygotes["process"], _zygotes["buffer"] = process, b""
    hello = _message(process, time.monotonic() + 120)
    shutil.rmtree(home, ignore_errors=True)  # the interpreter has read (and imported) them
    if not hello or not hello.get("ready"):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        _zygotes.clear()
        _zygotes["failed"] = "the warm process did not start: " + _read_tail(errors_path, 2000).strip()
        return None
    return process


def _message(process: subprocess.Popen[bytes], deadline: float | None) -> dict[str, Any] | None:
    """The zygote's next line, waiting in short slices (a cancellation arrives between two of them); None
    at the deadline (a deadline already past still reads what is there) or when the zygote is gone."""
    assert process.stdout is not None
    fd = process.stdout.fileno()
    while b"\n" not in _zygotes["buffer"]:
        wait = 0.05 if deadline is None else max(0.0, min(0.05, deadline - time.monotonic()))
        ready, _, _ = select.select([fd], [], [], wait)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                return None
            _zygotes["buffer"] += chunk
        elif deadline is not None and time.monotonic() >= deadline:
            return None
    line, _, _zygotes["buffer"] = _zygotes["buffer"].partition(b"\n")
    return json.loads(line)  # type: ignore[no-any-return]


def _forked(
    zygote: subprocess.Popen[bytes], argv: list[str], env: dict[str, str], cwd: str, log: str, timeout: float | None
) -> tuple[bool, int | None, dict[str, float]]:
    """Run the command as a fork of the zygote; its exit line carries the usage."""
    assert zygote.stdin is not None
    zygote.stdin.write((json.dumps({"id": 0, "argv": argv, "env": env, "cwd": cwd, "log": log}) + "\n").encode())
    zygote.stdin.flush()
    started = _message(zygote, None)
    while started is not None and "id" not in started:  # a late exit line of an earlier, stopped fork
        started = _message(zygote, None)
    if started is None:
        return False, None, {}
    pid = started["pid"]
    deadline = time.monotonic() + timeout if timeout else None

    def ended(wait: float | None) -> dict[str, Any] | None:
        while (message := _message(zygote, wait)) is not None:
            if message.get("pid") == pid and "exit_code" in message:
                return message
        return None

    try:
        exit_ = ended(deadline)
    except BaseException:  # ray.cancel: stop the forked attempt and its children
        _stop_group(pid, lambda: ended(time.monotonic() + GRACE_SECONDS))
        raise
    timed_out = exit_ is None and zygote.poll() is None
    if timed_out:
        exit_ = _stop_group(pid, lambda: ended(time.monotonic() + GRACE_SECONDS))
    if exit_ is None:
        return timed_out, None, {}
    usage = {"cpu_seconds": exit_["cpu_seconds"], "peak_rss_bytes": exit_["peak_rss_bytes"]}
    return timed_out, exit_["exit_code"], usage


def _stop_group(pid: int, ended: Any) -> dict[str, Any] | None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, sig)
        exit_ = ended()
        if exit_ is not None:
            return exit_  # type: ignore[no-any-return]
    return None


def _stop(process: subprocess.Popen[bytes]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(GRACE_SECONDS)
            return
        except subprocess.TimeoutExpired:
            continue


def _read_tail(path: str, limit: int) -> str:
    if not os.path.exists(path):
        return ""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        handle.seek(max(0, size - limit))
        head = b"[aerodrome] log cut to its last %d bytes\n" % limit if size > limit else b""
        return (head + handle.read()).decode(errors="replace")

"""What runs on a Ray worker for one attempt: the task's command in a scratch directory of its own.

Standard library only, and shipped to the cluster by value (the driver registers this module with
cloudpickle), so the workers need Ray, flytekit and the task's own packages, not aerodrome. The command
runs under ``wrapper.py`` (sent as text), which measures its CPU seconds and peak RSS and kills the whole
process group if this worker dies; a cancelled Ray task (``ray.cancel``) stops the group here, SIGTERM then
SIGKILL. The log comes back in the result, its tail when it is longer than the limit.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any

SCRATCH = "@AERODROME_SCRATCH@"  # stands for the attempt's scratch directory in argv
GRACE_SECONDS = 2.0


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
        argv = [scratch if a == SCRATCH else a for a in request["argv"]]
        argv[0] = _executable(argv[0], env["PATH"])
        log_path = os.path.join(scratch, ".task.log")
        timed_out, code = _run([sys.executable, wrapper, usage_path, "--", *argv], env, scratch, log_path, request)
        usage: dict[str, float] = {}
        if os.path.exists(usage_path):
            with open(usage_path) as handle:
                usage = json.load(handle)
        return {
            "exit_code": code,
            "timed_out": timed_out,
            "usage": usage,
            "log": _read_tail(log_path, int(request.get("log_limit", 16 << 20))),
            "node_id": node_id,
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


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

"""A rehearsal of ``pyflyte-execute`` in the zygote (``zygote.py``) before it forks anything.

The first task flytekit runs in a process costs far more than the next ones: lazy imports, regular
expressions compiled on first use, ABC subclass caches, type-engine look-ups, its file system's set-up. A
fork inherits whatever its parent has already done, so running one trivial task in the zygote, once,
takes that cost out of every attempt. Standard library and flytekit only: it runs under the task interpreter.
"""

import contextlib
import os
import sys
from typing import Any

REHEARSED = False  # set once a rehearsal has run to its outputs (the zygote's tests read it in a fork)
REHEARSAL = "from flytekit import task\n\n\n@task\ndef rehearse(x: int) -> int:\n    return x + 1\n"


def rehearse(entrypoint: Any, keep_loop: bool = False) -> str:
    """Run a trivial task through ``pyflyte-execute`` here, once, before any fork: what flytekit does the
    first time in a process (lazy imports, compiled patterns, ABC and type caches, its file system's
    set-up) is then inherited by every child instead of redone in each. Nothing of it may outlive it:
    directory, path, environment, streams, flytekit's loop thread; a failure (returned, for the log) only
    costs the head start. ``keep_loop``: a spare (``spares.py``) keeps flytekit's loop thread for the task
    it runs next, in this same process."""
    import shutil
    import tempfile

    root, saved = tempfile.mkdtemp(prefix="aerodrome-rehearsal-"), (os.dup(1), os.dup(2))
    cwd, path, env, tmp = os.getcwd(), list(sys.path), dict(os.environ), tempfile.tempdir
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        os.close(null)
        with open(os.path.join(root, "_aerodrome_rehearsal.py"), "w") as module:
            module.write(REHEARSAL)
        with open(os.path.join(root, "inputs.pb"), "wb") as inputs:
            inputs.write(_one_input())
        os.chdir(root)
        sys.path.insert(0, root)
        tempfile.tempdir = root
        args = ["--inputs", f"{root}/inputs.pb", "--output-prefix", f"{root}/out"]
        args += ["--raw-output-data-prefix", f"{root}/raw", "--resolver"]
        args += ["flytekit.core.python_auto_container.default_task_resolver", "--"]
        args += ["task-module", "_aerodrome_rehearsal", "task-name", "rehearse"]
        entrypoint.execute_task_cmd.main(args=args, prog_name="pyflyte-execute", standalone_mode=False)
        if not os.path.exists(os.path.join(root, "out", "outputs.pb")):
            return "no outputs written"
        global REHEARSED
        REHEARSED = True
        return ""
    except BaseException as exc:  # the rehearsal is an optimisation only
        return repr(exc)
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
        os.chdir(cwd)
        sys.path[:] = path
        os.environ.clear()
        os.environ.update(env)
        tempfile.tempdir = tmp
        sys.modules.pop("_aerodrome_rehearsal", None)
        shutil.rmtree(root, ignore_errors=True)
        if not keep_loop:
            _stop_loops()


def _one_input() -> bytes:
    from flyteidl.core import literals_pb2

    inputs = literals_pb2.LiteralMap()
    inputs.literals["x"].scalar.primitive.integer = 1
    return bytes(inputs.SerializeToString())


def _stop_loops() -> None:
    """flytekit runs its coroutines on a loop thread per process: the rehearsal's is stopped (a fork would
    not inherit the thread; each child starts its own)."""
    with contextlib.suppress(Exception):
        from flytekit.utils.asyn import loop_manager  # type: ignore[import-untyped]

        for runner in list(loop_manager._runner_map.values()):
            private = vars(runner)  # flytekit's name-mangled attributes
            loop, thread = private.get("_TaskRunner__loop"), private.get("_TaskRunner__runner_thread")
            if loop is not None:
                loop.call_soon_threadsafe(loop.stop)
            if thread is not None:
                thread.join(5.0)
        loop_manager._runner_map.clear()

"""A warm task-process factory: imports flytekit once, then forks one child per task attempt.

Starting a task process costs a second or more, almost all of it importing flytekit; a fork of a process
that has already imported it costs a few milliseconds. The server (``warm.py``) writes one JSON request
per line on stdin ``{"id", "argv", "env", "cwd", "log"}``; this process forks, the child becomes the
leader of a new session (so the server can signal its whole process group), takes the request's
environment, directory and log file and runs the flytekit command (``pyflyte-execute`` or
``pyflyte-map-execute``) in-process. The parent answers ``{"id", "pid"}`` at once and, from a reaper
thread, ``{"pid", "request", "exit_code", "cpu_seconds", "peak_rss_bytes"}`` when the attempt ends.

A request ``{"id", "code": {"socket", "token", "module", "env", "cwd"}}`` forks a *code zygote* instead: a
child that imports one code version's task module (with that environment and the code on ``sys.path``),
then serves the same requests over the Unix socket ``socket`` (it sends ``token`` first), so that its own
forks find the user's module already imported (``code_zygotes.py`` on the server decides when).

The Ray launcher runs it on Ray workers too, where it also takes ``pyflyte-fast-execute``: the first
child of a tarball downloads and unpacks it into the ``--dest-dir`` it is given (one per tarball), and
every child runs ``pyflyte-execute`` in-process with the arguments ``pyflyte-fast-execute`` would add (the
local launcher unpacks tarballs once on the server instead).

Modules named on its command line (``zygote.py s3fs``: the store's client, which flytekit imports when a
task first reads its inputs) are imported before the first fork too. While at most one attempt runs, the
next child is forked and rehearsed ahead as a *spare* (``spares.py``) and takes the next request. A child
whose attempt carried a reuse key runs the next attempts of that key while it stays clean (``reuse.py``).

It runs under the task interpreter, so it uses only the standard library and flytekit. Both threads write
with ``os.write`` under one lock, never ``sys.stdout``: no buffered-stream lock is held at a fork.
"""

import contextlib
import gc
import importlib
import json
import os
import resource
import signal
import socket
import sys
import threading
import traceback
from typing import Any

COMMANDS = {"pyflyte-execute": "execute_task_cmd", "pyflyte-map-execute": "map_execute_task_cmd"}
FAST = "pyflyte-fast-execute"
MAP_BATCH = "aerodrome-map-batch"  # a batch of map items in one child (map_batch.py)
_lock = threading.Lock()
_forked = threading.Event()  # set after each fork: wakes the reaper waiting for a first child
_children: set[int] = set()  # running children (each leads its own process group)
_out = 1  # where messages go: stdout, or a code zygote's socket
_busy: set[int] = set()  # attempts running (not code zygotes, not spares)
_helpers: dict[str, Any] = {}  # the modules beside this file: "rehearsal", "spares" (when shipped)
_keeper: Any = None  # spares.Keeper, once serving
_endings: Any = None  # endings.Endings, once serving
_pool: Any = None  # reuse.Pool, once serving
_current: dict[int, object] = {}  # pid -> the request id it runs (for the reaper's report)
PROFILE = os.environ.get("AERODROME_ZYGOTE_PROFILE", "")  # bench only: a directory for each child's cProfile


def _send(message: dict[str, object]) -> None:
    data = memoryview((json.dumps(message) + "\n").encode())
    with _lock:
        while data:
            data = data[os.write(_out, data) :]


def _reap() -> None:
    while True:
        try:
            pid, status, usage = os.wait4(-1, 0)
        except ChildProcessError:  # no child yet: sleep until the next fork (not a polling interval)
            _forked.wait(1.0)
            _forked.clear()
            continue
        with _lock:
            _children.discard(pid)
            _busy.discard(pid)
            if _keeper is not None and pid in _keeper.silent:  # a spare never handed a request
                _keeper.silent.discard(pid)
                continue
            request = _current.pop(pid, None)
            if _pool is not None and _pool.gone(pid):  # reusable, and idle: no attempt of it ends here
                continue
            before = _keeper.pre_cpu.pop(pid, 0.0) if _keeper is not None else 0.0
            if _endings is not None and not _endings.reaped(pid):  # its end went out already
                continue
        _send(
            {
                "pid": pid,
                "request": request,
                "exit_code": os.waitstatus_to_exitcode(status),
                "cpu_seconds": max(0.0, usage.ru_utime + usage.ru_stime - before),
                "peak_rss_bytes": usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024),
            }
        )


def _child(request: dict[str, Any], entrypoint: object, batches: Any) -> None:
    """Run the request's attempt (and, reused, the next ones of its key: ``reuse.py``); never returns."""
    code, report, reuse = 1, _helpers.get("endings"), _helpers.get("reuse")
    try:
        if _out != 1:  # a code zygote's socket is not the task's to hold or write to (a spare closed it)
            with contextlib.suppress(OSError):
                os.close(_out)
        os.setsid()
        if limit := int(request.get("memory_bytes") or 0):  # a cap on what it may map beyond what it inherited
            with open("/proc/self/statm") as handle:  # (the warm process, shared): past it, MemoryError
                inherited = int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
            resource.setrlimit(resource.RLIMIT_AS, (inherited + limit, inherited + limit))
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        run = lambda r: _attempt(r, entrypoint, batches)  # noqa: E731
        code = reuse.serve(request, run, report.report if report else None) if reuse else run(request)
    except BaseException:  # whatever happens, the child must end here
        traceback.print_exc()
    finally:
        os._exit(code)


def _attempt(request: dict[str, Any], entrypoint: object, batches: Any) -> int:
    """One attempt in this child: its signals, log, directory and environment, then the command's exit code."""
    code, profiler = 1, None
    if PROFILE:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.alarm(0)
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        _enter(request["cwd"], request["env"])
        argv = request["argv"]
        if os.path.basename(argv[0]) == FAST:
            argv = _helpers["unpack"].unpacked(argv)
            if "batch" in request:  # map items of a fast-registered task (Ray workers): a batch of the inner command
                request["batch"]["args"], argv = argv[1:], [MAP_BATCH]
        name = os.path.basename(argv[0])
        sys.argv = [name, *argv[1:]]
        if name == MAP_BATCH:
            code = batches.run(request, entrypoint)
        else:
            command = getattr(entrypoint, COMMANDS[name])
            command.main(args=argv[1:], prog_name=name, standalone_mode=True)
            code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except BaseException:  # whatever happens, the child must end here
        traceback.print_exc()
    finally:
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(os.path.join(PROFILE, f"{os.getpid()}-{request.get('id')}.prof"))
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
    return code


def main() -> None:
    import map_batch  # type: ignore[import-not-found]  # beside this file, which runs as a script
    from flytekit.bin import entrypoint  # type: ignore[import-untyped]  # the expensive import, done once

    for name in sys.argv[1:]:  # what every task here imports next (the store's client): once, before forking
        with contextlib.suppress(ImportError):
            importlib.import_module(name)

    # Beside this file, like map_batch: imported before it leaves sys.path. A copy shipped without them
    # runs attempts without the head start (unpack: pyflyte-fast-execute on Ray workers, always shipped).
    for helper in ("rehearsal", "spares", "endings", "unpack", "reuse"):
        with contextlib.suppress(ImportError):
            _helpers[helper] = importlib.import_module(helper)
    # This file's directory must not shadow the user's modules (a task module named "warm" or "local").
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    if "rehearsal" in _helpers and (failure := _helpers["rehearsal"].rehearse(entrypoint)):
        print(f"the rehearsal failed (attempts still run, without its head start): {failure}", file=sys.stderr)
    _serve(sys.stdin, entrypoint, map_batch)


def _serve(lines: Any, entrypoint: object, batches: Any) -> None:
    """Fork one child per request line until the server closes the channel."""
    # Everything imported so far stays out of the collector's sight: a child's first collection would
    # otherwise touch (and copy) every object it inherited, tens of milliseconds per fork.
    gc.collect()
    gc.freeze()
    global _keeper, _endings, _pool
    ends, reuse = _helpers.get("endings"), _helpers.get("reuse")
    _pool = reuse.Pool() if reuse is not None and ends is not None else None
    _endings = ends.Endings(_lock, _send, _pool.park if _pool else None) if ends is not None else None
    if "spares" in _helpers and "rehearsal" in _helpers:
        rehearse = _helpers["rehearsal"].rehearse
        _keeper = _helpers["spares"].Keeper(
            lambda: rehearse(entrypoint, keep_loop=True),
            lambda r: _child(r, entrypoint, batches),
            _out,
            lambda: [helper.in_child() for helper in (_endings, _pool) if helper is not None],
        )
    threading.Thread(target=_reap, name="reaper", daemon=True).start()
    _send({"ready": True})
    _replenish(True)
    for line in lines:
        if not line.strip():
            continue
        request = json.loads(line)
        with _lock:  # the reaper must not report (and forget) the child before it is recorded
            pid, reports = _pool.take(request) if _pool is not None and "code" not in request else (0, -1)
            if not pid and _keeper is not None and "code" not in request:
                pid, reports, asks = _keeper.take(request)
                if _pool is not None:
                    _pool.track(pid, asks)
            if not pid:
                pipe = _endings.pipe() if _endings is not None and "code" not in request else (-1, -1)
                asks = _pool.pipe(request) if _pool is not None and pipe[0] >= 0 else (-1, -1)
                pid = os.fork()
                if pid == 0:
                    _ = [helper.in_child() for helper in (_keeper, _endings, _pool) if helper is not None]
                    if "code" in request:
                        _code_zygote(request["code"], entrypoint, batches)
                    for fd in (pipe[0], asks[1]):
                        if fd >= 0:
                            os.close(fd)
                    _child({**request, "report_fd": pipe[1], "request_fd": asks[0]}, entrypoint, batches)
                reports = pipe[0]
                for fd in (pipe[1], asks[0]):
                    if fd >= 0:
                        os.close(fd)
                if _pool is not None:
                    _pool.track(pid, asks[1])
            if reports >= 0:
                _endings.watch(pid, reports) if _endings is not None else os.close(reports)
            _children.add(pid)
            if "code" not in request:
                _busy.add(pid)
                _current[pid] = request["id"]
            idle = len(_busy) - (_pool.waiting() if _pool is not None else 0) <= 1
        _forked.set()
        _send({"id": request["id"], "pid": pid})
        _replenish(idle)
    _orphaned()


def _replenish(idle: bool) -> None:
    """A new spare once the last one is used, while at most one attempt runs: its rehearsal competes for
    the CPU, so none is made while attempts run side by side (a fan-out)."""
    if _keeper is not None and idle:
        with _lock:
            if spare := _keeper.replenish():
                _children.add(spare)
        _forked.set()


def _enter(cwd: str, env: dict[str, str]) -> None:
    """Take on an attempt's (or a code version's) directory and environment, its PYTHONPATH ahead on sys.path."""
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    sys.path[:0] = [p for p in paths if p not in sys.path]


def _code_zygote(spec: dict[str, Any], entrypoint: object, batches: Any) -> None:
    """A child that imports one code version's task module and then forks attempts of it (never returns).
    It stays in the zygote's process group (stopped with it) and ends its forks when its socket closes."""
    global _lock, _forked, _out
    _lock, _forked = threading.Lock(), threading.Event()  # the parent's may have been held at the fork
    for known in (_children, _busy, _current):
        known.clear()
    try:
        channel = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        channel.connect(spec["socket"])
        _out = channel.fileno()
        _send({"token": spec["token"], "pid": os.getpid()})
        os.dup2(2, 1)  # the user's module may print while imported: into the zygote's log
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        _enter(spec["cwd"], spec["env"])
        importlib.import_module(spec["module"])
        _serve(channel.makefile("r", encoding="utf-8"), entrypoint, batches)
    except BaseException:  # the module does not import here: the server runs its attempts as before
        traceback.print_exc()
    finally:
        os._exit(0)


def _orphaned() -> None:
    """stdin closed: the server is gone (stopped, or killed without a word). Its executions are resumed by
    another process or after a restart, so no task of this machine may keep running unowned."""
    with _lock:
        for pid in _children:
            with contextlib.suppress(OSError):  # a spare not yet handed a request leads no group
                os.killpg(pid, signal.SIGKILL) if pid in _busy else os.kill(pid, signal.SIGKILL)


if __name__ == "__main__":
    main()

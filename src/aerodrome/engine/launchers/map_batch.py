"""A batch of map items run one after another in one process forked from the zygote (``zygote.py``).

Forking a process that has imported flytekit costs milliseconds and flytekit's ``pyflyte-map-execute``
entrypoint tens more (argument parsing, loading the task, reading the array node's whole input list), so
one process per item cannot run a big map at the speed of its items. This process parses the command once,
loads the task once, reads the inputs once, and then runs each item through flytekit's own execution
(``setup_execution`` + ``_dispatch_execute``, exactly what ``pyflyte-map-execute`` calls) with the item's
environment (``FLYTE_K8S_ARRAY_INDEX``, ``FLYTE_ATTEMPT_NUMBER``), its own directory, log file, output
prefix and checkpoints, and an input file holding only its own element of each mapped list.

Isolation between items of one batch: the environment, the working directory and the standard streams
are restored after every item; an item that kills the process (a crash, ``os._exit``) or hangs ends the
batch, and the server runs it again alone and the items after it in a new batch; the process stops taking
items once it has grown by ``recycle_bytes`` (a leak), and the server gives the rest to a fresh one.

It talks to the server over a Unix socket, one JSON line per message: ``{"token", "pid"}`` once, then
``{"start": k}`` and ``{"done": k, "outputs": b64 | null, "error": bool, "cpu": s, "rss": bytes}`` per item.
Standard library and flytekit only: it runs under the task interpreter.
"""

import base64
import contextlib
import json
import os
import resource
import shutil
import socket
import sys
import tempfile
import traceback
from typing import Any

INDEX_ENV = "FLYTE_K8S_ARRAY_INDEX"
INLINE_OUTPUTS = 64 * 1024  # outputs up to this size travel in the message (no read-back by the server)


class Batch:
    """One batch request: the parsed command, the task (loaded on first use) and the full inputs."""

    def __init__(self, request: dict[str, Any], entrypoint: Any) -> None:
        from flytekit.bin.entrypoint import normalize_inputs  # type: ignore[import-untyped]

        self.spec = request["batch"]
        self.base_env = dict(os.environ)
        self.cwd = os.getcwd()
        # flytekit makes scratch directories per item and never removes them: here they go under the
        # batch's directory, which the server removes with the batch.
        tempfile.tempdir = os.path.join(self.cwd, "tmp")
        os.makedirs(tempfile.tempdir, exist_ok=True)
        command = entrypoint.map_execute_task_cmd
        self.params = command.make_context("pyflyte-map-execute", list(self.spec["args"])).params
        self.normalize = normalize_inputs
        self.task: Any = None
        self.full: Any = None
        self.files: Any = None  # the file access of the last item's execution context
        self.channel = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.channel.connect(self.spec["socket"])
        self.send({"token": self.spec["token"], "pid": os.getpid()})

    def send(self, message: dict[str, Any]) -> None:
        self.channel.sendall((json.dumps(message) + "\n").encode())

    def load(self) -> Any:
        """The mapped task, loaded once (inside the first item's execution context, as flytekit does)."""
        if self.task is None:
            from flytekit.tools.module_loader import load_object_from_module  # type: ignore[import-untyped]

            if all(os.path.realpath(p) != self.cwd for p in sys.path):
                sys.path.append(self.cwd)
            resolver = load_object_from_module(self.params["resolver"])()
            self.task = resolver.load_task(
                loader_args=list(self.params["resolver_args"]), max_concurrency=self.params["max_concurrency"]
            )
        return self.task

    def item_inputs(self, ctx: Any, index: int, directory: str) -> tuple[str, bool]:
        """A local input file holding only the item's element of each mapped list (and whether it is sliced);
        the whole file when an input cannot be sliced here (offloaded), so flytekit indexes it itself."""
        from flyteidl.core import literals_pb2

        if self.full is None:
            local = os.path.join(self.cwd, "inputs.pb")
            ctx.file_access.get_data(self.params["inputs"], local)
            with open(local, "rb") as handle:
                self.full = literals_pb2.LiteralMap.FromString(handle.read())
        bound = set(getattr(self.load(), "bound_inputs", ()) or ())
        sliced = literals_pb2.LiteralMap()
        for name, literal in self.full.literals.items():
            if name in bound:
                sliced.literals[name].CopyFrom(literal)
            elif literal.HasField("collection") and index < len(literal.collection.literals):
                sliced.literals[name].collection.literals.add().CopyFrom(literal.collection.literals[index])
            else:
                return os.path.join(self.cwd, "inputs.pb"), False
        path = os.path.join(directory, "inputs.pb")
        with open(path, "wb") as handle:
            handle.write(sliced.SerializeToString())
        return path, True

    def run_item(self, item: dict[str, Any]) -> None:
        from flytekit.bin.entrypoint import _dispatch_execute, setup_execution

        index, prefix = int(item["i"]), item["prefix"]
        raw, checkpoint, previous = self.normalize(f"{prefix}/raw", f"{prefix}/raw/_flytecheckpoints", item["prev"])
        os.makedirs(item["dir"], exist_ok=True)
        os.chdir(item["dir"])
        os.environ.update({INDEX_ENV: str(index), "FLYTE_ATTEMPT_NUMBER": str(item["a"])})
        params = self.params
        distro, dest = params["dynamic_addl_distro"], params["dynamic_dest_dir"]
        with setup_execution(raw, prefix, checkpoint, previous, distro, dest) as ctx:
            self.files = ctx.file_access
            inputs, sliced = self.item_inputs(ctx, index, item["dir"])
            if sliced:  # flytekit picks element OFFSET + index of each list: the only element of sliced ones
                os.environ["BATCH_JOB_ARRAY_INDEX_OFFSET"] = str(-index)
            _dispatch_execute(ctx, self.load, inputs, prefix, is_map_task=True)

    def outcome(self, prefix: str) -> dict[str, Any]:
        from flytekit.core.context_manager import FlyteContextManager  # type: ignore[import-untyped]

        files = self.files or FlyteContextManager.current_context().file_access
        outputs = f"{prefix}/outputs.pb"
        if not files.exists(outputs):
            return {"outputs": None, "has_outputs": False, "error": files.exists(f"{prefix}/error.pb")}
        data = b""
        if os.path.isabs(outputs) and os.path.getsize(outputs) <= INLINE_OUTPUTS:
            with open(outputs, "rb") as handle:
                data = handle.read()
        return {"outputs": base64.b64encode(data).decode() if data else None, "has_outputs": True, "error": False}

    def restore(self, streams: tuple[int, int]) -> None:
        """Undo what an item may have changed for the next one: streams, directory, environment."""
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os.dup2(streams[0], 1)
        os.dup2(streams[1], 2)
        os.chdir(self.cwd)
        os.environ.clear()
        os.environ.update(self.base_env)


def _rss() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def run(request: dict[str, Any], entrypoint: Any) -> int:
    """Run the batch's items in order; returns the process's exit code."""
    batch = Batch(request, entrypoint)
    streams = (os.dup(1), os.dup(2))
    start_rss, recycle = _rss(), int(batch.spec.get("recycle_bytes") or 0)
    for k, item in enumerate(batch.spec["items"]):
        batch.send({"start": k})
        before = resource.getrusage(resource.RUSAGE_SELF)
        os.makedirs(os.path.dirname(item["log"]), exist_ok=True)
        log = os.open(item["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        try:
            batch.run_item(item)
        except BaseException:  # SystemExit included: the item ends here, the batch goes on
            traceback.print_exc()
        finally:
            batch.restore(streams)
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        rss = _rss()
        outcome = batch.outcome(item["prefix"])
        batch.send({"done": k, "cpu": cpu, "rss": rss, **outcome})
        if outcome["has_outputs"] and item.get("remove"):
            shutil.rmtree(item["dir"], ignore_errors=True)
        if recycle and rss - start_rss > recycle:
            break  # grown too much (a leak?): the server hands the rest to a fresh process
    return 0

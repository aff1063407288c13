"""The Ray driver: one process per cluster, connected with ``ray.init``, that the server talks to.

Ray is imported here, not in the server: its import is heavy, it starts threads and owns signal
handlers, and one process can be connected to one cluster only. The server (``client.py``) writes one JSON
request per line on stdin and reads one JSON reply per line:

- ``{"id", "op": "task", "request", "options"}`` runs ``remote.run_attempt`` as a Ray task with the
  attempt's resources; the reply holds its ``result``, an ``error``, or ``cancelled``.
- ``{"id", "op": "job", "submission_id", "entrypoint", "runtime_env"}`` submits a Ray job and follows it to
  its end; the reply holds the job's ``status``, ``message`` and ``log``.
- ``{"op": "cancel", "target"}`` cancels the task or stops the job of request ``target``.
- ``{"id", "op": "nodes"}`` answers the alive nodes and their resources.

Every request waits on Ray in this process's event loop (``await`` on an ObjectRef), so a map over 1,000
items is 1,000 coroutines here and no thread. When stdin closes (the server is gone) everything submitted is
cancelled and the process exits.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from typing import Any, BinaryIO

JOB_POLL_SECONDS = 0.5
FORCE_AFTER_SECONDS = 3.0
TERMINAL = frozenset({"SUCCEEDED", "FAILED", "STOPPED"})


class Driver:
    def __init__(self, out: BinaryIO, dashboard: str) -> None:
        import ray
        from ray.job_submission import JobSubmissionClient

        from aerodrome.engine.launchers.on_ray import remote

        self.ray = ray
        self.out = out
        self.remote = ray.remote(max_retries=0)(remote.run_attempt)
        self.dashboard = dashboard
        self._jobs: JobSubmissionClient | None = None
        self.refs: dict[int, Any] = {}
        self.job_ids: dict[int, str] = {}

    def send(self, message: dict[str, Any]) -> None:
        self.out.write((json.dumps(message) + "\n").encode())

    def nodes(self) -> list[dict[str, Any]]:
        alive = [n for n in self.ray.nodes() if n.get("Alive")]
        return [{"address": n["NodeManagerAddress"], "resources": n["Resources"]} for n in alive]

    @property
    def jobs(self) -> Any:
        if self._jobs is None:
            from ray.job_submission import JobSubmissionClient

            self._jobs = JobSubmissionClient(f"http://{self.dashboard}")
        return self._jobs

    async def handle(self, message: dict[str, Any]) -> None:
        op, ident = str(message["op"]), int(message.get("id", -1))
        try:
            if op == "task":
                self.send({"id": ident, **await self.task(ident, message)})
            elif op == "job":
                self.send({"id": ident, **await self.job(ident, message)})
            elif op == "nodes":
                self.send({"id": ident, "result": await asyncio.to_thread(self.nodes)})
            elif op == "cancel":
                await self.cancel(message["target"])
        except Exception as exc:  # one bad request never ends the driver
            if ident >= 0:
                self.send({"id": ident, "error": f"{type(exc).__name__}: {exc}"})

    async def task(self, ident: int, message: dict[str, Any]) -> dict[str, Any]:
        ref = self.remote.options(**message["options"]).remote(message["request"])
        self.refs[ident] = ref
        try:
            return {"result": await ref}
        except self.ray.exceptions.TaskCancelledError:
            return {"cancelled": True}
        except self.ray.exceptions.RayTaskError as exc:
            if isinstance(exc.cause, KeyboardInterrupt):
                return {"cancelled": True}
            return {"error": str(exc)}
        except self.ray.exceptions.RayError as exc:  # the worker or its node died
            return {"error": f"{type(exc).__name__}: {exc}"}
        finally:
            self.refs.pop(ident, None)

    async def job(self, ident: int, message: dict[str, Any]) -> dict[str, Any]:
        submission_id = message["submission_id"]
        self.job_ids[ident] = submission_id
        try:
            await asyncio.to_thread(
                self.jobs.submit_job,
                entrypoint=message["entrypoint"],
                submission_id=submission_id,
                runtime_env=message["runtime_env"],
            )
            while True:
                info = await asyncio.to_thread(self.jobs.get_job_info, submission_id)
                status = str(info.status.value if hasattr(info.status, "value") else info.status)
                if status in TERMINAL:
                    break
                await asyncio.sleep(JOB_POLL_SECONDS)
            log = await asyncio.to_thread(self.jobs.get_job_logs, submission_id)
            return {"result": {"status": status, "message": info.message or "", "log": log}}
        finally:
            self.job_ids.pop(ident, None)

    async def cancel(self, target: int) -> None:
        if target in self.job_ids:
            await asyncio.to_thread(self.jobs.stop_job, self.job_ids[target])
            return
        ref = self.refs.get(target)
        if ref is None:
            return
        self.ray.cancel(ref)  # KeyboardInterrupt in the task: it stops its process group itself
        await asyncio.sleep(FORCE_AFTER_SECONDS)
        if target in self.refs:
            self.ray.cancel(ref, force=True)

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=64 << 20)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        running: set[asyncio.Task[None]] = set()
        while line := await reader.readline():
            if line.strip():
                task = asyncio.create_task(self.handle(json.loads(line)))
                running.add(task)
                task.add_done_callback(running.discard)
        for ref in list(self.refs.values()):  # the server is gone: nothing of it may keep running
            self.ray.cancel(ref, force=True)
        for submission_id in list(self.job_ids.values()):
            await asyncio.to_thread(self.jobs.stop_job, submission_id)


def main() -> None:
    address = sys.argv[1]
    out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)  # whatever Ray prints goes to the log, never into the replies
    import ray

    from aerodrome.engine.launchers.on_ray import remote, remote_batch

    ray.cloudpickle.register_pickle_by_value(remote)
    ray.cloudpickle.register_pickle_by_value(remote_batch)
    try:
        context = ray.init(address=address, log_to_driver=False, namespace="aerodrome", logging_level=logging.WARNING)
    except Exception as exc:
        out.write((json.dumps({"error": f"cannot connect to the Ray cluster at {address}: {exc}"}) + "\n").encode())
        sys.exit(1)
    driver = Driver(out, context.dashboard_url or "")
    driver.send({"ready": True, "nodes": driver.nodes(), "dashboard": driver.dashboard})
    asyncio.run(driver.serve())
    ray.shutdown()


if __name__ == "__main__":
    main()

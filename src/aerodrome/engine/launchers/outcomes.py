"""How an attempt ended, read the same way by every launcher: from ``error.pb`` / ``futures.pb`` /
``outputs.pb`` under the attempt's output prefix, not from the exit code (flytekit exits 0 on user
errors); and its log, kept next to them as ``task.log``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from flyteidl.core import errors_pb2, execution_pb2, literals_pb2
from google.protobuf.message import DecodeError

from aerodrome.blobstore.store import BlobNotFound, BlobStore, LocalStore
from aerodrome.engine.launchers.attempts import Attempt, AttemptResult
from aerodrome.engine.launchers.task_logs import kept_chunks

LOG_TAIL_BYTES = 4000


async def keep_log(store: BlobStore, attempt: Attempt, log_path: Path, limit: int = 0) -> str:
    """Upload the attempt's log as ``<output prefix>/task.log``, cut to ``limit`` bytes (0: whole; see
    ``task_logs.py``); '' when it cannot be kept."""
    url = f"{attempt.output_prefix}/task.log"
    with contextlib.suppress(OSError):
        small = await asyncio.to_thread(read_small, log_path)
        if small is not None and (not limit or len(small) <= limit):
            # One read and one write, not fsynced: a log is for reading, and losing its tail in a power cut
            # is acceptable where a result's is not.
            await store.write_bytes(url, small, durable=False)
        else:
            await store.write_stream(url, kept_chunks(log_path, limit))
        return url
    return ""


def read_small(path: Path, limit: int = 256 * 1024) -> bytes | None:
    """The file's bytes when it is at most ``limit`` long, else None (streamed instead)."""
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    return data if len(data) <= limit else None


async def outcome(
    store: BlobStore,
    attempt: Attempt,
    timed_out: bool,
    code: int | None,
    log_path: Path,
    log_url: str,
    usage: dict[str, float],
) -> AttemptResult:
    """The result of an attempt whose process has ended (or was stopped at its timeout)."""
    common = AttemptResult(
        log_url=log_url,
        cpu_seconds=float(usage.get("cpu_seconds", 0.0)),
        peak_rss_bytes=int(usage.get("peak_rss_bytes", 0)),
        exit_code=code,
    )
    if timed_out:
        error = execution_pb2.ExecutionError(
            code="TimeoutExpired",
            kind=execution_pb2.ExecutionError.SYSTEM,
            message=f"task attempt {attempt.attempt} exceeded its timeout of {attempt.timeout_seconds}s",
        )
        return replace(common, error=error, retryable=True)
    prefix = attempt.output_prefix
    error_pb, futures_pb, outputs_pb = await read_present(
        store, [f"{prefix}/error.pb", f"{prefix}/futures.pb", f"{prefix}/outputs.pb"]
    )
    if error_pb is not None:
        container = errors_pb2.ErrorDocument.FromString(error_pb).error
        user = container.origin != execution_pb2.ExecutionError.SYSTEM
        error = execution_pb2.ExecutionError(
            code=container.code,
            message=container.message,
            error_uri=f"{attempt.output_prefix}/error.pb",
            kind=execution_pb2.ExecutionError.USER if user else execution_pb2.ExecutionError.SYSTEM,
        )
        retryable = container.kind == errors_pb2.ContainerError.RECOVERABLE
        return replace(common, error=error, retryable=retryable, system=not user)
    if futures_pb is not None:
        return replace(common, dynamic_url=f"{prefix}/futures.pb")
    written, problem = checked_outputs(attempt, outputs_pb, code)
    if written is not None:
        return replace(common, outputs_url=f"{prefix}/outputs.pb", outputs=written)
    tail = await asyncio.to_thread(log_tail, log_path)
    error = execution_pb2.ExecutionError(
        code="SystemError", kind=execution_pb2.ExecutionError.SYSTEM, message=f"task process {problem}:\n{tail}"
    )
    return replace(common, error=error, retryable=True, system=True)


async def read_present(store: BlobStore, urls: list[str]) -> list[bytes | None]:
    """The bytes of each object, None for one that does not exist: from a local store in one hop to a
    worker thread (not one per file), from another one after the other."""
    if isinstance(store, LocalStore):
        paths = [store.path(url) for url in urls]
        return await asyncio.to_thread(lambda: [_read_or_none(path) for path in paths])
    found: list[bytes | None] = []
    for url in urls:
        try:
            found.append(await store.read_bytes(url))
        except BlobNotFound:
            found.append(None)
    return found


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        return None


def item_usage(message: dict[str, Any]) -> dict[str, float]:
    """A map batch's report of one item (``map_batch.py``: ``cpu``, ``rss``) as ``outcome``'s usage."""
    return {"cpu_seconds": float(message.get("cpu", 0.0)), "peak_rss_bytes": float(message.get("rss", 0))}


def item_succeeded(item: Attempt, log_url: str, usage: dict[str, float]) -> AttemptResult:
    """A map item its batch reported with outputs: nothing to read back, its outputs are where flytekit
    wrote them (the batch process checked they were complete)."""
    return AttemptResult(
        outputs_url=f"{item.output_prefix}/outputs.pb",
        log_url=log_url,
        cpu_seconds=usage["cpu_seconds"],
        peak_rss_bytes=int(usage["peak_rss_bytes"]),
        exit_code=0,
    )


def checked_outputs(
    attempt: Attempt, data: bytes | None, code: int | None
) -> tuple[literals_pb2.LiteralMap | None, str]:
    """The outputs file's contents, or what is wrong with it: missing, or short (a task that could not
    write it whole, on a full disk, must not pass for a success with outputs missing downstream)."""
    if data is None:
        return None, f"exited with code {code} without writing outputs or an error"
    try:
        written = literals_pb2.LiteralMap.FromString(data)
    except DecodeError:
        return None, "wrote incomplete outputs (outputs.pb does not parse)"
    missing = [name for name in attempt.task.interface.outputs.variables if name not in written.literals]
    return (None, f"wrote incomplete outputs (missing {', '.join(missing)})") if missing else (written, "")


async def file_chunks(path: Path, size: int = 1024 * 1024) -> AsyncIterator[bytes]:
    with path.open("rb") as handle:
        while chunk := await asyncio.to_thread(handle.read, size):
            yield chunk


def log_tail(path: Path) -> str:
    """The last few kilobytes of a log, for an error message."""
    if not path.exists():
        return ""
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - LOG_TAIL_BYTES))
        return handle.read().decode(errors="replace")

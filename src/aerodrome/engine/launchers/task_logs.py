"""The task log kept in the blob store: the whole file when it is small, else its start and its end.

A task may print gigabytes; the kept copy is what users read in the console and what the blob store has
to hold for every attempt, so beyond the limit the middle is left out (with a line saying how much).
The start shows how the task began, the end how it finished (the traceback, the last progress lines).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

CHUNK = 1024 * 1024
HEAD_SHARE = 4  # a quarter of the limit for the start, the rest for the end


async def kept_chunks(path: Path, limit: int) -> AsyncIterator[bytes]:
    """The bytes of ``path`` to keep, read in chunks (never the whole file in memory); ``limit`` 0 keeps all."""
    handle = await asyncio.to_thread(path.open, "rb")
    with handle:
        size = os.fstat(handle.fileno()).st_size
        if limit <= 0 or size <= limit:
            async for chunk in _copy(handle, size):
                yield chunk
            return
        head = limit // HEAD_SHARE
        tail = limit - head
        async for chunk in _copy(handle, head):
            yield chunk
        left_out = size - head - tail
        note = f"\n[aerodrome] {left_out} bytes of the log left out (kept the first {head} and the last {tail})\n"
        yield note.encode()
        await asyncio.to_thread(handle.seek, size - tail)
        async for chunk in _copy(handle, tail):
            yield chunk


async def _copy(handle: object, count: int) -> AsyncIterator[bytes]:
    read = handle.read  # type: ignore[attr-defined]
    while count > 0:
        chunk: bytes = await asyncio.to_thread(read, min(CHUNK, count))
        if not chunk:
            return
        count -= len(chunk)
        yield chunk

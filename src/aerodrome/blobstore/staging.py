"""Writing one incoming stream to a staging file of the local store, off the event loop and in order.

Why this shape (measured with ``bench/upload.py``, see bench/README.md): on a loaded upload the event loop
is busy receiving and parsing, md5 is the costliest step (about 600 MB/s, single-threaded by nature) and
the fsync before the rename took as long as the whole copy baseline. So:

- the loop only *collects* chunks into a batch (a list of references, no copy) and hands each batch of
  ``BATCH`` bytes to a worker thread: one thread hop per few MB rather than one per socket read;
- a hasher thread and a writer thread take each batch side by side (hashlib and ``os.writev`` release the
  GIL): hashing and the page-cache copy run beside the socket reads instead of between them, and the
  write no longer adds to md5, which is the critical path of a whole upload;
- exactly one batch of a stream is in flight while the loop collects the next, which keeps hashing and
  writing in order and bounds the memory of an upload to about two batches whatever its size;
- when the store is durable, a background ``fdatasync`` every ``FLUSH_EVERY`` bytes makes the disk write
  back while the rest is still arriving, so the final fsync only has the tail left. The guarantee is
  unchanged: ``finish`` returns only after a full fsync of the file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

BATCH = 4 * 1024 * 1024
FLUSH_EVERY = 32 * 1024 * 1024
_IOV_MAX = 512  # well under the platform's IOV_MAX (1024 on Linux)

_HASHERS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="blob-hash")
_WRITERS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="blob-write")
_FLUSHERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="blob-flush")


class StagingWriter:
    """Appends chunks to an open file descriptor, hashing them into ``digest`` as they are written.

    Chunks are kept by reference until written, so they must be immutable (``bytes``). The caller owns
    the descriptor and must call ``settle`` before closing it (also after a failure or a cancellation),
    so that no thread is still writing to or flushing it.
    """

    def __init__(self, fd: int, digest: Any, *, durable: bool) -> None:
        self.fd = fd
        self.digest = digest  # a hashlib object; its update releases the GIL for large buffers
        self.durable = durable
        self._batch: list[bytes] = []
        self._batched = 0
        self._pending: list[Future[None]] = []
        self._flush: Future[None] | None = None
        self._unflushed = 0  # touched only by the writer thread of the batch in flight

    async def add(self, chunk: bytes) -> None:
        """Queue a chunk; hands the batch over (waiting for the previous one) once it is full."""
        if chunk:
            self._batch.append(chunk)
            self._batched += len(chunk)
            if self._batched >= BATCH:
                await self._hand_off()

    async def finish(self) -> None:
        """Write what is left and wait for it; with ``durable``, fsync the file before returning."""
        await self._hand_off()
        await self._wait_pending()
        if self.durable:
            if self._flush is not None:
                await asyncio.wrap_future(self._flush)
            await asyncio.to_thread(os.fsync, self.fd)

    def settle(self) -> None:
        """Block until no thread uses the descriptor any more; errors were already reported or are moot."""
        for future in self._pending:
            with contextlib.suppress(BaseException):
                future.result()
        flush = self._flush  # read only now: the writer may have started a flush until it returned
        if flush is not None:
            with contextlib.suppress(BaseException):
                flush.result()

    async def _wait_pending(self) -> None:
        for future in self._pending:
            await asyncio.wrap_future(future)  # also re-raises a failed write (disk full, …)

    async def _hand_off(self) -> None:
        await self._wait_pending()
        if not self._batch:
            return
        batch, self._batch, self._batched = self._batch, [], 0
        self._pending = [_HASHERS.submit(self._hash, batch), _WRITERS.submit(self._write, batch)]

    def _hash(self, batch: list[bytes]) -> None:
        """Hash one batch (in a hasher thread; batches of one stream never overlap)."""
        for chunk in batch:
            self.digest.update(chunk)

    def _write(self, batch: list[bytes]) -> None:
        """Write one batch (in a writer thread, beside its hashing; batches of one stream never overlap)."""
        for start in range(0, len(batch), _IOV_MAX):
            self._unflushed += _write_all(self.fd, batch[start : start + _IOV_MAX])
        if self.durable and self._unflushed >= FLUSH_EVERY and (self._flush is None or self._flush.done()):
            self._unflushed = 0
            self._flush = _FLUSHERS.submit(os.fdatasync, self.fd)


def _write_all(fd: int, buffers: list[bytes]) -> int:
    """Write every buffer with as few system calls as the kernel allows; returns the byte count."""
    total = sum(len(buffer) for buffer in buffers)
    done = os.writev(fd, buffers)
    if done < total:  # a short write (rare for regular files): finish byte-exactly
        view = memoryview(b"".join(buffers))[done:]
        while view:
            view = view[os.write(fd, view) :]
    return total

"""Inputs stored under their content: ``<project>/<domain>/inputs/<sha256[:2]>/<sha256>.pb`` (``layout``).

Why: CreateExecution must make an execution's inputs durable before it answers. Under a key of each request
that cost a new file, its fsync and two new directories per creation (0.7 to 1 ms of a worker thread on the
benchmark machine, plus the hop), for content that is often the same from one creation to the next (a
workflow without inputs, a launch plan's fixed inputs, a schedule's). Named by content, identical inputs
are one object: written once (fsynced, renamed into place, in one hop, unless the file is already there),
and afterwards a creation of this process that brings the same content writes nothing at all.

Such objects are immutable and never deleted (another execution may refer to the same one), so a request
that lost the race for its execution's name leaves at most one small object that nothing refers to, and
only when its content was new. What this process remembers (bounded) is only what it wrote or found
stored: an object is known only once it is durable.
"""

from __future__ import annotations

import asyncio
import hashlib

from flyteidl.core import literals_pb2

from aerodrome.blobstore import layout
from aerodrome.blobstore.store import BlobStore

KNOWN = 4096  # content keys remembered as stored (a key is ~100 bytes)


class StoredInputs:
    """Writes literal maps under their content's key; remembers the keys known to be stored."""

    def __init__(self, store: BlobStore, *, known: int = KNOWN) -> None:
        self.store = store
        self.known = known
        self._stored: dict[str, None] = {}  # insertion order: the oldest is forgotten first
        self._writing: dict[str, asyncio.Future[None]] = {}

    def url(self, project: str, domain: str, data: bytes) -> str:
        """The native URL of serialized inputs ``data``."""
        return self.store.url(layout.inputs_key(project, domain, hashlib.sha256(data).hexdigest()))

    async def put(self, project: str, domain: str, inputs: literals_pb2.LiteralMap) -> str:
        """The URL of ``inputs``, durable in the store when this returns."""
        data = inputs.SerializeToString(deterministic=True)
        url = self.url(project, domain, data)
        if url in self._stored:
            return url
        writing = self._writing.get(url)
        if writing is not None:  # a concurrent creation with the same content writes it: wait for that
            await asyncio.shield(writing)
            return url
        self._writing[url] = done = asyncio.get_running_loop().create_future()
        try:
            await self.store.write_once(url, data)
        except BaseException as exc:
            done.set_exception(exc if isinstance(exc, Exception) else RuntimeError("the write was cancelled"))
            done.exception()  # retrieved: no "never retrieved" warning when nobody else waited
            raise
        finally:
            self._writing.pop(url, None)
        done.set_result(None)
        self._stored[url] = None
        if len(self._stored) > self.known:
            del self._stored[next(iter(self._stored))]
        return url

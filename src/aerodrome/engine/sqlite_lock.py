"""SQLite serves one process: an exclusive ``flock`` on ``<database>.lock`` refuses a second one."""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sqlalchemy.engine import make_url


class DatabaseInUse(OSError):
    """A second process was started on a SQLite database that another process serves."""


@dataclass
class SqliteLock:
    """An exclusive ``flock`` on ``<database>.lock``; the kernel frees it when the process dies."""

    path: Path
    handle: IO[str] | None = None

    @classmethod
    def for_url(cls, url: str) -> SqliteLock | None:
        database = make_url(url).database
        return None if not database or database == ":memory:" else cls(Path(f"{database}.lock"))

    def acquire(self) -> None:
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise DatabaseInUse(
                f"another aerodrome process (pid {holder}) is serving the SQLite database "
                f"{str(self.path)[: -len('.lock')]}; SQLite is for one process: stop that one, or use PostgreSQL "
                "(AERODROME_DB_URL) to run several processes on one database"
            ) from None
        handle.truncate(0)
        handle.write(str(os.getpid()))
        handle.flush()
        self.handle = handle

    def release(self) -> None:
        if self.handle is not None:
            self.handle.close()  # closing the descriptor drops the lock
            self.handle = None

"""Keys kept in files under the home directory: created once, readable by the owner only.

The URL-signing key and the secrets key (and any later one) must be the same for every process that
shares a home directory, and must survive restarts, so whichever process comes first creates the file
atomically and the others read it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path


def load_or_create(path: Path, make: Callable[[], bytes]) -> bytes:
    """The key in ``path``, or a new one from ``make`` written there with mode 0600 if the file is absent."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # another process may be between creating and writing it
            key = path.read_bytes().strip()
            if key:
                return key
            time.sleep(0.02)
        raise RuntimeError(f"key file {path} is empty") from None
    key = make()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key

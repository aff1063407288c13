"""Where embedded state lives unless told otherwise."""

from __future__ import annotations

import os
from pathlib import Path


def default_home() -> Path:
    """The home directory: ``$AERODROME_HOME`` or ``~/.aerodrome``."""
    return Path(os.environ.get("AERODROME_HOME") or Path.home() / ".aerodrome").expanduser()

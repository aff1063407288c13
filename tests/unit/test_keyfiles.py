"""Key files: created once with owner-only permissions, then read back by every later caller."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from aerodrome.keyfiles import load_or_create


def test_created_once_owner_only_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "home" / "some.key"
    made: list[bytes] = []

    def make() -> bytes:
        made.append(b"k%d" % len(made))
        return made[-1]

    first = load_or_create(path, make)
    second = load_or_create(path, make)

    assert first == second == b"k0"
    assert made == [b"k0"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_empty_key_file_is_an_error_not_an_empty_key(tmp_path: Path) -> None:
    path = tmp_path / "empty.key"
    path.write_bytes(b"")
    with pytest.raises(RuntimeError, match="is empty"):
        load_or_create(path, lambda: b"never")

"""The kept task log: whole when small, its start and end with a note when over the limit (a task that
printed gigabytes filled the blob store with a full copy before)."""

from __future__ import annotations

from pathlib import Path

from aerodrome.engine.launchers.task_logs import kept_chunks


async def kept(path: Path, limit: int) -> bytes:
    return b"".join([chunk async for chunk in kept_chunks(path, limit)])


async def test_a_small_log_is_kept_whole(tmp_path: Path) -> None:
    log = tmp_path / "task.log"
    log.write_bytes(b"hello\n" * 10)
    assert await kept(log, 1000) == b"hello\n" * 10
    assert await kept(log, 0) == b"hello\n" * 10


async def test_a_large_log_keeps_its_start_and_end(tmp_path: Path) -> None:
    log = tmp_path / "task.log"
    body = b"A" * 3_000_000 + b"M" * 5_000_000 + b"Z" * 3_000_000
    log.write_bytes(body)
    limit = 4_000_000
    text = await kept(log, limit)
    head, rest = text.split(b"\n[aerodrome] ", 1)
    note, tail = rest.split(b"\n", 1)
    assert head == b"A" * 1_000_000 and tail == b"M" * 0 + b"Z" * 3_000_000
    assert note.startswith(b"7000000 bytes of the log left out")
    assert len(text) <= limit + 200

"""SignalManager.wait over a real SQLite database: a gate wakes when its signal is set, without polling."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from flyteidl.admin import signal_pb2
from flyteidl.core import identifier_pb2, literals_pb2, types_pb2

from aerodrome.db import migrate
from aerodrome.db.engine import Database
from aerodrome.managers.signals import SignalManager

EXEC = identifier_pb2.WorkflowExecutionIdentifier(project="p", domain="development", name="abc")
BOOLEAN = types_pb2.LiteralType(simple=types_pb2.BOOLEAN)


def _id(signal_id: str) -> identifier_pb2.SignalIdentifier:
    return identifier_pb2.SignalIdentifier(signal_id=signal_id, execution_id=EXEC)


def _true() -> literals_pb2.Literal:
    return literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(boolean=True)))


async def _until(condition: Callable[[], bool]) -> None:
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the gates never started waiting")


async def _manager(tmp_path: Path, poll_seconds: float) -> SignalManager:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'signals.db'}")
    await migrate.upgrade(db)
    return SignalManager(db, poll_seconds=poll_seconds)


def test_set_wakes_the_waiting_gate_long_before_the_fallback_poll(tmp_path: Path) -> None:
    async def scenario() -> None:
        signals = await _manager(tmp_path, poll_seconds=3600)
        waiting = asyncio.create_task(signals.wait(signal_pb2.SignalGetOrCreateRequest(id=_id("ok"), type=BOOLEAN)))
        other = asyncio.create_task(signals.wait(signal_pb2.SignalGetOrCreateRequest(id=_id("no"), type=BOOLEAN)))
        await _until(lambda: len(signals._waiters) == 2)  # both signals created, both gates waiting
        await signals.set(signal_pb2.SignalSetRequest(id=_id("ok"), value=_true()))
        value = await asyncio.wait_for(waiting, 10)
        assert value.scalar.primitive.boolean is True
        assert not other.done()  # only the gate of that signal woke
        other.cancel()
        with pytest.raises(asyncio.CancelledError):
            await other
        assert signals._waiters == {}  # nothing left behind by finished or cancelled waits

    asyncio.run(scenario())


def test_a_value_set_elsewhere_is_seen_by_the_poll(tmp_path: Path) -> None:
    async def scenario() -> None:
        signals = await _manager(tmp_path, poll_seconds=0.05)
        elsewhere = SignalManager(signals.db)  # another process's manager on the same database
        waiting = asyncio.create_task(signals.wait(signal_pb2.SignalGetOrCreateRequest(id=_id("s"), type=BOOLEAN)))
        await _until(lambda: bool(signals._waiters))
        await elsewhere.set(signal_pb2.SignalSetRequest(id=_id("s"), value=_true()))
        assert (await asyncio.wait_for(waiting, 10)).scalar.primitive.boolean is True

    asyncio.run(scenario())


def test_a_value_already_set_returns_at_once(tmp_path: Path) -> None:
    async def scenario() -> None:
        signals = await _manager(tmp_path, poll_seconds=3600)
        request = signal_pb2.SignalGetOrCreateRequest(id=_id("s"), type=BOOLEAN)
        await signals.get_or_create(request)
        await signals.set(signal_pb2.SignalSetRequest(id=_id("s"), value=_true()))
        assert (await asyncio.wait_for(signals.wait(request), 10)).scalar.primitive.boolean is True

    asyncio.run(scenario())

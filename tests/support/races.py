"""Helpers of the race tests: fire many calls at once from threads, each with its own channel, and collect
what every caller got back; read the event log of an execution straight from the server's database."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import grpc
from flyteidl.service import admin_pb2_grpc, signal_pb2_grpc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

OK = "OK"


@dataclass(frozen=True)
class Outcome:
    """What one caller got: ``OK`` or the status code name, and the details."""

    code: str
    details: str = ""


def at_once(address: str, calls: Sequence[Callable[[Any, Any], object]]) -> list[Outcome]:
    """Run every call in its own thread on its own channel, released together by a barrier. Each call gets
    (admin stub, signal stub)."""
    barrier = threading.Barrier(len(calls))

    def one(call: Callable[[Any, Any], object]) -> Outcome:
        with grpc.insecure_channel(address) as channel:
            admin, signals = admin_pb2_grpc.AdminServiceStub(channel), signal_pb2_grpc.SignalServiceStub(channel)
            grpc.channel_ready_future(channel).result(timeout=30)
            barrier.wait(timeout=60)
            try:
                call(admin, signals)
            except grpc.RpcError as exc:
                return Outcome(exc.code().name, exc.details() or "")
            return Outcome(OK)

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(one, calls))


def codes(outcomes: Sequence[Outcome]) -> Counter[str]:
    return Counter(o.code for o in outcomes)


def event_log(db_url: str, execution: str) -> list[tuple[str, str, str]]:
    """(kind, node id, phase) of every event the server recorded for an execution, in order."""

    async def read() -> list[tuple[str, str, str]]:
        engine = create_async_engine(db_url)
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(
                    text("SELECT kind, node_id, phase FROM events WHERE execution_name = :name ORDER BY id"),
                    {"name": execution},
                )
                return [(r[0], r[1], r[2]) for r in rows]
        finally:
            await engine.dispose()

    return asyncio.run(read())

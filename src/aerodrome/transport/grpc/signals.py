"""SignalService: each method calls exactly one ``SignalManager`` method."""

from __future__ import annotations

from typing import Any

from flyteidl.admin import signal_pb2
from flyteidl.service import signal_pb2_grpc

from aerodrome.managers.signals import SignalManager

Context = Any


class SignalServicer(signal_pb2_grpc.SignalServiceServicer):  # type: ignore[misc]
    """Gate-node signals: created by the engine, listed and set by users (FlyteRemote.approve, set_input)."""

    def __init__(self, manager: SignalManager) -> None:
        self.manager = manager

    async def GetOrCreateSignal(
        self, request: signal_pb2.SignalGetOrCreateRequest, context: Context
    ) -> signal_pb2.Signal:
        return await self.manager.get_or_create(request)

    async def ListSignals(self, request: signal_pb2.SignalListRequest, context: Context) -> signal_pb2.SignalList:
        return await self.manager.list(request)

    async def SetSignal(self, request: signal_pb2.SignalSetRequest, context: Context) -> signal_pb2.SignalSetResponse:
        return await self.manager.set(request)

"""DataProxyService: each method calls exactly one ``DataProxyManager`` method.

Failures are raised as ``AdminError`` and mapped to a status once, by the interceptor in ``errors.py``.
"""

from __future__ import annotations

from typing import Any

from flyteidl.service import dataproxy_pb2, dataproxy_pb2_grpc

from aerodrome.managers.data import DataProxyManager

Context = Any


class DataProxyServicer(dataproxy_pb2_grpc.DataProxyServiceServicer):  # type: ignore[misc]
    """Upload and download locations and execution data, as flytekit's data proxy client expects."""

    def __init__(self, manager: DataProxyManager) -> None:
        self.manager = manager

    async def CreateUploadLocation(
        self, request: dataproxy_pb2.CreateUploadLocationRequest, context: Context
    ) -> dataproxy_pb2.CreateUploadLocationResponse:
        return await self.manager.create_upload_location(request)

    async def CreateDownloadLocation(
        self, request: dataproxy_pb2.CreateDownloadLocationRequest, context: Context
    ) -> dataproxy_pb2.CreateDownloadLocationResponse:
        return await self.manager.create_download_location(request)

    async def CreateDownloadLink(
        self, request: dataproxy_pb2.CreateDownloadLinkRequest, context: Context
    ) -> dataproxy_pb2.CreateDownloadLinkResponse:
        return await self.manager.create_download_link(request)

    async def GetData(self, request: dataproxy_pb2.GetDataRequest, context: Context) -> dataproxy_pb2.GetDataResponse:
        return await self.manager.get_data(request)

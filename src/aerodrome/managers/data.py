"""DataProxyService rules: where uploads go, who may write them, and how execution data is handed out.

Follows flyteadmin's ``dataproxy/service.go`` (v1.16.8): the upload location is
``<project>/<domain>/uploads/<filename_root or base32(md5)>/<filename or 20 random chars>`` under the
store root, its basename is exactly the requested filename (``pyflyte-fast-execute`` untars only
``*.tar.gz``), and a deterministic location (filename *and* filename_root given) that already holds
different content is ALREADY_EXISTS. Filenames that could escape their prefix are INVALID_ARGUMENT.

Execution data (decks, inputs, outputs behind ``flyte://`` URLs) lives in execution records that another
part of the system owns; this manager reaches them only through the small ``ExecutionData`` protocol,
and without one it answers NOT_FOUND naming the execution.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Protocol

from flyteidl.core import identifier_pb2
from flyteidl.service import dataproxy_pb2
from google.protobuf import duration_pb2, timestamp_pb2

from aerodrome.blobstore import layout
from aerodrome.blobstore.offload import LiteralOffloader
from aerodrome.blobstore.signing import SignedUrl, UrlSigner, sign_blob_url
from aerodrome.blobstore.store import BlobStore
from aerodrome.errors import AlreadyExists, InvalidArgument, NotFound
from aerodrome.settings import Settings

NodeExecutionId = identifier_pb2.NodeExecutionIdentifier
RANDOM_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # the alphabet of flyteadmin's random names
RANDOM_NAME_LENGTH = 20
_SEGMENT = r"[a-zA-Z0-9_-]+"
FLYTE_URL = re.compile(
    rf"flyte://v1/(?:org/(?P<org>{_SEGMENT})/)?(?P<project>{_SEGMENT})/(?P<domain>{_SEGMENT})/(?P<exec>{_SEGMENT})"
    rf"/(?P<node>{_SEGMENT})(?:/(?P<attempt>[0-9]+))?/(?:(?P<io>[io])/(?P<name>{_SEGMENT})|(?P<kind>[iod]))"
)


@dataclass(frozen=True)
class ExecutionDataUris:
    """Native URLs of one node execution's (or task attempt's) data; empty when not (yet) recorded."""

    inputs: str = ""
    outputs: str = ""
    deck: str = ""


class ExecutionData(Protocol):
    """What the data proxy needs from execution records (implemented by the executions work)."""

    async def node_data(self, node_execution_id: NodeExecutionId) -> ExecutionDataUris:
        """The node execution's data URLs; raises ``NotFound`` when it does not exist."""
        ...

    async def task_data(self, node_execution_id: NodeExecutionId, retry_attempt: int) -> ExecutionDataUris:
        """One task attempt's data URLs; raises ``NotFound`` when it does not exist."""
        ...


def describe(node: NodeExecutionId) -> str:
    e = node.execution_id
    return f"{e.project}/{e.domain}/{e.name}/{node.node_id}"


class DataProxyManager:
    """CreateUploadLocation, CreateDownloadLocation, CreateDownloadLink and GetData."""

    def __init__(
        self, store: BlobStore, signer: UrlSigner, settings: Settings, executions: ExecutionData | None = None
    ) -> None:
        self.store = store
        self.signer = signer
        self.max_expiry = settings.blob.upload_expiry_seconds
        self.offloader = LiteralOffloader.from_settings(store, signer, settings)
        self.executions = executions

    def _expiry(self, request: dataproxy_pb2.CreateUploadLocationRequest | _WithExpiry) -> int:
        """Seconds the URL lives: the maximum when unset, INVALID_ARGUMENT when negative or above it."""
        if not request.HasField("expires_in"):
            return self.max_expiry
        duration: duration_pb2.Duration = request.expires_in
        seconds = duration.seconds + duration.nanos / 1e9
        if seconds < 0:
            raise InvalidArgument(f"expiresIn [{seconds:g}s] is invalid: it must not be negative")
        if seconds > self.max_expiry:
            raise InvalidArgument(f"expiresIn [{seconds:g}s] cannot exceed max allowed expiration [{self.max_expiry}s]")
        return max(1, round(seconds)) if seconds else self.max_expiry

    async def create_upload_location(
        self, request: dataproxy_pb2.CreateUploadLocationRequest
    ) -> dataproxy_pb2.CreateUploadLocationResponse:
        if not request.project or not request.domain:
            raise InvalidArgument("project and domain are required parameters")
        if not request.filename_root and not request.content_md5:
            raise InvalidArgument("content_md5 or filename_root is a required parameter")
        if request.content_md5 and len(request.content_md5) != 16:
            raise InvalidArgument("content_md5 must be the 16 raw bytes of an md5 digest")
        expires_in = self._expiry(request)
        filename = request.filename or "".join(secrets.choice(RANDOM_ALPHABET) for _ in range(RANDOM_NAME_LENGTH))
        root = request.filename_root or layout.md5_root(request.content_md5)
        native_url = self.store.url(layout.upload_key(request.project, request.domain, root, filename))
        if request.filename and request.filename_root and await self.store.exists(native_url):
            stored = await self.store.stored_md5(native_url)
            if not request.content_md5 or (stored is not None and stored != request.content_md5):
                raise AlreadyExists(
                    f"file already exists at location [{native_url}], specify a matching hash if you wish to rewrite"
                )
        signed = await sign_blob_url(
            self.store,
            self.signer,
            native_url,
            "PUT",
            expires_in,
            content_md5=request.content_md5,
            add_md5_metadata=request.add_content_md5_metadata,
        )
        if self.store.is_local:  # remote data to flytekit, as an s3:// upload is (blobstore/fsspec_local.py)
            native_url = f"local://{native_url}"
        return dataproxy_pb2.CreateUploadLocationResponse(
            signed_url=signed.url, native_url=native_url, expires_at=_timestamp(signed), headers=signed.headers
        )

    async def create_download_location(
        self, request: dataproxy_pb2.CreateDownloadLocationRequest
    ) -> dataproxy_pb2.CreateDownloadLocationResponse:
        expires_in = self._expiry(request)
        if not request.native_url:
            raise InvalidArgument("error while validating request: missing native_url")
        signed = await sign_blob_url(self.store, self.signer, request.native_url, "GET", expires_in)
        return dataproxy_pb2.CreateDownloadLocationResponse(signed_url=signed.url, expires_at=_timestamp(signed))

    async def create_download_link(
        self, request: dataproxy_pb2.CreateDownloadLinkRequest
    ) -> dataproxy_pb2.CreateDownloadLinkResponse:
        expires_in = self._expiry(request)
        if request.artifact_type == dataproxy_pb2.ARTIFACT_TYPE_UNDEFINED:
            raise InvalidArgument(
                "error while validating request. Error: invalid artifact type [ARTIFACT_TYPE_UNDEFINED]"
            )
        if not request.HasField("node_execution_id"):
            raise InvalidArgument("error while validating request. Error: source is required. Provided nil")
        node = request.node_execution_id
        deck = (await self._node_data(node)).deck
        if not deck:
            raise NotFound(f"no deck found for node execution [{describe(node)}]")
        if not await self.store.exists(deck):
            raise NotFound(f"URL [{deck}] does not exist yet. Please try again later.")
        signed = await sign_blob_url(self.store, self.signer, deck, "GET", expires_in)
        urls = dataproxy_pb2.PreSignedURLs(signed_url=[signed.url], expires_at=_timestamp(signed))
        return dataproxy_pb2.CreateDownloadLinkResponse(
            signed_url=[signed.url], expires_at=_timestamp(signed), pre_signed_urls=urls
        )

    async def get_data(self, request: dataproxy_pb2.GetDataRequest) -> dataproxy_pb2.GetDataResponse:
        url = request.flyte_url
        if not url.startswith("flyte://"):
            raise InvalidArgument(
                "failed to validate resolve artifact request. Error: request does not start with the correct prefix"
            )
        match = FLYTE_URL.fullmatch(url)
        if match is None:
            raise InvalidArgument(f"failed to parse artifact url Error: failed to parse [{url}]")
        node = NodeExecutionId(
            node_id=match["node"],
            execution_id=identifier_pb2.WorkflowExecutionIdentifier(
                org=match["org"] or "", project=match["project"], domain=match["domain"], name=match["exec"]
            ),
        )
        kind = match["io"] or match["kind"]
        if match["attempt"] is not None:
            if kind == "d":
                raise InvalidArgument("deck type cannot be specified with a retry attempt, just use the node instead")
            uris = await self._task_data(node, int(match["attempt"]))
        elif kind == "d":
            link = await self.create_download_link(
                dataproxy_pb2.CreateDownloadLinkRequest(
                    artifact_type=dataproxy_pb2.ARTIFACT_TYPE_DECK, node_execution_id=node
                )
            )
            return dataproxy_pb2.GetDataResponse(pre_signed_urls=link.pre_signed_urls)
        else:
            uris = await self._node_data(node)
        source = uris.inputs if kind == "i" else uris.outputs
        if match["name"]:
            literals = (await self.offloader.read(source)).literals if source else {}
            if match["name"] not in literals:
                raise InvalidArgument(f"name [{match['name']}] not found in node execution [{describe(node)}]")
            return dataproxy_pb2.GetDataResponse(literal=literals[match["name"]])
        data = await self.offloader.present(source)
        if data.inline:
            return dataproxy_pb2.GetDataResponse(literal_map=data.full)
        signed = await sign_blob_url(self.store, self.signer, source, "GET", self.max_expiry)
        urls = dataproxy_pb2.PreSignedURLs(signed_url=[signed.url], expires_at=_timestamp(signed))
        return dataproxy_pb2.GetDataResponse(pre_signed_urls=urls)

    async def _node_data(self, node: NodeExecutionId) -> ExecutionDataUris:
        if self.executions is None:
            raise NotFound(f"node execution [{describe(node)}] not found: execution {_execution(node)} does not exist")
        return await self.executions.node_data(node)

    async def _task_data(self, node: NodeExecutionId, attempt: int) -> ExecutionDataUris:
        if self.executions is None:
            raise NotFound(
                f"task execution attempt {attempt} of node [{describe(node)}] not found: "
                f"execution {_execution(node)} does not exist"
            )
        return await self.executions.task_data(node, attempt)


class _WithExpiry(Protocol):
    expires_in: duration_pb2.Duration

    def HasField(self, name: str) -> bool: ...


def _execution(node: NodeExecutionId) -> str:
    e = node.execution_id
    return f"{e.project}/{e.domain}/{e.name}"


def _timestamp(signed: SignedUrl) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(signed.expires_at)
    return stamp

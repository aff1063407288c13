"""AuthMetadataService and IdentityService: how flytekit learns to log in, and who it logged in as.

flytekit calls AuthMetadataService after an UNAUTHENTICATED/UNKNOWN failure (or at start for some auth
types). Without authentication the answers describe no authorization server, which keeps such clients
working; with it they name the token, device and authorize endpoints and the public client.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from flyteidl.service import auth_pb2, auth_pb2_grpc, identity_pb2, identity_pb2_grpc
from google.protobuf import json_format

from aerodrome.auth.identity import Identity
from aerodrome.auth.resolver import Authenticator
from aerodrome.auth.server import public_client_config
from aerodrome.settings import AuthSettings


class AuthMetadataServicer(auth_pb2_grpc.AuthMetadataServiceServicer):  # type: ignore[misc]
    """Describes the authorization server (or, in mode none, one that is not there)."""

    def __init__(
        self,
        http_base_url: str,
        auth: AuthSettings | None = None,
        metadata: Callable[[], Awaitable[dict[str, Any]]] | None = None,
    ) -> None:
        self.base = http_base_url
        self.auth = auth if auth is not None and auth.mode != "none" else None
        self.metadata = metadata

    async def GetOAuth2Metadata(
        self, request: auth_pb2.OAuth2MetadataRequest, context: Any
    ) -> auth_pb2.OAuth2MetadataResponse:
        if self.auth is None or self.metadata is None:
            return auth_pb2.OAuth2MetadataResponse(issuer=self.base, grant_types_supported=[], scopes_supported=[])
        document = await self.metadata()
        return json_format.ParseDict(document, auth_pb2.OAuth2MetadataResponse(), ignore_unknown_fields=True)

    async def GetPublicClientConfig(
        self, request: auth_pb2.PublicClientAuthConfigRequest, context: Any
    ) -> auth_pb2.PublicClientAuthConfigResponse:
        if self.auth is None:
            return auth_pb2.PublicClientAuthConfigResponse(
                client_id="flytectl", scopes=[], authorization_metadata_key=""
            )
        config = public_client_config(self.auth)
        return json_format.ParseDict(config, auth_pb2.PublicClientAuthConfigResponse(), ignore_unknown_fields=True)


class IdentityServicer(identity_pb2_grpc.IdentityServiceServicer):  # type: ignore[misc]
    """The caller as the authenticator sees it (everyone is the anonymous local user in mode none)."""

    def __init__(self, authenticator: Authenticator | None = None) -> None:
        self.authenticator = authenticator or Authenticator("none")

    async def UserInfo(self, request: identity_pb2.UserInfoRequest, context: Any) -> identity_pb2.UserInfoResponse:
        metadata = {k.lower(): v for k, v in context.invocation_metadata() or () if isinstance(v, str)}
        who: Identity = await self.authenticator.identify(metadata)
        return identity_pb2.UserInfoResponse(subject=who.subject, name=who.subject, preferred_username=who.subject)

"""AuthMetadataService and IdentityService answers that let flytekit connect without authentication.

flytekit only calls these after an UNAUTHENTICATED/UNKNOWN failure or when configured for an external
auth command; answering them (instead of UNIMPLEMENTED) keeps such clients working against a server that
has no authentication.
"""

from __future__ import annotations

from typing import Any

from flyteidl.service import auth_pb2, auth_pb2_grpc, identity_pb2, identity_pb2_grpc


class AuthMetadataServicer(auth_pb2_grpc.AuthMetadataServiceServicer):  # type: ignore[misc]
    """Describes an authorization server that is not there: empty endpoints, no scopes."""

    def __init__(self, http_base_url: str) -> None:
        self.base = http_base_url

    async def GetOAuth2Metadata(
        self, request: auth_pb2.OAuth2MetadataRequest, context: Any
    ) -> auth_pb2.OAuth2MetadataResponse:
        return auth_pb2.OAuth2MetadataResponse(issuer=self.base, grant_types_supported=[], scopes_supported=[])

    async def GetPublicClientConfig(
        self, request: auth_pb2.PublicClientAuthConfigRequest, context: Any
    ) -> auth_pb2.PublicClientAuthConfigResponse:
        return auth_pb2.PublicClientAuthConfigResponse(client_id="flytectl", scopes=[], authorization_metadata_key="")


class IdentityServicer(identity_pb2_grpc.IdentityServiceServicer):  # type: ignore[misc]
    """Everyone is the same anonymous local user."""

    async def UserInfo(self, request: identity_pb2.UserInfoRequest, context: Any) -> identity_pb2.UserInfoResponse:
        return identity_pb2.UserInfoResponse(subject="anonymous", name="anonymous", preferred_username="anonymous")

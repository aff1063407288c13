"""Who may call the server and which secrets tasks get."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class AuthSettings(BaseSettings):
    """Authentication (who calls), per-project authorization (what they may do) and TLS."""

    model_config = SettingsConfigDict(env_prefix="AERODROME_AUTH_", extra="forbid")

    mode: Literal["none", "self", "oidc"] = Field(
        "none",
        description=(
            "none: no authentication (refused on a non-loopback address unless allow_none_on_public_address); "
            "self: aerodrome is the OAuth2 authorization server; oidc: access tokens from an external issuer."
        ),
    )
    allow_none_on_public_address: bool = Field(
        False, description="Start without authentication on a non-loopback address anyway (logs a warning)."
    )
    access_token_ttl_seconds: int = Field(900, ge=1, description="Lifetime of access tokens issued in self mode.")
    refresh_token_ttl_seconds: int = Field(7 * 86400, ge=1, description="Lifetime of refresh tokens (people).")
    task_token_ttl_seconds: int = Field(
        3600, ge=60, description="Lifetime of the project-scoped credential handed to tasks that call back."
    )
    session_ttl_seconds: int = Field(8 * 3600, ge=60, description="Lifetime of a browser login session.")
    device_code_ttl_seconds: int = Field(600, ge=10, description="How long a device code waits for approval.")
    device_poll_interval_seconds: int = Field(5, ge=1, description="Polling interval told to device-flow clients.")
    public_client_id: str = Field("flytectl", description="Client id of the public client (PKCE and device flow).")
    redirect_uri: str = Field(
        "http://localhost:53593/callback", description="Redirect URI of the public client (flytekit's PKCE default)."
    )
    scopes: list[str] = Field(default_factory=lambda: ["all"], description="Scopes advertised to flytekit.")
    login_attempts_per_minute: int = Field(10, ge=1, description="Failed logins allowed per user and address.")
    oidc_issuer: str = Field("", description="oidc mode: the issuer URL (its discovery document gives the JWKS).")
    oidc_audience: str = Field("", description="oidc mode: required `aud` of access tokens (empty: not checked).")
    oidc_user_claim: str = Field("sub", description="oidc mode: the claim that names the local user.")
    oidc_ca_file: str = Field("", description="oidc mode: CA bundle for the issuer's HTTPS (empty: system CAs).")
    tls_cert_file: str = Field("", description="PEM certificate chain: serve gRPC and HTTP over TLS when set.")
    tls_key_file: str = Field("", description="PEM private key of tls_cert_file.")
    tls_ca_file: str = Field(
        "", description="CA bundle that tasks calling back use to verify this server (empty: tls_cert_file)."
    )


class SecretSettings(BaseSettings):
    """Where the secrets that tasks request (``secret_requests``) come from."""

    model_config = SettingsConfigDict(env_prefix="AERODROME_SECRETS_", extra="forbid")

    key: str = Field(
        "",
        description="Fernet key that encrypts secrets kept in the database; empty means a key created once in "
        "<home>/secrets.key (mode 0600). Keep it outside the database and back it up: without it the stored "
        "secrets cannot be read.",
    )
    dir: str = Field(
        "",
        description="A directory of secret files <dir>/<group>/<key> the operator keeps (for example a mounted "
        "secret volume), read when a requested secret is not in the database; empty means none.",
    )

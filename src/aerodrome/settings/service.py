"""Where the server listens, what it stores where, what it accepts at registration, and what it
exposes to Prometheus."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServerSettings(BaseSettings):
    """Where the server listens."""

    model_config = SettingsConfigDict(env_prefix="AERODROME_SERVER_", extra="forbid")

    host: str = Field("127.0.0.1", description="Address both listeners bind to.")
    grpc_port: int = Field(8089, description="Port of the gRPC AdminService (0 picks a free port).")
    http_port: int = Field(8088, description="Port of the HTTP gateway and data endpoints (0 picks one).")
    public_http_url: str = Field(
        "",
        description="Base URL clients and tasks use to reach the HTTP listener; derived from host and port when empty.",
    )
    grpc_max_message_bytes: int = Field(32 * 1024 * 1024, description="Largest gRPC message accepted.")
    version: str = Field("v1.16.8-aerodrome", description="Version string returned by GetVersion.")


class DatabaseSettings(BaseSettings):
    """The relational store."""

    model_config = SettingsConfigDict(env_prefix="AERODROME_DB_", extra="forbid")

    url: str = Field(
        "",
        description="SQLAlchemy async URL (sqlite+aiosqlite:///… or postgresql+asyncpg://…); empty means "
        "a SQLite file in the home directory.",
    )
    migrate_on_start: bool = Field(True, description="Upgrade the schema to head when the server starts.")
    pool_size: int = Field(10, description="Connection pool size for PostgreSQL.")
    echo: bool = Field(False, description="Log every SQL statement.")
    migrations_dir: str = Field(
        "",
        description="Folder of this deployment's own data migrations (the Alembic 'data' branch, made by "
        "`aerodrome db revision --head data`); empty means none for the server and ./migrations for `aerodrome db`.",
    )


class BlobSettings(BaseSettings):
    """The blob store: a local directory by default, any S3-compatible store through s3fs."""

    model_config = SettingsConfigDict(env_prefix="AERODROME_BLOB_", extra="forbid")

    url: str = Field(
        "",
        description="Root of the store: an absolute local path or s3://bucket/prefix; empty means the "
        "'blobs' directory in the home directory.",
    )
    s3_endpoint: str = Field("", description="Endpoint URL of an S3-compatible store.")
    s3_region: str = Field("", description="Region of the S3 store.")
    s3_access_key: str = Field("", description="Access key id for the S3 store.")
    s3_secret_key: str = Field("", description="Secret key for the S3 store.")
    signing_key: str = Field(
        "",
        description="HMAC key for signed URLs of the local store; empty means a random key kept in the home directory.",
    )
    upload_expiry_seconds: int = Field(3600, description="Default and maximum lifetime of signed URLs.")
    max_upload_bytes: int = Field(5 * 1024**3, description="Largest object accepted by a signed upload.")
    inline_limit_bytes: int = Field(
        2 * 1024 * 1024, description="Literal maps up to this size are returned inline, bigger ones as URLs."
    )
    fsync: bool = Field(
        True, description="fsync local uploads before they become visible, so an acknowledged upload survives a crash."
    )


class RegistrationSettings(BaseSettings):
    """Rules applied when entities are registered."""

    model_config = SettingsConfigDict(env_prefix="AERODROME_REGISTRATION_", extra="forbid")

    max_workflow_nodes: int = Field(100, description="Top-level node limit of a workflow (0 = unlimited).")
    domains: list[str] = Field(
        default_factory=lambda: ["development", "staging", "production"],
        description="The domains every project has.",
    )
    bootstrap_projects: list[str] = Field(
        default_factory=lambda: ["flytesnacks"], description="Projects created on start if absent."
    )


class PartySettings(BaseSettings):
    """This deployment's party identity: which ``dag.party_tasks`` entries of a job configuration apply here."""

    model_config = SettingsConfigDict(env_prefix="AERODROME_PARTY_", extra="forbid")

    role: str = Field("", description="The party role (e.g. guest, host, arbiter); empty means no party entry applies.")
    id: str = Field("", description="The party_id of this deployment within its role (e.g. 9999).")


class MetricsSettings(BaseSettings):
    """The Prometheus endpoint ``GET /metrics`` on the HTTP listener."""

    model_config = SettingsConfigDict(env_prefix="AERODROME_METRICS_", extra="forbid")

    enabled: bool = Field(True, description="Serve /metrics and count calls (false: neither).")
    require_auth: bool = Field(
        False,
        description="With authentication on, /metrics needs a caller with the server-wide admin role; false leaves "
        "it open like /healthz (it holds counts, latencies and process ids, never project data).",
    )
    loop_lag_interval_seconds: float = Field(
        0.5, gt=0, description="How often the event-loop lag probe wakes (aerodrome_event_loop_lag_seconds)."
    )

"""The configuration tree, built once in the composition root and handed down section by section.

Every value can be set through an environment variable ``AERODROME_<SECTION>_<KEY>`` (for example
``AERODROME_SERVER_GRPC_PORT=9089``) or a YAML file passed with ``--config``. Paths default to
locations under the home directory (``--home`` / ``AERODROME_HOME``, default ``~/.aerodrome``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_home() -> Path:
    """The home directory: ``$AERODROME_HOME`` or ``~/.aerodrome``."""
    return Path(os.environ.get("AERODROME_HOME") or Path.home() / ".aerodrome").expanduser()


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


class EngineSettings(BaseSettings):
    """How executions run."""

    model_config = SettingsConfigDict(env_prefix="AERODROME_ENGINE_", extra="forbid")

    python: str = Field(
        "", description="Python interpreter that runs tasks (it needs flytekit); empty means the server's own."
    )
    work_dir: str = Field("", description="Scratch directories of task attempts; empty means <home>/work.")
    keep_workdirs: bool = Field(False, description="Keep the scratch directory of succeeded attempts too.")
    warm_processes: bool = Field(
        True,
        description=(
            "Run tasks as forks of a process that has already imported flytekit (milliseconds instead of a "
            "second per task); false starts a fresh interpreter for every attempt."
        ),
    )
    max_processes: int = Field(
        0,
        ge=0,
        description=(
            "Task processes running at once on this machine, across all executions (each one imports flytekit, "
            "so more than a few per core only thrash); 0 means twice the number of CPU cores."
        ),
    )


class PartySettings(BaseSettings):
    """This deployment's party identity: which ``dag.party_tasks`` entries of a job configuration apply here."""

    model_config = SettingsConfigDict(env_prefix="AERODROME_PARTY_", extra="forbid")

    role: str = Field("", description="The party role (e.g. guest, host, arbiter); empty means no party entry applies.")
    id: str = Field("", description="The party_id of this deployment within its role (e.g. 9999).")


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


class Settings(BaseModel):
    """The whole configuration tree."""

    home: Path = Field(default_factory=default_home, description="Directory for embedded state.")
    server: ServerSettings = Field(default_factory=ServerSettings)
    db: DatabaseSettings = Field(default_factory=DatabaseSettings)
    blob: BlobSettings = Field(default_factory=BlobSettings)
    registration: RegistrationSettings = Field(default_factory=RegistrationSettings)
    engine: EngineSettings = Field(default_factory=EngineSettings)
    party: PartySettings = Field(default_factory=PartySettings)
    secrets: SecretSettings = Field(default_factory=SecretSettings)

    @property
    def database_url(self) -> str:
        """The effective database URL."""
        return self.db.url or f"sqlite+aiosqlite:///{self.home / 'aerodrome.db'}"

    @property
    def blob_url(self) -> str:
        """The effective blob store root."""
        return self.blob.url or str(self.home / "blobs")

    @property
    def work_dir(self) -> Path:
        """Where task attempts get their scratch directories."""
        return Path(self.engine.work_dir).expanduser() if self.engine.work_dir else self.home / "work"

    @property
    def http_base_url(self) -> str:
        """The base URL of the HTTP listener as clients see it."""
        if self.server.public_http_url:
            return self.server.public_http_url.rstrip("/")
        return f"http://{self.server.host}:{self.server.http_port}"


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings tree from env vars, an optional YAML file and explicit overrides.

    Precedence, lowest first: defaults, YAML file, environment, explicit overrides (CLI flags).
    """
    file_values: dict[str, Any] = {}
    if config_file is not None:
        file_values = yaml.safe_load(config_file.read_text()) or {}
    sections: dict[str, Any] = {}
    for name, field in Settings.model_fields.items():
        cls = field.annotation
        if not (isinstance(cls, type) and issubclass(cls, BaseSettings)):
            continue
        from_file = file_values.get(name, {})
        env_only = cls()  # reads the environment
        merged = {**from_file, **env_only.model_dump(exclude_unset=True), **overrides.get(name, {})}
        sections[name] = cls(**merged)
    home = overrides.get("home") or os.environ.get("AERODROME_HOME") or file_values.get("home")
    return Settings(home=Path(home).expanduser() if home else default_home(), **sections)

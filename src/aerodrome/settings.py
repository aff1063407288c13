"""The configuration tree, built once in the composition root and handed down section by section.

Every value can be set through an environment variable ``AERODROME_<SECTION>_<KEY>`` (for example
``AERODROME_SERVER_GRPC_PORT=9089``) or a YAML file passed with ``--config``. Paths default to
locations under the home directory (``--home`` / ``AERODROME_HOME``, default ``~/.aerodrome``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

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
    kept_log_bytes: int = Field(
        16 * 1024 * 1024,
        ge=0,
        description=(
            "Largest task log kept in the blob store per attempt: a longer one keeps its first quarter and its "
            "end, with a line saying how much was left out; 0 keeps every byte."
        ),
    )
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
    launcher: Literal["local", "ray"] = Field(
        "local",
        description="Where task attempts run unless their provider or task type says otherwise: 'local' "
        "(processes of this server) or 'ray' (the cluster at ray_address).",
    )
    ray_address: str = Field(
        "",
        description="GCS address (host:port) of an existing Ray cluster; when set, flytekit Ray tasks run there as "
        "Ray jobs and tasks of providers with device ray run there. Empty means no default cluster.",
    )
    ray_max_attempts: int = Field(
        256, ge=1, description="Attempts (and map items) this server keeps submitted to Ray clusters at once."
    )
    ray_scratch_dir: str = Field(
        "",
        description="Directory on the Ray nodes under which each attempt gets its scratch directory; empty means "
        "the node's temporary directory.",
    )
    ray_connect_seconds: float = Field(
        60.0, gt=0, description="How long connecting to a Ray cluster may take before its attempts fail."
    )
    map_batch_size: int = Field(
        100,
        ge=0,
        description=(
            "With warm processes, map items (pyflyte-map-execute) run up to this many one after another in one "
            "forked process (each item keeps its own attempt, directory, log and retries; a crash or timeout "
            "fails only that item); 0 forks one process per item. On Ray, the items of one Ray task (0: one Ray "
            "task per item)."
        ),
    )


class SchedulerSettings(BaseSettings):
    """The scheduler that fires ACTIVE launch plans with a cron or fixed-rate schedule."""

    model_config = SettingsConfigDict(env_prefix="AERODROME_SCHEDULER_", extra="forbid")

    enabled: bool = Field(True, description="Run the scheduler in this process (every process may run one).")
    timezone: str = Field("UTC", description="IANA time zone that cron expressions are read in (e.g. Europe/Paris).")
    poll_interval_seconds: float = Field(
        2.0,
        gt=0,
        description=(
            "Longest sleep between looks at the database: how soon another process's activation or "
            "deactivation is seen (this process's own take effect at once)."
        ),
    )
    catch_up: Literal["all", "latest", "none"] = Field(
        "all",
        description=(
            "Fires missed while no scheduler ran: all (up to catch_up_cap, the latest ones), latest (only the "
            "last), none (skip them). A launch plan's `aerodrome/catch-up` annotation overrides it."
        ),
    )
    catch_up_cap: int = Field(100, ge=1, description="Most missed fires run per schedule under `all`.")
    concurrent_fires: int = Field(
        8, ge=1, description="Schedules fired at once by this process (each holds up to two database connections)."
    )
    clock_offset_seconds: float = Field(
        0.0, description="For tests only: seconds added to the scheduler's clock (simulates downtime)."
    )
class LeaseSettings(BaseSettings):
    """How several aerodrome processes share one database's executions (each is leased to one engine)."""

    model_config = SettingsConfigDict(env_prefix="AERODROME_LEASES_", extra="forbid")

    ttl_seconds: float = Field(
        15.0,
        gt=0,
        description=(
            "How long a lease lasts without a heartbeat: a process that dies loses its executions to the others "
            "after at most this long (database time)."
        ),
    )
    heartbeat_seconds: float = Field(
        0.0, ge=0, description="How often leases are renewed; 0 means a third of ttl_seconds."
    )
    claim_seconds: float = Field(
        1.0, gt=0, description="How often a process looks for executions nobody drives (new ones or expired leases)."
    )
    max_executions: int = Field(
        200,
        ge=1,
        description=(
            "Executions this process drives at once; it claims more only below this and while a task process "
            "slot (engine.max_processes) is free, so several processes share a burst."
        ),
    )

    @property
    def heartbeat(self) -> float:
        return self.heartbeat_seconds or self.ttl_seconds / 3
DEFAULT_SUBJECT = 'Notice: Execution "{{ name }}" has {{ phase }} in "{{ domain }}".'
DEFAULT_BODY = 'Execution "{{ name }}" has {{ phase }} in "{{ domain }}". Details: {{ console_url }}.{{ error }}'


class NotificationSettings(BaseSettings):
    """Where notifications on terminal workflow phases go (e-mail through SMTP, Slack and PagerDuty hooks)."""

    model_config = SettingsConfigDict(env_prefix="AERODROME_NOTIFICATIONS_", extra="forbid")

    smtp_host: str = Field("", description="SMTP server; empty means e-mail notifications are recorded as failed.")
    smtp_port: int = Field(25, description="SMTP port (587 for STARTTLS, 465 for TLS are usual).")
    smtp_starttls: bool = Field(False, description="Upgrade the connection with STARTTLS after connecting.")
    smtp_tls: bool = Field(False, description="Connect with implicit TLS (SMTPS).")
    smtp_user: str = Field("", description="SMTP user name; empty means no authentication.")
    smtp_password: str = Field("", description="SMTP password.")
    smtp_timeout_seconds: float = Field(10.0, description="Connect and send timeout of one SMTP delivery.")
    sender: str = Field("aerodrome@localhost", description="From address of notification e-mails.")
    subject: str = Field(
        DEFAULT_SUBJECT,
        description="Subject template (Jinja2; placeholders project, domain, name, phase, error, console_url, "
        "workflow.project|domain|name|version, launch_plan.project|domain|name|version).",
    )
    body: str = Field(DEFAULT_BODY, description="Body template, with the same placeholders as the subject.")
    slack_webhook_url: str = Field(
        "", description="Slack incoming-webhook URL that Slack notifications also post to (besides their e-mail)."
    )
    pagerduty_url: str = Field(
        "",
        description="PagerDuty Events API v2 URL, e.g. https://events.pagerduty.com/v2/enqueue.",
    )
    pagerduty_routing_key: str = Field("", description="Integration (routing) key sent with PagerDuty events.")


class EventSettings(BaseSettings):
    """The event stream (CloudEvents to NATS JetStream and webhooks) and the outbox dispatcher that delivers it."""

    model_config = SettingsConfigDict(env_prefix="AERODROME_EVENTS_", extra="forbid")

    nats_url: str = Field("", description="NATS server (nats://host:4222); empty means no NATS sink.")
    nats_stream: str = Field("AERODROME_EVENTS", description="JetStream stream, created if missing.")
    nats_subject_prefix: str = Field(
        "aerodrome.events", description="Events go to <prefix>.<project>.<domain>.<workflow|node|task>."
    )
    webhook_urls: list[str] = Field(default_factory=list, description="HTTP endpoints every event is POSTed to.")
    webhook_secret: str = Field(
        "", description="Shared secret of the X-Aerodrome-Signature header (sha256=HMAC-SHA256 of the body)."
    )
    kinds: list[str] = Field(
        default_factory=lambda: ["workflow", "node", "task"], description="Which event kinds are published."
    )
    source: str = Field("aerodrome", description="CloudEvent source attribute prefix.")
    max_attempts: int = Field(
        300,
        ge=1,
        description="Deliveries tried before a message is recorded as failed; with the default backoff, 300 attempts "
        "span about a day, so a sink that is down for hours loses nothing.",
    )
    backoff_initial_seconds: float = Field(0.5, gt=0, description="Delay after the first failed delivery.")
    backoff_max_seconds: float = Field(300.0, gt=0, description="Longest delay between two delivery attempts.")
    timeout_seconds: float = Field(10.0, gt=0, description="Timeout of one webhook or NATS delivery.")
    claim_seconds: float = Field(
        60.0,
        gt=0,
        description="How long a dispatcher owns claimed rows before another process may take them over; keep it "
        "well above timeout_seconds + 5 (a round stops starting deliveries that could outlast the claim).",
    )
    batch_size: int = Field(200, ge=1, description="Outbox rows claimed per dispatcher round.")
    batch_wait_seconds: float = Field(
        0.02, ge=0, description="Pause after a wake-up so that one dispatcher round carries a burst of events."
    )
    poll_seconds: float = Field(1.0, gt=0, description="Outbox poll interval when no local event wakes the dispatcher.")
    retention_hours: float = Field(
        24.0, ge=0, description="Delivered outbox rows are kept this long (0 = delete at once)."
    )
    stats_log_seconds: float = Field(60.0, gt=0, description="Interval of the outbox depth log line while rows wait.")


class PartySettings(BaseSettings):
    """This deployment's party identity: which ``dag.party_tasks`` entries of a job configuration apply here."""

    model_config = SettingsConfigDict(env_prefix="AERODROME_PARTY_", extra="forbid")

    role: str = Field("", description="The party role (e.g. guest, host, arbiter); empty means no party entry applies.")
    id: str = Field("", description="The party_id of this deployment within its role (e.g. 9999).")


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


class Settings(BaseModel):
    """The whole configuration tree."""

    home: Path = Field(default_factory=default_home, description="Directory for embedded state.")
    server: ServerSettings = Field(default_factory=ServerSettings)
    db: DatabaseSettings = Field(default_factory=DatabaseSettings)
    blob: BlobSettings = Field(default_factory=BlobSettings)
    registration: RegistrationSettings = Field(default_factory=RegistrationSettings)
    engine: EngineSettings = Field(default_factory=EngineSettings)
    leases: LeaseSettings = Field(default_factory=LeaseSettings)
    party: PartySettings = Field(default_factory=PartySettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    notifications: NotificationSettings = Field(default_factory=NotificationSettings)
    events: EventSettings = Field(default_factory=EventSettings)
    secrets: SecretSettings = Field(default_factory=SecretSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)

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

    def console_url(self, project: str, domain: str, name: str) -> str:
        """The console page of one execution."""
        return f"{self.http_base_url}/console/projects/{project}/domains/{domain}/executions/{name}"

    @property
    def http_base_url(self) -> str:
        """The base URL of the HTTP listener as clients see it."""
        if self.server.public_http_url:
            return self.server.public_http_url.rstrip("/")
        scheme = "https" if self.auth.tls_cert_file else "http"
        return f"{scheme}://{self.server.host}:{self.server.http_port}"


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

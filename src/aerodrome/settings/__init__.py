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
from pydantic_settings import BaseSettings

from aerodrome.settings.engine import EngineSettings, LeaseSettings, SchedulerSettings
from aerodrome.settings.home import default_home
from aerodrome.settings.messaging import DEFAULT_BODY, DEFAULT_SUBJECT, EventSettings, NotificationSettings
from aerodrome.settings.security import AuthSettings, SecretSettings
from aerodrome.settings.service import (
    BlobSettings,
    DatabaseSettings,
    MetricsSettings,
    PartySettings,
    RegistrationSettings,
    ServerSettings,
)

__all__ = [
    "DEFAULT_BODY",
    "DEFAULT_SUBJECT",
    "AuthSettings",
    "BlobSettings",
    "DatabaseSettings",
    "EngineSettings",
    "EventSettings",
    "LeaseSettings",
    "MetricsSettings",
    "NotificationSettings",
    "PartySettings",
    "RegistrationSettings",
    "SchedulerSettings",
    "SecretSettings",
    "ServerSettings",
    "Settings",
    "default_home",
    "load_settings",
]


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

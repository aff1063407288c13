"""Credentials for tasks that call back into the server (eager tasks, FlyteRemote inside a task).

Each attempt gets a short-lived credential scoped to its own project (runner there, nothing elsewhere),
never the operator's. It is handed over the way flytekit reads client credentials from the environment
(``FLYTE_CREDENTIALS_AUTH_MODE=ClientSecret`` with a client id ``task/<project>/<execution>``); the
"secret" is a signed task token that the token endpoint exchanges for an access token.
"""

from __future__ import annotations

from typing import Protocol

from aerodrome.auth.grants import TASK_CLIENT_PREFIX
from aerodrome.auth.identity import Identity
from aerodrome.auth.tokens import TokenService
from aerodrome.settings import AuthSettings


class _Execution(Protocol):
    project: str
    name: str


class _Attempt(Protocol):
    @property
    def execution(self) -> _Execution: ...


class TaskCredentials:
    """Makes the environment of one attempt."""

    def __init__(self, tokens: TokenService | None, settings: AuthSettings) -> None:
        self.tokens = tokens
        self.settings = settings

    def env_for(self, attempt: _Attempt) -> dict[str, str]:
        env: dict[str, str] = {}
        if self.tokens is not None:
            ex = attempt.execution
            subject = f"{TASK_CLIENT_PREFIX}{ex.project}/{ex.name}"
            identity = Identity(subject, "task", {ex.project: "runner"})
            env["FLYTE_CREDENTIALS_AUTH_MODE"] = "ClientSecret"
            env["FLYTE_CREDENTIALS_CLIENT_ID"] = subject
            env["FLYTE_CREDENTIALS_CLIENT_SECRET"] = self.tokens.issue(
                identity, "task", self.settings.task_token_ttl_seconds
            )
        if self.settings.tls_cert_file:
            env["FLYTE_PLATFORM_INSECURE"] = "False"
            env["FLYTE_PLATFORM_CA_CERT_FILE_PATH"] = self.settings.tls_ca_file or self.settings.tls_cert_file
        return env

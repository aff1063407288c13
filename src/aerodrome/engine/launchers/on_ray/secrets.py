"""The secrets a task requested, for an attempt on a Ray worker, delivered as for a local attempt.

Variables join the attempt's environment; files go in the request and the worker writes them into a
private directory of the attempt's scratch directory (``remote.py``), removed with it when the attempt
ends. Only the secrets the task asked for leave the server, inside the Ray task's arguments.
"""

from __future__ import annotations

from aerodrome.engine.launchers.attempts import Attempt
from aerodrome.managers.secrets import ENV_PREFIX, SecretManager, SecretMissing


async def secret_request(secrets: SecretManager | None, attempt: Attempt) -> tuple[dict[str, str], dict[str, str]]:
    """The variables and the files (relative path -> value) of the attempt's requested secrets; nothing
    when it requested none. Raises SecretMissing for a secret this server does not hold."""
    requests = list(attempt.task.security_context.secrets)
    if not requests:
        return {}, {}
    if secrets is None:
        raise SecretMissing("this server has no secret store")
    injection = await secrets.injection(requests)
    return {**injection.env, "FLYTE_SECRETS_ENV_PREFIX": ENV_PREFIX}, dict(injection.files)

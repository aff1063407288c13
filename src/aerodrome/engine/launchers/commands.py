"""What every launcher runs for an attempt: the task's registered command, templated, and the variables a
task process needs. Shared by the local and the Ray launcher, so a task sees the same command and the same
FLYTE_INTERNAL_* environment wherever it runs.

Template variables are substituted as propeller does and ``--dest-dir`` is remapped to the attempt's own
scratch directory (an absolute path here, ``.`` on a Ray worker whose scratch directory is its cwd).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from aerodrome.engine.launchers.attempts import Attempt

_TEMPLATE = re.compile(r"\{\{\s*[.$]([A-Za-z0-9_.]+)\s*\}\}")


def template_values(attempt: Attempt) -> dict[str, str]:
    """The values of propeller's ``{{.Input}}``-style placeholders for one attempt."""
    return {
        "input": attempt.inputs_url,
        "inputprefix": attempt.inputs_url.rsplit("/", 1)[0],
        "outputprefix": attempt.output_prefix,
        "rawoutputdataprefix": attempt.raw_output_prefix,
        "checkpointoutputprefix": f"{attempt.raw_output_prefix}/_flytecheckpoints",
        "prevcheckpointprefix": attempt.prev_checkpoint or '""',
        "perretryuniquekey": f"{attempt.execution.name}-{attempt.node_id}-{attempt.attempt}",
        "namespace": f"{attempt.execution.project}-{attempt.execution.domain}",
    }


def container_args(attempt: Attempt, dest_dir: str) -> list[str]:
    """The registered container command and args, templated, with ``--dest-dir`` set to ``dest_dir``."""
    values = template_values(attempt)

    def substitute(match: re.Match[str]) -> str:
        return values.get(match.group(1).lower(), match.group(0))

    container = attempt.task.container
    args = [_TEMPLATE.sub(substitute, a) for a in [*container.command, *container.args]]
    for i, arg in enumerate(args[:-1]):
        if arg == "--dest-dir":
            args[i + 1] = dest_dir
    return args


def task_variables(
    attempt: Attempt,
    platform_url: str,
    extra_env: dict[str, str],
    credentials: Callable[[Attempt], dict[str, str]] | None = None,
) -> dict[str, str]:
    """The variables of one attempt, in precedence order: FLYTE_INTERNAL_*, the server's storage settings,
    a per-attempt credential, the container's env, the execution's envs, and the provider's id."""
    task = attempt.task.id
    ex = attempt.execution
    env = {
        "FLYTE_INTERNAL_EXECUTION_ID": ex.name,
        "FLYTE_INTERNAL_EXECUTION_PROJECT": ex.project,
        "FLYTE_INTERNAL_EXECUTION_DOMAIN": ex.domain,
        "FLYTE_INTERNAL_EXECUTION_WORKFLOW": attempt.workflow_name,
        "FLYTE_INTERNAL_EXECUTION_LAUNCHPLAN": attempt.launch_plan_name,
        "FLYTE_INTERNAL_TASK_PROJECT": task.project,
        "FLYTE_INTERNAL_TASK_DOMAIN": task.domain,
        "FLYTE_INTERNAL_TASK_NAME": task.name,
        "FLYTE_INTERNAL_TASK_VERSION": task.version,
        "FLYTE_ATTEMPT_NUMBER": str(attempt.attempt),
        "FLYTE_PLATFORM_URL": platform_url,
        "FLYTE_PLATFORM_INSECURE": "True",
        **extra_env,
    }
    if credentials is not None:
        env.update(credentials(attempt))
    env.update({kv.key: kv.value for kv in attempt.task.container.env})
    env.update(attempt.envs)
    if attempt.provider is not None:
        env["AERODROME_PROVIDER"] = attempt.provider.provider_name
    return env

"""``products check``: database registrations against the code registry and the registered Flyte workflows.

Reports, one line each: a registration with no ``LazyWorkflowInstance``; a registration whose Flyte
workflow is not registered on the server (or is ambiguous); code that cannot be loaded; code whose
flytekit workflow is not the one the server would start; and code with no database registration.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aerodrome.products.code import LazyWorkflowInstance, WorkflowCodeError


def check(registrations: Sequence[Mapping[str, Any]], code: Mapping[str, LazyWorkflowInstance]) -> list[str]:
    """Every inconsistency found (empty: clean). ``registrations`` carry ``flyte_workflow`` as the API gives it."""
    problems: list[str] = []
    for registration in registrations:
        name = registration["name"]
        served = registration.get("flyte_workflow")
        if served is None:
            problems.append(f"{name}: no registered Flyte workflow ({registration.get('flyte_workflow_problem', '')})")
        entry = code.get(name)
        if entry is None:
            problems.append(f"{name}: registered in the database but has no code (no LazyWorkflowInstance)")
            continue
        try:
            defined = entry.flyte_name
        except WorkflowCodeError as exc:
            problems.append(f"{name}: {exc}")
            continue
        if served is not None and defined != served:
            problems.append(f"{name}: the code defines Flyte workflow {defined}, but the server starts {served}")
    registered = {r["name"] for r in registrations}
    for name in sorted(set(code) - registered):
        entry = code[name]
        problems.append(f"{name}: in the code ({entry.package}.{entry.function}) but not registered in the database")
    return problems

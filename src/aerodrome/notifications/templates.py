"""Notification texts: the configured subject and body templates rendered with the reference's placeholders.

The reference replaces ``{{ project }}``-style placeholders; Jinja2 renders the same templates (both the
``{{ x }}`` and ``{{x}}`` forms, and dotted ``workflow.name``) in a sandbox. A template that does not
render falls back to the default one, so a typo in the settings never costs a notification.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flyteidl.admin import execution_pb2
from jinja2 import TemplateError
from jinja2.sandbox import SandboxedEnvironment

from aerodrome.db.records import ExecutionView
from aerodrome.settings import DEFAULT_BODY, DEFAULT_SUBJECT

log = logging.getLogger("aerodrome.notifications")
_ENV = SandboxedEnvironment(autoescape=False, keep_trailing_newline=True)


def _ident(ident: Any) -> dict[str, str]:
    return {"project": ident.project, "domain": ident.domain, "name": ident.name, "version": ident.version}


def placeholders(row: ExecutionView, phase: str, console_url: str) -> dict[str, Any]:
    """What a template may name: the reference's placeholders plus ``console_url``."""
    closure = execution_pb2.ExecutionClosure.FromString(row.closure)
    spec = execution_pb2.ExecutionSpec.FromString(row.spec)
    message = closure.error.message if closure.HasField("error") else ""
    return {
        "project": row.execution_project,
        "domain": row.execution_domain,
        "name": row.execution_name,
        "phase": phase.lower(),
        "error": f" The execution failed with error: [{message}]." if message else "",
        "workflow": _ident(closure.workflow_id),
        "launch_plan": _ident(spec.launch_plan),
        "console_url": console_url,
    }


@dataclass(frozen=True)
class Texts:
    """The subject and body templates of notification e-mails."""

    subject: str = DEFAULT_SUBJECT
    body: str = DEFAULT_BODY

    def render(self, values: dict[str, Any]) -> tuple[str, str]:
        """(subject, body); a subject is one line, whatever the template produced."""
        subject = _render(self.subject, DEFAULT_SUBJECT, values)
        return " ".join(subject.split()), _render(self.body, DEFAULT_BODY, values)


def _render(template: str, default: str, values: dict[str, Any]) -> str:
    try:
        return _ENV.from_string(template).render(values)
    except TemplateError as exc:
        log.error("notification template %r does not render (%s); using the default one", template, exc)
        return _ENV.from_string(default).render(values)

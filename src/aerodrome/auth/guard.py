"""What happens around every authorized call, for gRPC and the HTTP gateway alike.

Before: the policy decides, and a new execution's ``principal`` becomes the caller's identity (whatever
the client wrote there). After: lists of projects keep only the ones the caller may see.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.message import Message

from aerodrome.auth.identity import Identity
from aerodrome.auth.policy import authorize, visible_projects


def before_call(identity: Identity, method: str, request: Message) -> None:
    """Authorize (raises PermissionDenied) and stamp the principal on new executions."""
    authorize(identity, method, request)
    if method == "CreateExecution" and identity.kind != "anonymous":
        request.spec.metadata.principal = identity.subject  # type: ignore[attr-defined]


def after_call(identity: Identity, method: str, response: Any) -> Any:
    """Drop projects the caller has no role in from ListProjects answers."""
    if method == "ListProjects" and not identity.server_admin:
        keep = set(visible_projects(identity, [p.id for p in response.projects]))
        kept = [p for p in response.projects if p.id in keep]
        del response.projects[:]
        response.projects.extend(kept)
    return response

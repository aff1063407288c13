"""The one authorization decision: which role a call needs, in which project, and whether the caller has it.

Both transports call ``authorize`` with the RPC's method name and its request message (the HTTP gateway
maps its routes to the same messages), so a rule is written once. Unknown methods need the server-wide
admin: a new RPC is closed until someone decides who may call it.
"""

from __future__ import annotations

from google.protobuf.message import Message

from aerodrome.auth.errors import PermissionDenied
from aerodrome.auth.identity import Identity

PUBLIC_SERVICES = frozenset(
    {
        "flyteidl.service.AuthMetadataService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
        "grpc.reflection.v1.ServerReflection",
    }
)
# Any authenticated caller; nothing project-specific is returned (ListProjects is filtered afterwards).
ANY = frozenset({"GetVersion", "GetDomains", "ListProjects", "UserInfo"})
RUNNER = frozenset(
    {
        "CreateExecution",
        "RelaunchExecution",
        "RecoverExecution",
        "UpdateExecution",
        "TerminateExecution",
        "SetSignal",
        "GetOrCreateSignal",
        "CreateUploadLocation",
    }
)
ADMIN = frozenset(
    {
        "CreateTask",
        "CreateWorkflow",
        "CreateLaunchPlan",
        "UpdateLaunchPlan",
        "UpdateNamedEntity",
        "UpdateProject",
        "UpdateProjectDomainAttributes",
        "DeleteProjectDomainAttributes",
        "UpdateProjectAttributes",
        "DeleteProjectAttributes",
        "UpdateWorkflowAttributes",
        "DeleteWorkflowAttributes",
    }
)
SERVER_ADMIN_ONLY = frozenset(
    {
        "RegisterProject",
        "CreateWorkflowEvent",
        "CreateNodeEvent",
        "CreateTaskEvent",
        "ListMatchableAttributes",
        "CreateDownloadLocation",
    }
)
# Fields that lead from a request to the project it addresses, tried in order.
_PATH_FIELDS = (
    "project",
    "id",
    "execution_id",
    "workflow_execution_id",
    "node_execution_id",
    "task_execution_id",
    "attributes",
)


def required_role(method: str) -> str | None:
    """The role ``method`` needs in its project; None for calls any authenticated caller may make."""
    if method in ANY:
        return None
    if method in RUNNER:
        return "runner"
    if method in ADMIN:
        return "admin"
    if method in SERVER_ADMIN_ONLY:
        return "server-admin"
    if method.startswith(("Get", "List")) or method == "CreateDownloadLink":
        return "viewer"
    return "server-admin"


def project_of(request: Message, depth: int = 0) -> str:
    """The project a request addresses ('' when it names none)."""
    if request.DESCRIPTOR.full_name == "flyteidl.admin.Project":
        return str(getattr(request, "id", ""))
    flyte_url = getattr(request, "flyte_url", "")
    if flyte_url:
        parts = flyte_url.removeprefix("flyte://").split("/")
        return parts[1] if len(parts) > 1 and parts[0] == "v1" else ""
    fields = request.DESCRIPTOR.fields_by_name
    for name in _PATH_FIELDS:
        field = fields.get(name)
        if field is None:
            continue
        value = getattr(request, name)
        if isinstance(value, str):
            if name == "project" and value:
                return value
            continue
        if isinstance(value, Message) and depth < 4:
            found = project_of(value, depth + 1)
            if found:
                return found
    return ""


def authorize(identity: Identity, method: str, request: Message) -> None:
    """Raise PermissionDenied unless ``identity`` may call ``method`` with ``request``."""
    role = required_role(method)
    if role is None:
        return
    if role == "server-admin":
        if not identity.server_admin:
            raise PermissionDenied(f"{method} needs the server-wide admin role; {identity.subject} does not have it")
        return
    project = project_of(request)
    if not project:
        if identity.server_admin:
            return
        raise PermissionDenied(f"{method} without a project needs the server-wide admin role")
    if not identity.allows(project, role):
        raise PermissionDenied(
            f"{method} needs the {role} role in project {project}; {identity.subject} does not have it"
        )


def visible_projects(identity: Identity, projects: list[str]) -> list[str]:
    """The projects of ``projects`` that ``identity`` may see."""
    if identity.server_admin:
        return projects
    return [p for p in projects if identity.role_in(p) is not None]

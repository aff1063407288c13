"""ORM models; importing this package registers every table on ``Base.metadata``."""

from aerodrome.db.models.auth import AuthClientRow, AuthKeyRow, AuthUserRow
from aerodrome.db.models.base import Base
from aerodrome.db.models.executions import (
    EventRow,
    ExecutionRow,
    ExecutionTagRow,
    NodeExecutionRow,
    TaskExecutionRow,
)
from aerodrome.db.models.outbox import OutboxRow
from aerodrome.db.models.processes import EngineProcessRow
from aerodrome.db.models.products import ProductRow, ProductTypeRow, ProductWorkflowRow, ProductWorkflowTypeRow
from aerodrome.db.models.providers import ExecutionProviderRow, ProviderRow
from aerodrome.db.models.registry import (
    DescriptionEntityRow,
    LaunchPlanRow,
    NamedEntityMetadataRow,
    TaskRow,
    WorkflowRow,
)
from aerodrome.db.models.runtime import CachedArtifactRow, CacheReservationRow, SignalRow
from aerodrome.db.models.schedules import ScheduleRow
from aerodrome.db.models.secrets import SecretRow
from aerodrome.db.models.tenancy import ProjectRow, ResourceRow

__all__ = [
    "AuthClientRow",
    "AuthKeyRow",
    "AuthUserRow",
    "Base",
    "CacheReservationRow",
    "CachedArtifactRow",
    "DescriptionEntityRow",
    "EngineProcessRow",
    "EventRow",
    "ExecutionProviderRow",
    "ExecutionRow",
    "ExecutionTagRow",
    "LaunchPlanRow",
    "NamedEntityMetadataRow",
    "NodeExecutionRow",
    "OutboxRow",
    "ProductRow",
    "ProductTypeRow",
    "ProductWorkflowRow",
    "ProductWorkflowTypeRow",
    "ProjectRow",
    "ProviderRow",
    "ResourceRow",
    "ScheduleRow",
    "SecretRow",
    "SignalRow",
    "TaskExecutionRow",
    "TaskRow",
    "WorkflowRow",
]

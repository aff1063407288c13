"""ORM models; importing this package registers every table on ``Base.metadata``."""

from aerodrome.db.models.base import Base
from aerodrome.db.models.executions import (
    EventRow,
    ExecutionRow,
    ExecutionTagRow,
    NodeExecutionRow,
    TaskExecutionRow,
)
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
from aerodrome.db.models.secrets import SecretRow
from aerodrome.db.models.tenancy import ProjectRow, ResourceRow

__all__ = [
    "Base",
    "CacheReservationRow",
    "CachedArtifactRow",
    "DescriptionEntityRow",
    "EventRow",
    "ExecutionProviderRow",
    "ExecutionRow",
    "ExecutionTagRow",
    "LaunchPlanRow",
    "NamedEntityMetadataRow",
    "NodeExecutionRow",
    "ProductRow",
    "ProductTypeRow",
    "ProductWorkflowRow",
    "ProductWorkflowTypeRow",
    "ProjectRow",
    "ProviderRow",
    "ResourceRow",
    "SecretRow",
    "SignalRow",
    "TaskExecutionRow",
    "TaskRow",
    "WorkflowRow",
]

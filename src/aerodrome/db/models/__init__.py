"""ORM models; importing this package registers every table on ``Base.metadata``."""

from aerodrome.db.models.base import Base
from aerodrome.db.models.executions import (
    EventRow,
    ExecutionRow,
    ExecutionTagRow,
    NodeExecutionRow,
    TaskExecutionRow,
)
from aerodrome.db.models.registry import (
    DescriptionEntityRow,
    LaunchPlanRow,
    NamedEntityMetadataRow,
    TaskRow,
    WorkflowRow,
)
from aerodrome.db.models.runtime import CachedArtifactRow, CacheReservationRow, SignalRow
from aerodrome.db.models.tenancy import ProjectRow, ResourceRow

__all__ = [
    "Base",
    "CacheReservationRow",
    "CachedArtifactRow",
    "DescriptionEntityRow",
    "EventRow",
    "ExecutionRow",
    "ExecutionTagRow",
    "LaunchPlanRow",
    "NamedEntityMetadataRow",
    "NodeExecutionRow",
    "ProjectRow",
    "ResourceRow",
    "SignalRow",
    "TaskExecutionRow",
    "TaskRow",
    "WorkflowRow",
]

"""The bundle of every manager that the composition root builds and the transports call."""

from __future__ import annotations

from dataclasses import dataclass

from flyteidl.admin import version_pb2

from aerodrome.managers.attributes import AttributeManager
from aerodrome.managers.description_entities import DescriptionEntityManager
from aerodrome.managers.events import EventManager
from aerodrome.managers.execution_queries import ExecutionQueries
from aerodrome.managers.executions import ExecutionManager
from aerodrome.managers.launch_plans import LaunchPlanManager
from aerodrome.managers.metrics import MetricsManager
from aerodrome.managers.named_entities import NamedEntityManager
from aerodrome.managers.projects import ProjectManager
from aerodrome.managers.signals import SignalManager
from aerodrome.managers.tasks import TaskManager
from aerodrome.managers.workflows import WorkflowManager


@dataclass(frozen=True)
class Managers:
    """Every manager, built once by the composition root."""

    projects: ProjectManager
    tasks: TaskManager
    workflows: WorkflowManager
    launch_plans: LaunchPlanManager
    named_entities: NamedEntityManager
    descriptions: DescriptionEntityManager
    attributes: AttributeManager
    events: EventManager
    executions: ExecutionManager
    queries: ExecutionQueries
    metrics: MetricsManager
    signals: SignalManager
    server_version: str

    def version(self) -> version_pb2.GetVersionResponse:
        """GetVersion: the control-plane version flytekit prints (must start with ``v``)."""
        from aerodrome import __version__

        return version_pb2.GetVersionResponse(
            control_plane_version=version_pb2.Version(Version=self.server_version, Build=__version__)
        )

"""The rows CreateExecution writes: the execution (its closure as of creation) and its label/tag rows."""

from __future__ import annotations

from datetime import UTC, datetime

from flyteidl.admin import execution_pb2, launch_plan_pb2
from flyteidl.core import identifier_pb2
from google.protobuf import timestamp_pb2

from aerodrome.db.models import ExecutionRow, ExecutionTagRow, LaunchPlanRow
from aerodrome.managers.execution_config import notifications
from aerodrome.phases.tables import WF

Identifier = identifier_pb2.WorkflowExecutionIdentifier


def now_timestamp() -> timestamp_pb2.Timestamp:
    """This moment, for the state changes and events the execution manager records itself."""
    ts = timestamp_pb2.Timestamp()
    ts.GetCurrentTime()
    return ts


def _now() -> tuple[datetime, timestamp_pb2.Timestamp]:
    moment = datetime.now(UTC)
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(moment)
    return moment, ts


def execution_row(
    ident: Identifier,
    spec: execution_pb2.ExecutionSpec,
    plan: launch_plan_pb2.LaunchPlan,
    lp_row: LaunchPlanRow,
    task_id: int | None,
    source_execution_id: int | None,
) -> ExecutionRow:
    moment, ts = _now()
    wf_id = plan.spec.workflow_id
    closure = execution_pb2.ExecutionClosure(
        phase=WF.UNDEFINED,
        created_at=ts,
        updated_at=ts,
        workflow_id=wf_id,
        notifications=notifications(spec, plan.spec),
        state_change_details=execution_pb2.ExecutionStateChangeDetails(
            state=execution_pb2.EXECUTION_ACTIVE, occurred_at=ts, principal=spec.metadata.principal
        ),
    )
    row = ExecutionRow(
        execution_project=ident.project,
        execution_domain=ident.domain,
        execution_name=ident.name,
        launch_plan_id=lp_row.id,
        workflow_id=lp_row.workflow_id,
        task_id=task_id,
        phase="UNDEFINED",
        closure=closure.SerializeToString(),
        spec=spec.SerializeToString(),
        execution_created_at=moment,
        execution_updated_at=moment,
        mode=spec.metadata.mode,
        scheduled_at=spec.metadata.scheduled_at.ToDatetime(UTC) if spec.metadata.HasField("scheduled_at") else None,
        source_execution_id=source_execution_id,
        user=spec.metadata.principal,
        launch_entity="task" if task_id else "launch_plan",
    )  # inputs_uri and user_inputs_uri: set once the inputs are stored (ExecutionManager._store)
    return row


def tag_rows(ident: Identifier, spec: execution_pb2.ExecutionSpec) -> list[ExecutionTagRow]:
    pairs = [*spec.labels.values.items(), *((t, "") for t in dict.fromkeys(spec.tags))]
    return [
        ExecutionTagRow(
            execution_project=ident.project,
            execution_domain=ident.domain,
            execution_name=ident.name,
            key=k,
            value=v,
        )
        for k, v in pairs
    ]

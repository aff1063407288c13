"""The CreateExecution request of one fire: what an API caller would send for a scheduled run."""

from __future__ import annotations

from datetime import datetime

from flyteidl.admin import execution_pb2
from flyteidl.core import identifier_pb2, literals_pb2
from google.protobuf import timestamp_pb2

from aerodrome.db.models import LaunchPlanRow
from aerodrome.scheduler.schedules import Cadence, fire_name


def timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(moment)
    return ts


def fire_request(plan: LaunchPlanRow, cadence: Cadence, moment: datetime) -> execution_pb2.ExecutionCreateRequest:
    """Mode SCHEDULED, ``scheduled_at`` = the fire time, the exact launch-plan version, the kickoff input
    bound to the fire time (for fixed rates too, where the reference passes nothing and such a launch plan
    could only fail), every other input from the launch plan."""
    inputs = literals_pb2.LiteralMap()
    if cadence.kickoff_arg:
        inputs.literals[cadence.kickoff_arg].scalar.primitive.datetime.CopyFrom(timestamp(moment))
    return execution_pb2.ExecutionCreateRequest(
        project=plan.project,
        domain=plan.domain,
        name=fire_name(plan.project, plan.domain, plan.name, moment),
        spec=execution_pb2.ExecutionSpec(
            launch_plan=identifier_pb2.Identifier(
                resource_type=identifier_pb2.LAUNCH_PLAN,
                project=plan.project,
                domain=plan.domain,
                name=plan.name,
                version=plan.version,
            ),
            metadata=execution_pb2.ExecutionMetadata(
                mode=execution_pb2.ExecutionMetadata.SCHEDULED, scheduled_at=timestamp(moment)
            ),
        ),
        inputs=inputs,
    )

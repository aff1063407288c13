"""Execution-config resolution: request, then launch plan, then matchable attributes, then defaults.

Each field is taken from the first source where it is set ("fill only unset fields", as
``util.MergeIntoExecConfig``). ``max_parallelism`` defaults to 25 even when nobody set it.
"""

from __future__ import annotations

from collections.abc import Sequence

from flyteidl.admin import common_pb2, execution_pb2, launch_plan_pb2, matchable_resource_pb2
from flyteidl.core import security_pb2

DEFAULT_MAX_PARALLELISM = 25

Source = launch_plan_pb2.LaunchPlanSpec | matchable_resource_pb2.WorkflowExecutionConfig


def _security_unset(context: security_pb2.SecurityContext) -> bool:
    run_as = context.run_as
    return not (run_as.k8s_service_account or run_as.iam_role or run_as.execution_identity)


def _fill(spec: execution_pb2.ExecutionSpec, source: Source) -> None:
    if not spec.max_parallelism and source.max_parallelism:
        spec.max_parallelism = source.max_parallelism
    if _security_unset(spec.security_context) and not _security_unset(source.security_context):
        spec.security_context.CopyFrom(source.security_context)
    if not spec.raw_output_data_config.output_location_prefix and source.raw_output_data_config.output_location_prefix:
        spec.raw_output_data_config.CopyFrom(source.raw_output_data_config)
    if not spec.labels.values and source.labels.values:
        spec.labels.CopyFrom(source.labels)
    if not spec.annotations.values and source.annotations.values:
        spec.annotations.CopyFrom(source.annotations)
    if not spec.envs.values and source.envs.values:
        spec.envs.CopyFrom(source.envs)
    if not spec.HasField("interruptible") and source.HasField("interruptible"):
        spec.interruptible.CopyFrom(source.interruptible)
    if not spec.overwrite_cache and source.overwrite_cache:
        spec.overwrite_cache = True


def resolve(spec: execution_pb2.ExecutionSpec, sources: Sequence[Source]) -> None:
    """Fill unset execution-config fields of ``spec`` in place from ``sources``, highest priority first."""
    for source in sources:
        _fill(spec, source)
    if not spec.max_parallelism:
        spec.max_parallelism = DEFAULT_MAX_PARALLELISM


def notifications(
    spec: execution_pb2.ExecutionSpec, plan: launch_plan_pb2.LaunchPlanSpec | None
) -> list[common_pb2.Notification]:
    """The request's notifications, none if disabled, else the launch plan's."""
    if spec.HasField("notifications") and spec.notifications.notifications:
        return list(spec.notifications.notifications)
    if spec.disable_all or plan is None:
        return []
    return list(plan.entity_metadata.notifications)

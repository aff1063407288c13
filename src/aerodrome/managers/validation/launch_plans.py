"""Launch-plan spec checks (AP/manager/impl/validation/launch_plan_validator.go) and schedule parsing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from croniter import CroniterBadDateError, croniter
from flyteidl.admin import common_pb2, launch_plan_pb2, schedule_pb2
from flyteidl.core import execution_pb2, interface_pb2, literals_pb2, types_pb2
from pydantic import TypeAdapter, ValidationError

from aerodrome.errors import InvalidArgument, invalid, missing
from aerodrome.managers.validation.labels import validate_labels

TERMINAL_PHASES = frozenset(
    {
        execution_pb2.WorkflowExecution.SUCCEEDED,
        execution_pb2.WorkflowExecution.FAILED,
        execution_pb2.WorkflowExecution.TIMED_OUT,
        execution_pb2.WorkflowExecution.ABORTED,
    }
)
_EVERY = re.compile(r"^@every\s+((\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+)$")
_OFFSET = TypeAdapter(timedelta)
_DESCRIPTORS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}


def valid_cron(expression: str) -> bool:
    """Standard 5-field cron, a descriptor such as ``@daily``, or ``@every <duration>``."""
    expression = expression.strip()
    if expression in _DESCRIPTORS or _EVERY.match(expression):
        return True
    return len(expression.split()) == 5 and bool(croniter.is_valid(expression))


def ever_fires(expression: str) -> bool:
    """Whether a valid cron expression ever fires (``0 0 31 2 *`` never does; robfig's ``Next`` gives zero)."""
    expression = expression.strip()
    if expression.startswith("@every"):
        return True
    try:
        croniter(expression, datetime.now(UTC)).get_next(datetime)
    except CroniterBadDateError:
        return False
    return True


def validate_fixed_inputs(fixed: literals_pb2.LiteralMap) -> None:
    for name, literal in fixed.literals.items():
        if not name:
            raise InvalidArgument("missing key in fixed_inputs")
        if literal.WhichOneof("value") is None:
            raise InvalidArgument(f"missing valid literal in fixed_inputs {name}")


def validate_notifications(notifications: list[common_pb2.Notification]) -> None:
    for notification in notifications:
        kind = notification.WhichOneof("type")
        if kind is None:
            raise invalid("notification type")
        recipients = list(getattr(notification, kind).recipients_email)
        if not recipients:
            raise missing("recipients")
        if any(not r for r in recipients):
            raise missing("recipient")
        if any(p not in TERMINAL_PHASES for p in notification.phases):
            raise invalid("phase")


def has_schedule(schedule: schedule_pb2.Schedule) -> bool:
    """The reference's "non-empty schedule"."""
    return bool(schedule.cron_schedule.schedule or schedule.cron_expression or schedule.rate.value)


def schedule_type(spec: launch_plan_pb2.LaunchPlanSpec) -> str:
    schedule = spec.entity_metadata.schedule
    if schedule.cron_schedule.schedule or schedule.cron_expression:
        return "CRON"
    return "RATE" if schedule.rate.value else "NONE"


def validate_schedule(schedule: schedule_pb2.Schedule, expected: interface_pb2.ParameterMap) -> None:
    """Scheduled launch plans may only leave the kickoff-time input free, and it must be a datetime."""
    kickoff = schedule.kickoff_time_input_arg
    for name, param in expected.parameters.items():
        if param.required and name != kickoff:
            raise InvalidArgument(
                "Cannot create a launch plan with a schedule if there is an unbound required input. "
                f"[{name}] is required"
            )
    if kickoff:
        if kickoff not in expected.parameters:
            raise InvalidArgument(
                f"Cannot create a schedule with a KickoffTimeInputArg that does not point to a free input. "
                f"[{kickoff}] is not free or does not exist."
            )
        param = expected.parameters[kickoff]
        if param.var.type.simple != types_pb2.DATETIME:
            raise InvalidArgument(
                f"KickoffTimeInputArg must reference a datetime input. [{kickoff}] is a [{param.var.type}]"
            )
    expression = schedule.cron_schedule.schedule or schedule.cron_expression
    if expression and not valid_cron(expression):
        raise InvalidArgument(f"Invalid cron expression: {expression}")
    if expression and not ever_fires(expression):
        raise InvalidArgument(
            f"Invalid cron expression: {expression}: invalid crontab string configuration (no such date ever occurs)"
        )
    if schedule.cron_schedule.offset:
        try:
            _OFFSET.validate_python(schedule.cron_schedule.offset)
        except ValidationError:
            raise InvalidArgument(
                f"Invalid cron offset: {schedule.cron_schedule.offset} (expected an ISO-8601 duration such as PT5M)"
            ) from None
    if schedule.HasField("rate") and schedule.rate.value <= 0:
        raise InvalidArgument(f"Invalid fixed rate: {schedule.rate.value}")


CATCH_UP_ANNOTATION = "aerodrome/catch-up"
CATCH_UP_VALUES = ("all", "latest", "none")


def validate_spec(spec: launch_plan_pb2.LaunchPlanSpec) -> None:
    """Labels, fixed inputs, notifications, launch conditions and aerodrome's catch-up annotation."""
    validate_labels(spec.labels.values)
    catch_up = spec.annotations.values.get(CATCH_UP_ANNOTATION)
    if catch_up is not None and catch_up.strip().lower() not in CATCH_UP_VALUES:
        raise InvalidArgument(
            f"invalid value [{catch_up}] for annotation {CATCH_UP_ANNOTATION}: expected all, latest or none"
        )
    validate_fixed_inputs(spec.fixed_inputs)
    validate_notifications(list(spec.entity_metadata.notifications))
    if spec.entity_metadata.HasField("launch_conditions"):
        raise InvalidArgument(f"Launch condition must be empty, found {spec.entity_metadata.launch_conditions}")

"""Scheduled launch plans for the scheduler's integration tests: trivial, fast tasks.

flytekit's CronSchedule refuses ``@every`` (it validates with croniter), so the per-second launch plans
the tests need are created through the API from ``sched.every_minute``'s spec, as flytectl users can."""

from datetime import datetime, timedelta

from flytekit import CronSchedule, FixedRate, LaunchPlan, task, workflow


@task
def stamp(run_at: datetime) -> str:
    return run_at.isoformat()


@workflow
def stamped(run_at: datetime) -> str:
    return stamp(run_at=run_at)


@task
def one() -> int:
    return 1


@workflow
def plain() -> int:
    return one()


every_minute = LaunchPlan.get_or_create(
    stamped,
    name="sched.every_minute",
    schedule=CronSchedule(schedule="* * * * *", kickoff_time_input_arg="run_at"),
)
each_minute_rate = LaunchPlan.get_or_create(
    plain, name="sched.rate_minute", schedule=FixedRate(duration=timedelta(minutes=1))
)

"""A launch plan version: schedule, state with its toggle, inputs, notifications, executions; and its launch form."""

from __future__ import annotations

from datetime import UTC, datetime

from flyteidl.admin import common_pb2, execution_pb2, launch_plan_pb2
from flyteidl.core import identifier_pb2
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from aerodrome.errors import InvalidArgument
from aerodrome.transport.http.console.deps import Deps, base, entity_id
from aerodrome.transport.http.console.formatting import url
from aerodrome.transport.http.console.forms import Field, fields, parse
from aerodrome.transport.http.console.literals import show_map
from aerodrome.transport.http.console.render import View, form_of, page, redirect
from aerodrome.transport.http.console.schedules import describe_cron, next_fires


def routes(deps: Deps) -> list[BaseRoute]:
    m = deps.managers

    async def plan(request: Request) -> View:
        ident = entity_id(request, identifier_pb2.LAUNCH_PLAN)
        lp = await m.launch_plans.get(common_pb2.ObjectGetRequest(id=ident))
        newest = common_pb2.Sort(key="execution_created_at", direction=common_pb2.Sort.DESCENDING)
        runs = await m.queries.list(
            common_pb2.ResourceListRequest(
                id=common_pb2.NamedEntityIdentifier(project=ident.project, domain=ident.domain),
                limit=20,
                sort_by=newest,
                filters=f"eq(launch_plan.name,{ident.name})+eq(launch_plan.version,{ident.version})",
            )
        )
        schedule = lp.spec.entity_metadata.schedule
        cron = schedule.cron_schedule.schedule or schedule.cron_expression
        return View(
            "launch_plan.html",
            {
                "ident": ident,
                "base": base(ident.project, ident.domain),
                "lp": lp,
                "active": lp.closure.state == launch_plan_pb2.ACTIVE,
                "cron": cron,
                "cron_text": describe_cron(cron, deps.schedule_zone) if cron else "",
                "fires": next_fires(schedule, datetime.now(UTC), deps.schedule_zone),
                "rate": schedule.rate if schedule.HasField("rate") else None,
                "defaults": fields(lp.closure.expected_inputs),
                "fixed": show_map(lp.spec.fixed_inputs, {}),
                "executions": runs.executions,
            },
        )

    async def toggle(request: Request) -> Response:
        ident = entity_id(request, identifier_pb2.LAUNCH_PLAN)
        state = (
            launch_plan_pb2.ACTIVE if (await form_of(request)).get("state") == "ACTIVE" else launch_plan_pb2.INACTIVE
        )
        await m.launch_plans.update(launch_plan_pb2.LaunchPlanUpdateRequest(id=ident, state=state))
        return redirect(_plan_url(ident))

    async def launch_form(request: Request) -> View:
        ident = entity_id(request, identifier_pb2.LAUNCH_PLAN)
        lp = await m.launch_plans.get(common_pb2.ObjectGetRequest(id=ident))
        return _form_view(ident, lp, fields(lp.closure.expected_inputs), "")

    async def launch(request: Request) -> View | Response:
        ident = entity_id(request, identifier_pb2.LAUNCH_PLAN)
        lp = await m.launch_plans.get(common_pb2.ObjectGetRequest(id=ident))
        form = await form_of(request)
        expected = lp.closure.expected_inputs
        inputs, errors = parse(expected, form)
        if errors:
            return _form_view(ident, lp, fields(expected, form, errors), "Some inputs need fixing.", status=400)
        try:
            created = await m.executions.create(
                execution_pb2.ExecutionCreateRequest(
                    project=ident.project,
                    domain=ident.domain,
                    inputs=inputs,
                    spec=execution_pb2.ExecutionSpec(
                        launch_plan=ident,
                        metadata=execution_pb2.ExecutionMetadata(
                            mode=execution_pb2.ExecutionMetadata.MANUAL, principal=request.state.viewer.name
                        ),
                    ),
                )
            )
        except InvalidArgument as exc:
            return _form_view(ident, lp, fields(expected, form), str(exc), status=400)
        return redirect(f"{base(ident.project, ident.domain)}/executions/{url(created.id.name)}")

    prefix = "/projects/{project}/domains/{domain}/launch_plans/{name}/versions/{version}"
    return [
        Route(prefix, page(plan)),
        Route(prefix + "/state", page(toggle), methods=["POST"]),
        Route(prefix + "/launch", page(launch_form), methods=["GET"]),
        Route(prefix + "/launch", page(launch), methods=["POST"]),
    ]


def _plan_url(ident: identifier_pb2.Identifier) -> str:
    return f"{base(ident.project, ident.domain)}/launch_plans/{url(ident.name)}/versions/{url(ident.version)}"


def _form_view(
    ident: identifier_pb2.Identifier,
    lp: launch_plan_pb2.LaunchPlan,
    shown: list[Field],
    message: str,
    status: int = 200,
) -> View:
    return View(
        "launch.html",
        {
            "ident": ident,
            "base": base(ident.project, ident.domain),
            "lp": lp,
            "fields": shown,
            "message": message,
            "plan_url": _plan_url(ident),
        },
        status,
    )

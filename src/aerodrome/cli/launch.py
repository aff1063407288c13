"""``aerodrome launch``: start an execution of a launch plan (or a task) with JSON inputs and a job configuration.

The job configuration (YAML or JSON, see ``managers/job_conf.py``) travels as the execution annotation
``aerodrome/job-conf``, the same field any API client can set; the server resolves providers from it.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import grpc
from flyteidl.admin import common_pb2, execution_pb2, launch_plan_pb2
from flyteidl.core import identifier_pb2, interface_pb2
from flyteidl.service import admin_pb2_grpc

from aerodrome.errors import InvalidArgument
from aerodrome.managers.job_conf import JOB_CONF_ANNOTATION
from aerodrome.managers.json_inputs import inputs_from_json


def _status(exc: grpc.RpcError) -> tuple[grpc.StatusCode, str]:
    """The code and message of a failed call (a grpc.Call in practice; RpcError's stubs declare neither)."""
    call: grpc.Call = exc  # type: ignore[assignment]
    return call.code(), str(call.details())


def _latest(stub: admin_pb2_grpc.AdminServiceStub, kind: str, named: common_pb2.NamedEntityIdentifier) -> str:
    request = common_pb2.ResourceListRequest(
        id=named, limit=1, sort_by=common_pb2.Sort(key="created_at", direction=common_pb2.Sort.DESCENDING)
    )
    found = stub.ListTasks(request) if kind == "task" else stub.ListLaunchPlans(request)
    items = list(found.tasks if kind == "task" else found.launch_plans)
    if not items:
        raise click.ClickException(f"no {kind} named {named.name} in {named.project}/{named.domain}")
    return str(items[0].id.version)


def _target(
    stub: admin_pb2_grpc.AdminServiceStub, name: str, version: str, project: str, domain: str, task: bool
) -> tuple[identifier_pb2.Identifier, interface_pb2.ParameterMap]:
    """The entity to launch and the inputs it expects."""
    named = common_pb2.NamedEntityIdentifier(project=project, domain=domain, name=name)
    if task:
        version = version or _latest(stub, "task", named)
        ident = identifier_pb2.Identifier(
            resource_type=identifier_pb2.TASK, project=project, domain=domain, name=name, version=version
        )
        variables = stub.GetTask(common_pb2.ObjectGetRequest(id=ident)).closure.compiled_task.template.interface
        return ident, interface_pb2.ParameterMap(
            parameters={k: interface_pb2.Parameter(var=v) for k, v in variables.inputs.variables.items()}
        )
    if version:
        ident = identifier_pb2.Identifier(
            resource_type=identifier_pb2.LAUNCH_PLAN, project=project, domain=domain, name=name, version=version
        )
        plan = stub.GetLaunchPlan(common_pb2.ObjectGetRequest(id=ident))
    else:
        try:
            plan = stub.GetActiveLaunchPlan(launch_plan_pb2.ActiveLaunchPlanRequest(id=named))
        except grpc.RpcError as exc:
            if _status(exc)[0] != grpc.StatusCode.NOT_FOUND:
                raise
            return _target(stub, name, _latest(stub, "launch plan", named), project, domain, task)
    return plan.id, plan.closure.expected_inputs


@click.command()
@click.argument("name")
@click.option("--project", default="flytesnacks", show_default=True)
@click.option("--domain", default="development", show_default=True)
@click.option("--version", default="", help="Launch plan (or task) version; default the active, else the latest.")
@click.option("--task", is_flag=True, help="NAME is a task, not a launch plan.")
@click.option("--inputs", default="{}", show_default=True, help="Inputs as a JSON object.")
@click.option(
    "--job-conf",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Job configuration (YAML or JSON) naming providers per job, task, party and party-task.",
)
@click.option(
    "--endpoint",
    envvar="AERODROME_GRPC",
    default="127.0.0.1:8089",
    show_default=True,
    help="The server's gRPC address.",
)
def launch(
    name: str, project: str, domain: str, version: str, task: bool, inputs: str, job_conf: Path | None, endpoint: str
) -> None:
    """Launch NAME; prints the execution name."""
    try:
        values = json.loads(inputs)
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"--inputs is not valid JSON: {exc}") from None
    with grpc.insecure_channel(endpoint) as channel:
        stub = admin_pb2_grpc.AdminServiceStub(channel)
        try:
            ident, expected = _target(stub, name, version, project, domain, task)
            literals = inputs_from_json(values, expected)
            spec = execution_pb2.ExecutionSpec(
                launch_plan=ident,
                metadata=execution_pb2.ExecutionMetadata(mode=execution_pb2.ExecutionMetadata.MANUAL, principal="cli"),
            )
            if job_conf is not None:
                spec.annotations.values[JOB_CONF_ANNOTATION] = job_conf.read_text()
            created = stub.CreateExecution(
                execution_pb2.ExecutionCreateRequest(project=project, domain=domain, spec=spec, inputs=literals)
            )
        except grpc.RpcError as exc:
            code, details = _status(exc)
            raise click.ClickException(f"{details} ({code.name})") from None
        except InvalidArgument as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(created.id.name)

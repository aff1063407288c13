"""Helpers of the scheduler tests: scheduled executions of a launch plan, read through ListExecutions."""

from __future__ import annotations

import json
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flyteidl.admin import common_pb2, execution_pb2
from flyteidl.service import admin_pb2_grpc

PROJECT = "flytesnacks"
DOMAIN = "development"


@dataclass(frozen=True)
class Fired:
    """One scheduled execution."""

    name: str
    version: str
    scheduled_at: datetime
    created_at: datetime
    phase: int


def scheduled(stub: admin_pb2_grpc.AdminServiceStub, lp_name: str, extra_filters: str = "") -> list[Fired]:
    """Every SCHEDULED execution of a launch-plan name, by fire time (mode and scheduled_at filters)."""
    filters = f"eq(mode,1)+eq(launch_plan.name,{lp_name})" + (f"+{extra_filters}" if extra_filters else "")
    found: list[Fired] = []
    token = ""
    while True:
        page = stub.ListExecutions(
            common_pb2.ResourceListRequest(
                id=common_pb2.NamedEntityIdentifier(project=PROJECT, domain=DOMAIN),
                filters=filters,
                limit=500,
                token=token,
                sort_by=common_pb2.Sort(key="scheduled_at", direction=common_pb2.Sort.ASCENDING),
            )
        )
        for e in page.executions:
            assert e.spec.metadata.mode == execution_pb2.ExecutionMetadata.SCHEDULED
            found.append(
                Fired(
                    e.id.name,
                    e.spec.launch_plan.version,
                    e.spec.metadata.scheduled_at.ToDatetime(UTC),
                    e.closure.created_at.ToDatetime(UTC),
                    e.closure.phase,
                )
            )
        token = page.token
        if not token:
            return found


def wait_for(stub: admin_pb2_grpc.AdminServiceStub, lp_name: str, count: int, timeout: float = 30) -> list[Fired]:
    deadline = time.monotonic() + timeout
    while True:
        fired = scheduled(stub, lp_name)
        if len(fired) >= count or time.monotonic() > deadline:
            return fired
        time.sleep(0.3)


def schedules_api(http: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{http}/api/v1/schedules", timeout=30) as response:
        envelope = json.loads(response.read())
    assert envelope["code"] == 0, envelope
    rows: list[dict[str, Any]] = envelope["data"]
    return rows

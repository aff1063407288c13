"""The HTTP API fuzzed from its own OpenAPI document (schemathesis) against a real server.

Every operation of ``/api/v1/openapi.json`` (the generated gateway routes and aerodrome's registries)
gets a few generated requests, valid and invalid: no answer may be a 5xx (an INTERNAL would be 500),
and every answer must match the document (status code, content type, body schema). Two valid examples
and one invalid example per operation keep it bounded for CI (about 90 s on a busy 2-core machine);
``AERODROME_FUZZ_SCALE`` multiplies them (at 4 it found the five defects whose regressions are in
test_limits.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from prometheus_client.parser import text_string_to_metric_families
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.integration.conftest import Server, start_server, stop_server
from tests.support.fuzz import examples


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # No scheduler: a fuzzed launch plan activation must not start firing executions in the background.
    server = start_server(
        tmp_path_factory.mktemp("fuzzed"),
        "",
        "sqlite",
        {"AERODROME_SCHEDULER_ENABLED": "false", "AERODROME_LOG_FORMAT": "json"},
    )
    try:
        yield server
    finally:
        stop_server(server)


@pytest.fixture(scope="module")
def api(fuzzed: Server) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{fuzzed.http}/api/v1/openapi.json")


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def fuzz_operation(operation: schemathesis.APIOperation, mode: GenerationMode) -> None:
    """A few generated requests to one operation (schemathesis's pytest plugin does not load under pytest 9)."""

    @given(case=operation.as_strategy(mode))
    @settings(
        max_examples=examples(2 if mode is GenerationMode.POSITIVE else 1),
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(checks=CHECKS, timeout=30)

    run()


def http_calls(server: Server) -> float:
    """Calls the server answered over HTTP, from its own /metrics (proof that the fuzzer reached it)."""
    text = httpx.get(f"{server.http}/metrics", timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "aerodrome_rpc_duration_seconds_count" and sample.labels["transport"] == "http"
    )


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_no_server_errors_and_answers_match_the_document(
    fuzzed: Server, api: schemathesis.BaseSchema, mode: GenerationMode
) -> None:
    before = http_calls(fuzzed)
    failures: dict[str, str] = {}
    operations = [result.ok() for result in api.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) > 70, "the document describes the gateway routes too"
    for operation in operations:
        try:
            fuzz_operation(operation, mode)
        except Unsatisfiable:  # negative mode, nothing to break: no parameters, or only free-form strings
            assert mode is GenerationMode.NEGATIVE, operation.label
        except (Exception, BaseExceptionGroup) as exc:  # collect them all: one run shows every defect
            failures[operation.label] = str(exc)[:3000]
    internal = [  # the JSON log line of each INTERNAL, with the end of its traceback
        f"{r['message']}: {r.get('exception', '')[-600:]}"
        for r in map(json.loads, (fuzzed.home / "server.log").read_text().splitlines())
        if "internal error" in r["message"]
    ]
    assert not failures and not internal, "\n\n".join(
        [*(f"{label}:\n{text}" for label, text in failures.items()), *internal]
    )
    calls = http_calls(fuzzed) - before  # some operations have nothing a negative example could break
    assert calls >= (len(operations) if mode is GenerationMode.POSITIVE else len(operations) // 2), calls

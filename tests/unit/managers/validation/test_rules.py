"""Pure validators: labels, resources, cron expressions, identifiers."""

from __future__ import annotations

import pytest
from flyteidl.core import identifier_pb2, tasks_pb2

from aerodrome.errors import InvalidArgument
from aerodrome.managers.validation.identifiers import validate_identifier
from aerodrome.managers.validation.labels import dns_label_error, validate_labels
from aerodrome.managers.validation.launch_plans import valid_cron
from aerodrome.managers.validation.tasks import parse_quantity, validate_resources


def test_labels() -> None:
    validate_labels({"team": "ml", "example.com/owner": "a-b_c.d"})
    with pytest.raises(InvalidArgument, match="invalid label key"):
        validate_labels({"bad key": "x"})
    with pytest.raises(InvalidArgument, match="invalid label value"):
        validate_labels({"k": "-bad"})
    with pytest.raises(InvalidArgument, match="cannot exceed 16"):
        validate_labels({f"k{i}": "v" for i in range(17)})
    assert dns_label_error("flytesnacks") is None
    assert dns_label_error("Flyte_Snacks") is not None


def test_quantities_and_resources() -> None:
    assert parse_quantity("500m") == parse_quantity("0.5")
    assert parse_quantity("1Gi") == 2**30
    r = tasks_pb2.Resources
    ok = r(requests=[r.ResourceEntry(name=r.CPU, value="500m")], limits=[r.ResourceEntry(name=r.CPU, value="1")])
    validate_resources(ok)
    too_big = r(
        requests=[r.ResourceEntry(name=r.MEMORY, value="2Gi")], limits=[r.ResourceEntry(name=r.MEMORY, value="1Gi")]
    )
    with pytest.raises(InvalidArgument, match="is greater than the limit"):
        validate_resources(too_big)
    with pytest.raises(InvalidArgument, match="Parsing of cpu request failed"):
        validate_resources(r(requests=[r.ResourceEntry(name=r.CPU, value="lots")]))


@pytest.mark.parametrize("expression", ["0 2 * * *", "*/5 * * * *", "@daily", "@every 1h30m"])
def test_valid_cron(expression: str) -> None:
    assert valid_cron(expression)


@pytest.mark.parametrize("expression", ["61 * * * *", "* * *", "@sometimes", "0 0 * * * *"])
def test_invalid_cron(expression: str) -> None:
    assert not valid_cron(expression)


def test_identifier_order_of_checks() -> None:
    ident = identifier_pb2.Identifier(resource_type=identifier_pb2.TASK, project="p", domain="d", name="n")
    with pytest.raises(InvalidArgument, match="missing version"):
        validate_identifier(ident, identifier_pb2.TASK)
    with pytest.raises(InvalidArgument, match="unexpected resource type task"):
        validate_identifier(ident, identifier_pb2.WORKFLOW)
    with pytest.raises(InvalidArgument, match="missing id"):
        validate_identifier(ident, identifier_pb2.TASK, present=False)

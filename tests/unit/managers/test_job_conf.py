"""Job configuration: the four levels, their precedence, party matching, and strict errors."""

from __future__ import annotations

import pytest

from aerodrome.errors import InvalidArgument
from aerodrome.managers.job_conf import Mention, Party, applicable_mentions, parse_job_conf, resolve_nodes

ME = Party("guest", "9999")
DEFAULT = Mention("d:1@local", "default", "attribute")


def conf(job: str = "", task: str = "", party: str = "", party_task: str = "", parties: str = "") -> str:
    """A document with the given providers (task and party-task levels name node n0)."""
    lines = ["dag:"]
    if job:
        lines += ["  conf:", "    task:", f"      provider: {job}"]
    if task:
        lines += ["  tasks:", "    n0:", "      conf:", f"        provider: {task}"]
    if party or party_task:
        lines += ["  party_tasks:", "    site:", f"      parties: {parties or '[{role: guest, party_id: [9999]}]'}"]
        if party:
            lines += ["      conf:", f"        provider: {party}"]
        if party_task:
            lines += ["      tasks:", "        n0:", "          conf:", f"            provider: {party_task}"]
    return "\n".join(lines) + "\n"


# (levels set, expected winner for n0, expected winner for n1): lowest first job < task < party < party-task.
CASES = [
    ({}, None, None),
    ({"default": True}, "d:1@local/default", "d:1@local/default"),
    ({"job": "j:1@local"}, "j:1@local/job", "j:1@local/job"),
    ({"default": True, "job": "j:1@local"}, "j:1@local/job", "j:1@local/job"),
    ({"job": "j:1@local", "task": "t:1@local"}, "t:1@local/task", "j:1@local/job"),
    ({"task": "t:1@local", "party": "p:1@local"}, "p:1@local/party", "p:1@local/party"),
    ({"job": "j:1@local", "party": "p:1@local"}, "p:1@local/party", "p:1@local/party"),
    ({"party": "p:1@local", "party_task": "pt:1@docker"}, "pt:1@docker/party-task", "p:1@local/party"),
    (
        {"job": "j:1@local", "task": "t:1@local", "party": "p:1@local", "party_task": "pt:1@local"},
        "pt:1@local/party-task",
        "p:1@local/party",
    ),
]


@pytest.mark.parametrize(("levels", "n0", "n1"), CASES, ids=[str(sorted(c[0])) for c in CASES])
def test_precedence(levels: dict[str, object], n0: str | None, n1: str | None) -> None:
    text = conf(**{k: v for k, v in levels.items() if k != "default"})  # type: ignore[arg-type]
    default = DEFAULT if levels.get("default") else None
    resolved = resolve_nodes(parse_job_conf(text, ME), default, ["n0", "n1"])
    shown = {node: f"{m.provider}/{m.level}" for node, m in resolved.items()}
    assert shown.get("n0") == n0
    assert shown.get("n1") == n1


@pytest.mark.parametrize(
    "parties",
    ["[{role: host, party_id: [9999]}]", "[{role: guest, party_id: [10000]}]", "[{role: guest, party_id: '1'}]"],
)
def test_party_entries_for_other_parties_do_not_apply(parties: str) -> None:
    parsed = parse_job_conf(conf(job="j:1@local", party="p:1@local", party_task="q:1@local", parties=parties), ME)
    assert {n: m.level for n, m in resolve_nodes(parsed, None, ["n0"]).items()} == {"n0": "job"}
    assert set(applicable_mentions(parsed, None)) == {"dag.conf.task.provider"}


def test_a_deployment_without_party_identity_applies_no_party_entry() -> None:
    parsed = parse_job_conf(conf(party="p:1@local"), Party())
    assert resolve_nodes(parsed, None, ["n0"]) == {}


def test_party_id_matches_as_text_or_number() -> None:
    parsed = parse_job_conf(conf(party="p:1@local", parties="[{role: guest, party_id: '9999'}]"), ME)
    assert resolve_nodes(parsed, None, ["n0"])["n0"].level == "party"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("dag:\n  task:\n    provider: fate:1@local\n", "dag.task is not a job-conf field"),
        ("dag:\n  conf:\n    task:\n      provider: fate\n", "not of the form name:version@device"),
        ("dag:\n  conf:\n    task:\n      provider: fate:1@spark\n", "device 'spark' is not supported"),
        ("dag:\n  conf:\n    task:\n      providr: fate:1@local\n", "dag.conf.task.providr is not a job-conf field"),
        ("dag: [1, 2]\n", "dag must be a mapping"),
        ("dag:\n  conf: {task: {provider: 3}}\n", "must be a string"),
        ("dag: {party_tasks: {x: {conf: {provider: a:1@local}}}}\n", "parties must be a non-empty list"),
        ("dag: {\n", "not valid YAML or JSON"),
        ("other: 1\n", "the document.other is not a job-conf field"),
    ],
)
def test_malformed_documents_are_refused_with_their_path(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message.replace("[", r"\[").replace(".", r"\.")):
        parse_job_conf(text, ME)


def test_the_level_of_a_malformed_provider_is_named() -> None:
    with pytest.raises(InvalidArgument, match=r"at party-task level, dag\.party_tasks\.site\.tasks\.n0"):
        parse_job_conf(conf(party_task="broken"), ME)


def test_nodes_that_are_not_task_nodes_are_refused() -> None:
    parsed = parse_job_conf(conf(task="t:1@local"), ME)
    with pytest.raises(InvalidArgument, match=r"node\(s\) n0 \(dag\.tasks\.n0\) that are not task nodes"):
        resolve_nodes(parsed, None, ["n1"])


def test_a_child_execution_ignores_node_names_of_its_parent() -> None:
    parsed = parse_job_conf(conf(job="a:1@local", task="b:1@local"), ME)
    resolved = resolve_nodes(parsed, None, ["n1"], strict=False)
    assert {n: m.level for n, m in resolved.items()} == {"n1": "job"}


def test_two_applicable_party_entries_must_agree() -> None:
    text = (
        "dag:\n  party_tasks:\n"
        "    a: {parties: [{role: guest, party_id: [9999]}], conf: {provider: a:1@local}}\n"
        "    b: {parties: [{role: guest, party_id: [9999]}], conf: {provider: b:1@local}}\n"
    )
    with pytest.raises(InvalidArgument, match="both apply to this party at the same level"):
        parse_job_conf(text, ME)


def test_json_is_accepted() -> None:
    parsed = parse_job_conf('{"dag": {"conf": {"task": {"provider": "fate:2.0.1@local"}}}}', ME)
    assert parsed.job is not None and parsed.job.provider == "fate:2.0.1@local"

"""The job configuration document and the provider it gives each task node (pure: no I/O).

The document is YAML (or JSON) attached to an execution as the annotation ``aerodrome/job-conf``
(``aerodrome launch --job-conf FILE`` sets it). Four levels name a provider; for each node the most
specific level that sets one wins, lowest first:

=========== ========================================================== =================================
level       path                                                       applies to
=========== ========================================================== =================================
default     matchable attribute of the project-domain                  every node
job         ``dag.conf.task.provider``                                 every node
task        ``dag.tasks.<node>.conf.provider``                         that node
party       ``dag.party_tasks.<entry>.conf.provider``                  every node, on the entry's parties
party-task  ``dag.party_tasks.<entry>.tasks.<node>.conf.provider``     that node, on the entry's parties
=========== ========================================================== =================================

So a party-level provider beats a task-level one (FATE-Flow behaves so; its documentation orders the
levels differently). A party entry applies when its ``parties`` list holds this deployment's identity
(``role`` and ``party_id`` settings). Unknown keys are refused with their path, so a misspelt level is
an error rather than silently ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from aerodrome.errors import InvalidArgument
from aerodrome.managers.validation.providers import ProviderId

JOB_CONF_ANNOTATION = "aerodrome/job-conf"
DEFAULT_PROVIDER_ANNOTATION = "aerodrome/default-provider"
LEVELS = ("default", "job", "task", "party", "party-task")
MAX_DOCUMENT_BYTES = 256 * 1024
# libyaml's loader refuses absurd nesting at once; the pure-Python one took 15 s on 5,000 "[" before
# failing with RecursionError (found by tests/unit/managers/test_job_conf_fuzz.py).
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Party:
    """This deployment's party identity; empty means no party entry applies."""

    role: str = ""
    party_id: str = ""


@dataclass(frozen=True)
class Mention:
    """A provider named at one level, at one place of the document."""

    provider: str
    level: str
    where: str

    def checked(self) -> ProviderId:
        try:
            return ProviderId.parse(self.provider)
        except InvalidArgument as exc:
            raise InvalidArgument(f"{exc} (at {self.level} level, {self.where})") from None


@dataclass
class JobConf:
    """The provider mentions of a parsed document, party entries already filtered for this party."""

    job: Mention | None = None
    tasks: dict[str, Mention] = field(default_factory=dict)
    party: Mention | None = None
    party_tasks: dict[str, Mention] = field(default_factory=dict)
    nodes_named: dict[str, str] = field(default_factory=dict)  # node -> where it was named

    def mentions(self) -> list[Mention]:
        found = [self.job, self.party, *self.tasks.values(), *self.party_tasks.values()]
        return [m for m in found if m is not None]


def _mapping(value: object, where: str, allowed: Iterable[str] | None = None) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidArgument(f"job conf: {where} must be a mapping")
    if allowed is not None:
        unknown = sorted(str(k) for k in value if k not in set(allowed))
        if unknown:
            hint = " (the job-level provider is dag.conf.task.provider)" if where == "dag" and "task" in unknown else ""
            raise InvalidArgument(
                f"job conf: {', '.join(f'{where}.{k}' for k in unknown)} is not a job-conf field; "
                f"{where} takes {', '.join(sorted(allowed))}{hint}"
            )
    return {str(k): v for k, v in value.items()}


def _provider(conf: object, where: str, level: str) -> Mention | None:
    section = _mapping(conf, where, ("provider",))
    value = section.get("provider")
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidArgument(f"job conf: {where}.provider must be a string name:version@device")
    mention = Mention(value, level, f"{where}.provider")
    mention.checked()
    return mention


def _tasks(value: object, where: str, level: str, named: dict[str, str]) -> dict[str, Mention]:
    found: dict[str, Mention] = {}
    for node, entry in _mapping(value, where).items():
        named.setdefault(node, f"{where}.{node}")
        mention = _provider(_mapping(entry, f"{where}.{node}", ("conf",)).get("conf"), f"{where}.{node}.conf", level)
        if mention is not None:
            found[node] = mention
    return found


def _applies(parties: object, where: str, me: Party) -> bool:
    if not isinstance(parties, list) or not parties:
        raise InvalidArgument(f"job conf: {where}.parties must be a non-empty list of {{role, party_id}}")
    hit = False
    for i, entry in enumerate(parties):
        item = _mapping(entry, f"{where}.parties[{i}]", ("role", "party_id"))
        role, ids = item.get("role"), item.get("party_id")
        if not isinstance(role, str) or not role:
            raise InvalidArgument(f"job conf: {where}.parties[{i}].role must be a non-empty string")
        id_list = ids if isinstance(ids, list) else [ids]
        if not id_list or any(not isinstance(p, str | int) or isinstance(p, bool) for p in id_list):
            raise InvalidArgument(f"job conf: {where}.parties[{i}].party_id must be an id or a list of ids")
        hit = hit or (bool(me.role) and role == me.role and me.party_id in {str(p) for p in id_list})
    return hit


def _merge(current: Mention | None, new: Mention | None) -> Mention | None:
    """Two entries that apply to this party must not disagree at the same level."""
    if new is None:
        return current
    if current is not None and current.provider != new.provider:
        raise InvalidArgument(
            f"job conf: {current.where} ({current.provider}) and {new.where} ({new.provider}) both apply to "
            "this party at the same level"
        )
    return current or new


def parse_job_conf(text: str, me: Party) -> JobConf:
    """Parse and check a document; party entries that do not apply to ``me`` are checked but not kept."""
    if len(text.encode()) > MAX_DOCUMENT_BYTES:
        raise InvalidArgument(f"job conf: the document exceeds {MAX_DOCUMENT_BYTES} bytes")
    try:
        document = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise InvalidArgument(f"job conf: not valid YAML or JSON ({str(exc).splitlines()[0]})") from None
    except RecursionError:
        raise InvalidArgument("job conf: the document is nested too deeply") from None
    dag = _mapping(_mapping(document, "the document", ("dag",)).get("dag"), "dag", ("conf", "tasks", "party_tasks"))
    conf = JobConf()
    task_conf = _mapping(dag.get("conf"), "dag.conf", ("task",)).get("task")
    conf.job = _provider(task_conf, "dag.conf.task", "job")
    conf.tasks = _tasks(dag.get("tasks"), "dag.tasks", "task", conf.nodes_named)
    for entry_name, entry in _mapping(dag.get("party_tasks"), "dag.party_tasks").items():
        where = f"dag.party_tasks.{entry_name}"
        section = _mapping(entry, where, ("parties", "conf", "tasks"))
        applies = _applies(section.get("parties"), where, me)
        party = _provider(section.get("conf"), f"{where}.conf", "party")
        tasks = _tasks(section.get("tasks"), f"{where}.tasks", "party-task", conf.nodes_named)
        if applies:
            conf.party = _merge(conf.party, party)
            for node, mention in tasks.items():
                conf.party_tasks[node] = _merge(conf.party_tasks.get(node), mention) or mention
    return conf


def resolve_nodes(
    conf: JobConf, default: Mention | None, task_nodes: Iterable[str], *, strict: bool = True
) -> dict[str, Mention]:
    """The winning mention per task node (nodes no level names are left out). ``strict``: naming a node the
    workflow does not have is an error (not for a launch-plan node's child, which inherits its parent's
    job conf, whose node names are the parent's)."""
    nodes = list(task_nodes)
    unknown = sorted(set(conf.nodes_named) - set(nodes))
    if unknown and strict:
        places = ", ".join(conf.nodes_named[n] for n in unknown)
        raise InvalidArgument(
            f"job conf names node(s) {', '.join(unknown)} ({places}) that are not task nodes of this workflow "
            f"(its task nodes: {', '.join(nodes) or 'none'})"
        )
    resolved: dict[str, Mention] = {}
    for node in nodes:
        chain = (default, conf.job, conf.tasks.get(node), conf.party, conf.party_tasks.get(node))
        winner = next((m for m in reversed(chain) if m is not None), None)
        if winner is not None:
            resolved[node] = winner
    return resolved


def applicable_mentions(conf: JobConf, default: Mention | None) -> Mapping[str, Mention]:
    """Every mention that applies here, keyed by where it is (all of them must name registered providers)."""
    return {m.where: m for m in ([default] if default else []) + conf.mentions()}

"""Branch nodes: pick a case from the node's inputs and run the chosen node under the branch.

The chosen node keeps its own id (``n0``) nested under the branch (``n2-0-n0``), and its bindings may
read any node of the enclosing graph, so it runs in a copy of the enclosing frame with a nested scope.
The branch's outputs are the chosen node's.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from aerodrome.engine.active import Failed, Outcome, Succeeded
from aerodrome.engine.conditions import ConditionError, choose
from aerodrome.engine.events import error
from aerodrome.engine.plan import planned

if TYPE_CHECKING:
    from aerodrome.engine.context import NodeContext
    from aerodrome.engine.frames import Job


async def run_branch(g: NodeContext, job: Job) -> Outcome:
    try:
        chosen = choose(job.node.node.branch_node, job.inputs.literals)
    except ConditionError as exc:
        return await g.fail(job, error(exc.code, str(exc), user=True))
    nested = replace(job.frame, scope=job.frame.scope.nested(job.unique, 0))
    outcome = await g.run_node(nested, planned(chosen, job.run.catalog))
    if isinstance(outcome, Failed):
        return await g.fail(job, outcome.error)
    return await g.succeed(job, outcome.output_uri if isinstance(outcome, Succeeded) else "")

"""Lists on every console page: the API's filter grammar, sort and page token, read from the query string.

Simple controls (phase, launch plan, label, since) are turned into the same ``filters`` expressions the API
takes, joined with whatever the user typed into the raw filter box, so a list URL is a stable, pasteable
query that ListExecutions (or ListWorkflows, …) would answer the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from flyteidl.admin import common_pb2
from starlette.requests import Request

PAGE = 25
SINCE = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}


@dataclass(frozen=True)
class Query:
    filters: str
    sort_key: str
    ascending: bool
    token: str
    limit: int
    params: dict[str, str]

    def sort(self) -> common_pb2.Sort:
        direction = common_pb2.Sort.ASCENDING if self.ascending else common_pb2.Sort.DESCENDING
        return common_pb2.Sort(key=self.sort_key, direction=direction)

    def link(self, **changes: str) -> str:
        """This list's URL with some parameters changed (empty values dropped)."""
        merged = {**self.params, **changes}
        return "?" + urlencode({k: v for k, v in merged.items() if v})

    def sort_link(self, key: str) -> str:
        flip = "asc" if self.sort_key == key and not self.ascending else "desc"
        return self.link(sort=key, order=flip, token="")


def read(request: Request, default_sort: str, *, execution_filters: bool = False) -> Query:
    q = request.query_params
    params = {k: q.get(k, "") for k in ("phase", "launch_plan", "label", "since", "filters", "sort", "order", "token")}
    parts: list[str] = []
    if execution_filters:
        if params["phase"]:
            parts.append(f"eq(phase,{params['phase']})")
        if params["launch_plan"]:
            parts.append(f"eq(launch_plan.name,{params['launch_plan']})")
        if params["label"]:
            key, _, value = params["label"].partition("=")
            parts.append(f"eq(execution_tag.key,{key})")
            if value:
                parts.append(f"eq(execution_tag.value,{value})")
        if params["since"] in SINCE:
            moment = datetime.now(UTC) - SINCE[params["since"]]
            parts.append(f"gte(execution_created_at,{moment.strftime('%Y-%m-%dT%H:%M:%SZ')})")
    if params["filters"].strip():
        parts.append(params["filters"].strip())
    try:
        limit = max(1, min(200, int(q.get("limit", PAGE))))
    except ValueError:
        limit = PAGE
    return Query(
        "+".join(parts), params["sort"] or default_sort, params["order"] == "asc", params["token"], limit, params
    )

"""The web console in a real Chromium: the journeys a Flyte user takes, against one real server (SQLite).

Each journey starts from what a user has (the URL ``pyflyte run --remote`` prints, a launch plan page)
and checks what they see, without reloading where the page must update by itself. Screenshots of each
page land in ``test-artifacts/console/``.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from flytekit.models.core.execution import WorkflowExecutionPhase
from flytekit.remote import FlyteRemote
from playwright.sync_api import Browser, Page, expect

from tests.integration.conftest import Server, start_server, stop_server
from tests.support.browser import artifacts_dir, chromium, chromium_available
from tests.support.clients import flyte_remote
from tests.support.projects import PYFLYTE, register_project

pytestmark = [
    pytest.mark.slow,
    # Under CI (.ci/run installs chromium) a missing browser is a failure, not a skip.
    pytest.mark.skipif(
        not chromium_available() and not os.environ.get("CI"),
        reason="Debian's chromium is not installed (.ci/run installs it)",
    ),
]
PROJECT_DIR = Path(__file__).parent / "projects" / "console_app"
WF = "workflows.flows"
CONSOLE_URL = re.compile(r"Go to (\S+/console/projects/\S+/executions/\S+) to see execution")
TIMEOUT = 90_000  # ms: a task attempt starts a process; the machine is shared


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str, Path]]:
    """One SQLite server for the whole module with the console test project registered."""
    home = tmp_path_factory.mktemp("console-browser")
    server = start_server(home, "", "sqlite")
    try:
        scratch = tmp_path_factory.mktemp("console_app")
        version = register_project(server, PROJECT_DIR, scratch)
        yield server, version, scratch / "app"
    finally:
        stop_server(server)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    p = context.new_page()
    p.set_default_timeout(TIMEOUT)
    expect.set_options(timeout=TIMEOUT)
    yield p
    context.close()


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(artifacts_dir() / f"{name}.png"), full_page=True)


def start(remote: FlyteRemote, version: str, name: str, inputs: dict[str, Any]) -> Any:
    lp = remote.fetch_launch_plan(name=f"{WF}.{name}", version=version)
    return remote.execute(lp, inputs=inputs)


def finish(remote: FlyteRemote, execution: Any) -> Any:
    return remote.wait(execution, timeout=timedelta(seconds=120), poll_interval=timedelta(seconds=0.5))


def base(server: Server) -> str:
    return f"{server.http}/console/projects/flytesnacks/domains/development"


def mark_page(page: Page) -> None:
    """A marker that survives only as long as the document: a reload or navigation removes it."""
    page.evaluate("window.__sameDocument = true")


def same_document(page: Page) -> bool:
    return bool(page.evaluate("window.__sameDocument === true"))


def test_url_printed_by_pyflyte_run_opens_a_live_execution(app: tuple[Server, str, Path], page: Page) -> None:
    server, _, root = app
    result = subprocess.run(
        [
            PYFLYTE,
            "-c",
            str(server.config),
            "run",
            "--remote",
            "--project",
            "flytesnacks",
            "--domain",
            "development",
            "workflows/flows.py",
            "three_steps",
            "--x",
            "4",
        ],
        cwd=root,
        env=server.env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    match = CONSOLE_URL.search(result.stdout.replace("\n", " "))
    assert match, result.stdout
    url = match.group(1)
    assert url.startswith(f"{server.http}/console/projects/flytesnacks/domains/development/executions/")
    page.goto(url)
    header = page.locator('[data-part="header"] h1 .badge')
    expect(header).not_to_have_text(re.compile("SUCCEEDED"), timeout=5_000)  # seen while it is still going
    mark_page(page)
    shot(page, "execution-running")
    expect(header).to_have_text(re.compile("SUCCEEDED"))
    assert same_document(page), "the page reloaded instead of updating in place"
    for node_id in ("n0", "n1", "n2"):
        expect(page.locator(f'[data-node-row="{node_id}"] .badge')).to_have_text(re.compile("SUCCEEDED"))
        expect(page.locator(f'svg.dag g[data-node="{node_id}"]')).to_have_class(re.compile("tone-ok"))
    expect(page.locator('[data-part="outputs"]')).to_contain_text("7")
    expect(page.locator(".gantt-row")).to_have_count(3)
    shot(page, "execution-succeeded")
    page.locator('svg.dag a[aria-label^="node n1"]').click()  # the graph's boxes lead to the node pages
    expect(page.locator("h1")).to_contain_text("n1")
    expect(page.locator(".io")).to_contain_text("6")  # step(5) = 6


def test_failed_node_shows_its_error_and_log(app: tuple[Server, str, Path], page: Page) -> None:
    server, version, _ = app
    remote = flyte_remote(server.grpc)
    done = finish(remote, start(remote, version, "broken", {"x": 7}))
    assert done.closure.phase == WorkflowExecutionPhase.FAILED
    page.goto(f"{base(server)}/executions/{done.id.name}")
    expect(page.locator(".error-box")).to_contain_text("cannot handle 8")  # step adds one
    page.locator('[data-node-row="n1"] a', has_text="n1").click()
    expect(page.locator("h1")).to_contain_text("n1")
    expect(page.locator(".error-box")).to_contain_text("ValueError")
    expect(page.locator("pre.log-tail")).to_contain_text("about to fail on 8")  # the log's end, inline
    shot(page, "node-failed")
    page.get_by_role("link", name="log", exact=True).first.click()
    log = page.locator("pre.log")
    expect(log).to_contain_text("about to fail on 8 <b>not bold</b>")  # the markup is text, not a bold element
    assert page.locator("pre.log b").count() == 0
    shot(page, "task-log")


def test_launch_from_the_form_with_typed_inputs(app: tuple[Server, str, Path], page: Page) -> None:
    server, version, _ = app
    page.goto(f"{base(server)}/launch_plans/{WF}.typed/versions/{version}/launch")
    expect(page.locator("#in-ratio")).to_have_value("0.5")  # defaults filled in
    expect(page.locator("#in-items")).to_have_value("[1, 2]")
    page.fill("#in-text", "<script>window.__pwned = 1</script>")
    page.fill("#in-n", "twenty")
    page.click("button[type=submit]")
    expect(page.locator("#err-n")).to_have_text("must be a whole number")  # shown before anything is sent
    assert "/launch" in page.url
    page.fill("#in-n", "21")
    page.fill("#in-items", "[1, 2, 3, 4]")
    page.check("#in-flag")
    shot(page, "launch-form")
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/executions/[a-z0-9]+$"))
    mark_page(page)
    expect(page.locator('[data-part="header"] h1 .badge')).to_have_text(re.compile("SUCCEEDED"))
    assert same_document(page)
    expect(page.locator('[data-part="outputs"]')).to_contain_text(
        "<script>window.__pwned = 1</script>|42|0.5|True|2026|10"
    )
    expect(page.locator(".io")).to_contain_text("<script>window.__pwned = 1</script>")
    assert page.evaluate("window.__pwned") is None
    shot(page, "launched-execution")


def test_form_with_a_wrong_value_is_shown_again_with_the_message(app: tuple[Server, str, Path]) -> None:
    server, version, _ = app
    url = f"{base(server)}/launch_plans/{WF}.typed/versions/{version}/launch"
    response = httpx.post(url, data={"text": "x", "n": "1.5", "items": "[1, oops]"}, timeout=30)
    assert response.status_code == 400
    assert re.search(r'id="err-n"[^>]*>[^<]*not an integer', response.text)
    assert re.search(r'id="err-items"[^>]*>not valid JSON', response.text)
    assert 'value="1.5"' in response.text  # what the user typed is kept


def test_approve_a_gate(app: tuple[Server, str, Path], page: Page) -> None:
    server, version, _ = app
    remote = flyte_remote(server.grpc)
    execution = start(remote, version, "gated", {"x": 3})
    page.goto(f"{base(server)}/executions/{execution.id.name}")
    mark_page(page)
    approve = page.get_by_role("button", name="Approve")
    expect(approve).to_be_visible()  # appears live once the gate waits
    shot(page, "gate-waiting")
    approve.click()
    expect(page.locator('[data-part="header"] h1 .badge')).to_have_text(re.compile("SUCCEEDED"))
    expect(page.locator('[data-part="outputs"]')).to_contain_text("approved 4")
    shot(page, "gate-approved")


def test_toggle_a_launch_plan(app: tuple[Server, str, Path], page: Page) -> None:
    server, version, _ = app
    page.goto(f"{base(server)}/launch_plans/nightly_three_steps/versions/{version}")
    expect(page.locator("#lp-state")).to_have_text("Inactive")
    expect(page.locator("main")).to_contain_text("every day at 02:30 UTC")
    page.get_by_role("switch").click()
    expect(page.locator("#lp-state")).to_have_text("Active")
    remote = flyte_remote(server.grpc)
    assert (
        remote.client.get_launch_plan(
            remote.fetch_launch_plan(name="nightly_three_steps", version=version).id
        ).closure.state
        == 1
    )
    shot(page, "launch-plan-active")
    page.get_by_role("switch").click()
    expect(page.locator("#lp-state")).to_have_text("Inactive")


def test_terminate_a_running_execution(app: tuple[Server, str, Path], page: Page) -> None:
    server, version, _ = app
    remote = flyte_remote(server.grpc)
    execution = start(remote, version, "slow", {"x": 1})
    page.goto(f"{base(server)}/executions/{execution.id.name}")
    expect(page.locator('[data-node-row="n0"] .badge')).to_have_text(re.compile("RUNNING"))
    page.fill("#cause", "no longer needed <i>really</i>")
    page.get_by_role("button", name="Terminate").click()
    mark_page(page)
    expect(page.locator('[data-part="header"] h1 .badge')).to_have_text(re.compile("ABORTED"))
    assert same_document(page)
    expect(page.locator('[data-part="header"]')).to_contain_text("no longer needed <i>really</i>")
    shot(page, "terminated")
    response = httpx.post(f"{base(server)}/executions/{execution.id.name}/terminate", data={"cause": "again"})
    assert response.status_code == 409 and "already terminated" in response.text


def test_pages_and_not_found(app: tuple[Server, str, Path], page: Page) -> None:
    server, version, _ = app
    for name, url in {
        "projects": f"{server.http}/console",
        "dashboard": base(server),
        "executions": f"{base(server)}/executions?phase=SUCCEEDED",
        "workflows": f"{base(server)}/workflows",
        "workflow": f"{base(server)}/workflows/{WF}.squares/versions/{version}",
        "task": f"{base(server)}/tasks/{WF}.describe/versions/{version}",
        "tasks": f"{base(server)}/tasks",
        "launch-plans": f"{base(server)}/launch_plans",
        "launch-plan-versions": f"{base(server)}/launch_plans/nightly_three_steps",
        "providers": f"{server.http}/console/providers",
        "products": f"{server.http}/console/products",
    }.items():
        page.goto(url)
        expect(page.locator("h1").first).to_be_visible()
        shot(page, name)
    page.goto(f"{base(server)}/workflows/{WF}.squares/versions/{version}")
    expect(page.locator("svg.dag g.kind-map")).to_have_count(1)
    page.goto(f"{base(server)}/workflows/{WF}.nested/versions/{version}")
    expect(page.locator("svg.dag g.kind-subworkflow")).to_have_count(1)
    expect(page.locator("svg.dag g.kind-branch")).to_have_count(1)
    expect(page.locator("details.sub svg.dag")).to_be_hidden()
    page.locator("details.sub summary").click()  # expands the subworkflow's own graph
    expect(page.locator("details.sub svg.dag")).to_be_visible()
    expect(page.locator("details.sub svg.dag g.kind-task")).to_have_count(2)
    shot(page, "workflow-nested")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: nothing may need sideways page scrolling
    page.goto(base(server))
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    shot(page, "dashboard-narrow")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{base(server)}/executions/doesnotexist")
    expect(page.locator("h1")).to_have_text("Not found")
    page.get_by_role("link", name="← Back").click()
    expect(page).to_have_url(base(server))
    shot(page, "not-found-back")

"""What ``pyflyte run --remote`` uploads from the user's machine, on the embedded local store and on
SeaweedFS (S3): files, directories of one file or several, dataclasses holding FlyteFile and
FlyteDirectory defaults; and decks, linked from the node and downloadable through FlyteRemote.

One server per store for the module; the S3 run skips when SeaweedFS is absent (and fails under CI).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flytekit.models.core.execution import WorkflowExecutionPhase

from tests.integration.conftest import Server, start_server, stop_server
from tests.support.clients import flyte_remote
from tests.support.projects import PYFLYTE
from tests.support.seaweed import seaweed, unique_prefix

PROJECT_DIR = Path(__file__).parent / "projects" / "user_uploads"


@pytest.fixture(scope="module", params=["local", "s3"])
def store_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp(f"aerodrome-uploads-{request.param}")
    if request.param == "local":
        srv = start_server(home, "", "local")
        try:
            yield srv
        finally:
            stop_server(srv)
        return
    with seaweed(tmp_path_factory.mktemp("seaweed")) as weed:
        srv = start_server(home, "", "s3", extra_env=weed.blob_env(unique_prefix()))
        try:
            yield srv
        finally:
            stop_server(srv)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The user's working directory: the script and the data next to it."""
    base = tmp_path_factory.mktemp("uploads-project")
    root = base / "project"
    root.mkdir()
    shutil.copy(PROJECT_DIR / "uploads.py", root / "uploads.py")
    # pyflyte is started as ../tools/pyflyte (as from a virtualenv beside the project): flytekit then packs
    # that script into the code tarball as ../tools/pyflyte, an entry outside the tarball's root.
    (base / "tools").mkdir()
    shutil.copy(PYFLYTE, base / "tools" / "pyflyte")
    (root / "data" / "single").mkdir(parents=True)
    (root / "data" / "single" / "00000").write_text("only file")
    (root / "data" / "several" / "nested").mkdir(parents=True)
    (root / "data" / "table").mkdir()
    for part in ("00000", "00001"):
        (root / "data" / "table" / part).write_bytes(b"PAR1 not really parquet")
    for name in ("a.txt", "b.txt"):
        (root / "data" / "several" / name).write_text(name)
    return root


def pyflyte_run(server: Server, project: Path, *args: str) -> dict[str, object]:
    """``pyflyte run --remote`` as a user types it; the finished execution's outputs (waited for here at a
    short poll interval: ``--wait`` polls every few tens of seconds)."""
    command = ["../tools/pyflyte", "-c", str(server.config), "run", "--remote", "uploads.py", *args]
    result = subprocess.run(command, cwd=project, env=server.env(), capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    match = re.search(r"/executions/(\w+)", output)
    assert match, output
    remote = flyte_remote(server.grpc)
    execution = remote.wait(
        remote.fetch_execution(name=match.group(1)),
        timeout=timedelta(seconds=240),
        poll_interval=timedelta(seconds=0.5),
    )
    assert execution.closure.phase == WorkflowExecutionPhase.SUCCEEDED, execution.closure.error
    return {"name": match.group(1), **execution.outputs}


def test_every_upload_path_and_a_deck(store_server: Server, project: Path) -> None:
    """One ``pyflyte run`` with a directory of several files, one of a single file, a file and a dataclass
    whose FlyteDirectory and FlyteFile defaults are uploaded; its deck task's deck is linked and served."""
    inputs = ["--several", "data/several", "--single", "data/single", "--f", "data/single/00000", "--sd", "data/table"]
    out = pyflyte_run(store_server, project, "everything", *inputs)
    assert out["o0"] == "a.txt,b.txt"
    assert out["o2"] == "only file"
    name = out["name"]
    remote = flyte_remote(store_server.grpc)
    execution = remote.sync_execution(remote.fetch_execution(name=str(name)), sync_nodes=True)
    if store_server.backend == "local":
        # A directory of one file comes back from flytekit as that file's URL. On S3 (as on a Flyte cluster)
        # flytekit then downloads the prefix "<file>/" and finds nothing; the embedded store gives the file.
        assert out["o1"] == "00000"
        assert out["o3"] == "00000|only file"
    else:
        assert out["o3"].endswith("|only file")  # type: ignore[union-attr]
    assert out["o4"] == "hello deck"
    assert out["o5"] == "00000,00001"  # a structured dataset's directory, uploaded as it is
    log = execution.node_executions["n0"].task_executions[0].closure.logs[0].uri
    if store_server.backend == "local":  # the tarball's ../tools/pyflyte entry was skipped, with a warning
        assert "skipped 1 code tarball entries outside its root: ../tools/pyflyte" in Path(log).read_text()
    assert execution.node_executions["n4"].closure.deck_uri.endswith("/0/deck.html")
    deck = remote.get(f"flyte://v1/flytesnacks/development/{name}/n4/d")  # how users read a deck
    html = deck if isinstance(deck, bytes) else deck.data.encode()  # type: ignore[union-attr]
    assert b"hello deck" in html

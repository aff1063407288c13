"""Warm processes per code version, driven for real: the module is imported once, in the code zygote, and
every attempt is still its own fork that starts from the pristine import; modules that do not import,
and the limit on how many live at once."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from flyteidl.core import literals_pb2

from aerodrome.engine.launchers.code_zygotes import DEFAULT_RESOLVER, CodeVersion, CodeZygote, CodeZygotes, code_version
from aerodrome.engine.launchers.warm import Forker, Zygote

MODULE = """
import os
from flytekit import task

with open(os.environ["IMPORTS"], "a") as out:
    out.write(f"{os.getpid()} {os.environ.get('FLYTE_INTERNAL_EXECUTION_ID', '')}\\n")
STATE = []

@task
def grow(x: int) -> int:
    STATE.append(x)
    return len(STATE) * 100 + x
"""


def command(code: Path, out: Path, module: str = "app") -> list[str]:
    return [
        "pyflyte-execute",
        "--inputs",
        str(code.parent / "inputs.pb"),
        "--output-prefix",
        str(out),
        "--raw-output-data-prefix",
        str(out / "raw"),
        "--resolver",
        DEFAULT_RESOLVER,
        "--",
        "task-module",
        module,
        "task-name",
        "grow",
    ]


def setup(tmp_path: Path, source: str = MODULE) -> tuple[Path, dict[str, str]]:
    code = tmp_path / "code"
    code.mkdir()
    (code / "app.py").write_text(source)
    inputs = literals_pb2.LiteralMap()
    inputs.literals["x"].scalar.primitive.integer = 7
    (tmp_path / "inputs.pb").write_bytes(inputs.SerializeToString())
    env = {"PYTHONPATH": str(code), "PATH": os.environ.get("PATH", ""), "IMPORTS": str(tmp_path / "imports")}
    return code, env


def output(out: Path) -> int:
    literals = literals_pb2.LiteralMap.FromString((out / "outputs.pb").read_bytes())
    return int(literals.literals["o0"].scalar.primitive.integer)


async def ready(pool: CodeZygotes, version: CodeVersion, env: dict[str, str]) -> CodeZygote:
    for _ in range(1200):  # the import takes seconds on a loaded machine
        zygote = pool.ready_for(version, env)
        if zygote is not None:
            return zygote
        await asyncio.sleep(0.1)
    raise AssertionError("the code zygote never became ready")


def test_only_fast_registered_pyflyte_execute_with_the_default_resolver_has_a_code_version(tmp_path: Path) -> None:
    args = command(tmp_path, tmp_path / "out")
    env = {"A": "1", "FLYTE_INTERNAL_EXECUTION_ID": "e1", "FLYTE_ATTEMPT_NUMBER": "0"}
    version = code_version(args, env, tmp_path)
    assert version is not None and version.module == "app" and version.env == (("A", "1"),)
    other_attempt = {**env, "FLYTE_INTERNAL_EXECUTION_ID": "e2", "FLYTE_ATTEMPT_NUMBER": "1"}
    assert code_version(args, other_attempt, tmp_path) == version
    assert code_version(args, {**env, "SECRET": "s"}, tmp_path) != version  # another environment, another one
    assert code_version(args, env, None) is None  # not fast-registered: its files may change
    other = [a if a != DEFAULT_RESOLVER else "my.resolver" for a in args]
    assert code_version(other, env, tmp_path) is None
    assert code_version(["pyflyte-map-execute", *args[1:]], env, tmp_path) is None


async def test_attempts_fork_from_one_import_and_start_clean(tmp_path: Path) -> None:
    code, env = setup(tmp_path)
    base = Zygote(sys.executable, tmp_path / "zygote.log")
    pool = CodeZygotes(base, limit=2)
    try:
        version = code_version(command(code, tmp_path), env, code)
        assert version is not None
        zygote = await ready(pool, version, {**env, "FLYTE_INTERNAL_EXECUTION_ID": "first"})
        for n in range(3):
            out = tmp_path / f"out{n}"
            attempt = {**env, "FLYTE_INTERNAL_EXECUTION_ID": f"e{n}"}
            ended, timed_out = await zygote.run(command(code, out), attempt, tmp_path, tmp_path / f"{n}.log", 60)
            assert (ended.exit_code, timed_out) == (0, False), (tmp_path / f"{n}.log").read_text()
            assert output(out) == 107  # STATE appended by an earlier attempt is not seen: each forks afresh
        imports = (tmp_path / "imports").read_text().split()
        assert imports == [str(zygote.pid), "first"]  # imported once, in the code zygote, with the first env
    finally:
        await pool.close()
        await base.close()


async def test_a_module_that_does_not_import_stays_with_plain_forks(tmp_path: Path) -> None:
    code, env = setup(tmp_path, "raise RuntimeError('broken at import')\n")
    base = Zygote(sys.executable, tmp_path / "zygote.log")
    pool = CodeZygotes(base, limit=2)
    try:
        version = code_version(command(code, tmp_path), env, code)
        assert version is not None
        assert pool.ready_for(version, env) is None and not pool._zygotes  # seen once: nothing started
        assert pool.ready_for(version, env) is None and version in pool._zygotes  # the second starts one
        for _ in range(1200):
            await asyncio.sleep(0.1)
            if version in pool._failed:
                break
        assert version in pool._failed and pool.ready_for(version, env) is None
        assert "broken at import" in (tmp_path / "zygote.log").read_text()
        ended, _ = await base.run(command(code, tmp_path / "out"), env, tmp_path, tmp_path / "t.log", 60)
        assert ended.exit_code == 0 and (tmp_path / "out" / "error.pb").exists()  # flytekit reports it as before
    finally:
        await pool.close()
        await base.close()


async def test_the_least_recently_used_idle_one_makes_room(tmp_path: Path) -> None:
    code, env = setup(tmp_path)
    base = Zygote(sys.executable, tmp_path / "zygote.log")
    pool = CodeZygotes(base, limit=1)
    try:
        first = code_version(command(code, tmp_path), env, code)
        second = code_version(command(code, tmp_path), {**env, "OTHER": "1"}, code)
        assert first is not None and second is not None
        old = await ready(pool, first, env)
        assert isinstance(old, Forker)
        new = await ready(pool, second, {**env, "OTHER": "1"})
        assert new is not old and list(pool._zygotes) == [second]
        await asyncio.gather(*pool._closing)
        assert not Path(f"/proc/{old.pid}").exists() or "Z" in Path(f"/proc/{old.pid}/stat").read_text().split()[2]
    finally:
        await pool.close()
        await base.close()

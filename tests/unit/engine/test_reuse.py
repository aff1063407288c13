"""Reused task processes, driven for real through the zygote: a child whose attempt carried a reuse key and
left nothing behind runs the next attempt of that key (no fork), in that attempt's directory and
environment; anything else (another key, no key, a process left running, a thread, os._exit, a leak, an
error instead of outputs) gets a fresh fork."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from flyteidl.core import literals_pb2

from aerodrome.engine.launchers.code_zygotes import DEFAULT_RESOLVER
from aerodrome.engine.launchers.reuse import IDLE
from aerodrome.engine.launchers.warm import Zygote

MODULE = """
import os, subprocess, threading, time
from flytekit import task

HOARD = []

@task
def probe(x: int) -> int:
    left = os.environ.get("LEFT_BEHIND", "")
    with open(os.environ["PROBE_OUT"], "w") as out:
        leader = os.getpgid(0) == os.getpid()
        out.write(f"{os.getpid()} {os.getcwd()} {left or '-'} {os.environ['ONLY_THIS_ATTEMPT']} {leader}")
    os.environ["LEFT_BEHIND"] = "yes"
    os.chdir("/")
    hazard = os.environ.get("HAZARD", "")
    if hazard == "process":
        subprocess.Popen(["sleep", "30"])
    if hazard == "thread":
        threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
    if hazard == "leak":
        HOARD.append(bytearray(100 * 2**20))
        HOARD[-1][:: 4096] = b"x" * len(HOARD[-1][:: 4096])
    if hazard == "exit":
        os._exit(0)
    if hazard == "fail":
        raise ValueError("a user error: error.pb, not outputs")
    return x + 1
"""


def setup(tmp_path: Path) -> tuple[list[str], dict[str, str]]:
    """The probe's module and inputs (once), and the command that runs it."""
    code = tmp_path / "code"
    code.mkdir(exist_ok=True)
    (code / "reused.py").write_text(MODULE)
    inputs = literals_pb2.LiteralMap()
    inputs.literals["x"].scalar.primitive.integer = 1
    (tmp_path / "inputs.pb").write_bytes(inputs.SerializeToString())
    argv = ["pyflyte-execute", "--inputs", str(tmp_path / "inputs.pb"), "--output-prefix", ""]
    argv += ["--raw-output-data-prefix", "", "--resolver", DEFAULT_RESOLVER, "--"]
    argv += ["task-module", "reused", "task-name", "probe"]
    return argv, {"PYTHONPATH": str(code), "PATH": os.environ.get("PATH", "")}


async def attempt(
    zygote: Zygote, tmp_path: Path, name: str, key: str, hazard: str = ""
) -> tuple[int, str, str, str, str]:
    """One attempt in its own directory; what the task saw: pid, directory, leftover, variable, leader."""
    argv, env = setup(tmp_path)
    workdir = tmp_path / name
    workdir.mkdir()
    argv[argv.index("--output-prefix") + 1] = str(workdir / "out")
    argv[argv.index("--raw-output-data-prefix") + 1] = str(workdir / "raw")
    env = {**env, "PROBE_OUT": str(workdir / "probe"), "ONLY_THIS_ATTEMPT": name, "HAZARD": hazard}
    ended, timed_out = await zygote.run(argv, env, workdir, workdir / "task.log", None, {"reuse": key})
    assert ended.exit_code == 0 and not timed_out, (workdir / "task.log").read_text()
    assert hazard in ("exit", "fail") or (workdir / "out" / "outputs.pb").exists(), (workdir / "task.log").read_text()
    pid, cwd, left, variable, leader = (workdir / "probe").read_text().split()
    return int(pid), cwd, left, variable, leader


async def test_a_clean_process_runs_the_next_attempt_of_its_key_in_that_attempts_directory(tmp_path: Path) -> None:
    zygote = Zygote(sys.executable, tmp_path / "zygote.log")
    try:
        first = await attempt(zygote, tmp_path, "a", "k1")
        second = await attempt(zygote, tmp_path, "b", "k1")
        assert second[0] == first[0], "the second attempt of the key was forked anew"
        assert second[1:] == (str(tmp_path / "b"), "-", "b", "True")  # its directory, environment, own group
        other = await attempt(zygote, tmp_path, "c", "k2")
        assert other[0] != first[0], "another key's attempt ran in the process"
        unkeyed = await attempt(zygote, tmp_path, "d", "")
        again = await attempt(zygote, tmp_path, "e", "")
        assert len({first[0], other[0], unkeyed[0], again[0]}) == 4, "an attempt without a key was reused"
    finally:
        await zygote.close()


async def test_a_process_that_leaves_something_behind_is_not_reused(tmp_path: Path) -> None:
    zygote = Zygote(sys.executable, tmp_path / "zygote.log")
    try:
        for hazard in ("process", "thread", "leak", "exit", "fail"):
            key = f"key-{hazard}"
            first = await attempt(zygote, tmp_path, f"{hazard}-1", key, hazard)
            second = await attempt(zygote, tmp_path, f"{hazard}-2", key)
            assert second[0] != first[0], f"a process that left a {hazard} behind ran the next attempt"
            assert second[2] == "-"
    finally:
        await zygote.close()


async def test_idle_processes_are_bounded_the_oldest_let_go_first(tmp_path: Path) -> None:
    """An execution that has ended never asks for its key again: past ``IDLE`` idle processes, the oldest
    one's request pipe is closed and it exits."""
    zygote = Zygote(sys.executable, tmp_path / "zygote.log")
    try:
        pids = [(await attempt(zygote, tmp_path, f"k{i}", f"key-{i}"))[0] for i in range(IDLE + 1)]
        for _ in range(100):
            if not Path(f"/proc/{pids[0]}").exists():
                break
            await asyncio.sleep(0.1)
        assert not Path(f"/proc/{pids[0]}").exists(), "the oldest idle process outlived the bound"
        assert all(Path(f"/proc/{pid}").exists() for pid in pids[1:])
        assert (await attempt(zygote, tmp_path, "again", f"key-{IDLE}"))[0] == pids[-1]
    finally:
        await zygote.close()

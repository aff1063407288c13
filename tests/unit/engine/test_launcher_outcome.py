"""The outcome of a finished attempt: an outputs file that lacks the task's outputs (a task that could not
write it whole, e.g. on a full disk) is a retryable system failure, not a success whose outputs are then
missing downstream (the disk-full fault test found such nodes SUCCEEDED and their consumers failing)."""

from __future__ import annotations

from pathlib import Path

from flyteidl.core import identifier_pb2, interface_pb2, literals_pb2, tasks_pb2, types_pb2

from aerodrome.blobstore.store import LocalStore
from aerodrome.engine.launchers.attempts import Attempt
from aerodrome.engine.launchers.outcomes import outcome as read_outcome


def attempt(tmp_path: Path) -> Attempt:
    integer = interface_pb2.Variable(type=types_pb2.LiteralType(simple=types_pb2.INTEGER))
    task = tasks_pb2.TaskTemplate(
        interface=interface_pb2.TypedInterface(outputs=interface_pb2.VariableMap(variables={"o0": integer}))
    )
    prefix = str(tmp_path / "blobs" / "n0" / "0")
    Path(prefix).mkdir(parents=True)
    return Attempt(
        execution=identifier_pb2.WorkflowExecutionIdentifier(project="p", domain="d", name="e"),
        node_id="n0",
        attempt=0,
        task=task,
        inputs_url="",
        output_prefix=prefix,
        raw_output_prefix=f"{prefix}/raw",
        workdir=tmp_path / "work",
    )


async def outcome(tmp_path: Path, outputs: bytes) -> object:
    spec = attempt(tmp_path)
    Path(spec.output_prefix, "outputs.pb").write_bytes(outputs)
    log = tmp_path / "task.log"
    log.write_text("OSError: [Errno 28] No space left on device\n")
    return await read_outcome(LocalStore(tmp_path / "blobs"), spec, False, 1, log, "", {})


async def test_an_empty_outputs_file_is_a_retryable_system_failure_with_the_log_tail(tmp_path: Path) -> None:
    result = await outcome(tmp_path, b"")
    assert not result.ok and result.retryable and result.system  # type: ignore[attr-defined]
    message = result.error.message  # type: ignore[attr-defined]
    assert "wrote incomplete outputs (missing o0)" in message and "No space left on device" in message


async def test_a_truncated_outputs_file_does_not_pass(tmp_path: Path) -> None:
    whole = literals_pb2.LiteralMap(
        literals={"o0": literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(integer=7)))}
    ).SerializeToString()
    result = await outcome(tmp_path, whole[: len(whole) // 2])
    assert not result.ok  # type: ignore[attr-defined]


async def test_complete_outputs_succeed(tmp_path: Path) -> None:
    whole = literals_pb2.LiteralMap(
        literals={"o0": literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(integer=7)))}
    ).SerializeToString()
    result = await outcome(tmp_path, whole)
    assert result.ok and result.outputs_url.endswith("outputs.pb")  # type: ignore[attr-defined]


async def test_the_outputs_read_at_the_end_are_handed_on(tmp_path: Path) -> None:
    """The outputs file is read once, with error.pb and futures.pb (one hop), and its contents go with the
    result, so the node's downstream does not read it again."""
    seven = literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(integer=7)))
    result = await outcome(tmp_path, literals_pb2.LiteralMap(literals={"o0": seven}).SerializeToString())
    assert result.ok and result.outputs.literals["o0"] == seven  # type: ignore[attr-defined]

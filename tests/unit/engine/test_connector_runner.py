"""The connector runner on its own: a task type no installed connector serves fails the attempt with the
supported task types listed; a sensor whose file exists succeeds with empty outputs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from flyteidl.core import errors_pb2, identifier_pb2, interface_pb2, literals_pb2, tasks_pb2, types_pb2
from google.protobuf import struct_pb2

from aerodrome.engine.launchers.local import CONNECTOR_RUNNER


def attempt(tmp_path: Path, template: tasks_pb2.TaskTemplate, inputs: literals_pb2.LiteralMap) -> Path:
    (tmp_path / "task.pb").write_bytes(template.SerializeToString())
    (tmp_path / "inputs.pb").write_bytes(inputs.SerializeToString())
    prefix = tmp_path / "out"
    prefix.mkdir()
    args = [sys.executable, str(CONNECTOR_RUNNER), str(tmp_path / "task.pb"), str(tmp_path / "inputs.pb"), str(prefix)]
    subprocess.run(args, check=True, timeout=120, capture_output=True)
    return prefix


def ident(name: str) -> identifier_pb2.Identifier:
    return identifier_pb2.Identifier(resource_type=identifier_pb2.TASK, project="p", domain="d", name=name, version="v")


def test_an_unknown_task_type_names_the_supported_ones(tmp_path: Path) -> None:
    template = tasks_pb2.TaskTemplate(id=ident("t"), type="no_such_connector")
    prefix = attempt(tmp_path, template, literals_pb2.LiteralMap())
    document = errors_pb2.ErrorDocument.FromString((prefix / "error.pb").read_bytes())
    assert document.error.code == "ConnectorNotFound"
    assert "'no_such_connector'" in document.error.message and "sensor" in document.error.message
    assert document.error.kind == errors_pb2.ContainerError.NON_RECOVERABLE


def test_a_file_sensor_whose_file_exists_succeeds(tmp_path: Path) -> None:
    target = tmp_path / "here.txt"
    target.write_text("x")
    custom = struct_pb2.Struct()
    custom.update({"sensor_module": "flytekit.sensor.file_sensor", "sensor_name": "FileSensor", "sensor_config": None})
    string = types_pb2.LiteralType(simple=types_pb2.STRING)
    template = tasks_pb2.TaskTemplate(
        id=ident("s"),
        type="sensor",
        custom=custom,
        interface=interface_pb2.TypedInterface(
            inputs=interface_pb2.VariableMap(variables={"path": interface_pb2.Variable(type=string)})
        ),
    )
    path = literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(string_value=str(target))))
    prefix = attempt(tmp_path, template, literals_pb2.LiteralMap(literals={"path": path}))
    assert literals_pb2.LiteralMap.FromString((prefix / "outputs.pb").read_bytes()) == literals_pb2.LiteralMap()

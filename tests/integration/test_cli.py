"""The `aerodrome` command as an operator uses it: start, ready line, config, clean shutdown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import yaml

from tests.integration.conftest import start_server


def test_start_prints_ready_line_and_stops_cleanly_on_sigint(tmp_path: Path) -> None:
    server = start_server(tmp_path / "home", "", "sqlite")
    try:
        assert server.grpc.startswith("127.0.0.1:")
        assert server.http.startswith("http://127.0.0.1:")
        assert (tmp_path / "home" / "aerodrome.db").exists()
    finally:
        os.kill(server.pid, signal.SIGINT)
        assert server.process.wait(timeout=20) == 0


def test_config_flytekit_writes_a_usable_file(tmp_path: Path) -> None:
    target = tmp_path / "flyte" / "config.yaml"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "aerodrome",
            "config",
            "flytekit",
            "--path",
            str(target),
            "--grpc-port",
            "9999",
            "--home",
            str(tmp_path / "home"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    config = yaml.safe_load(target.read_text())
    assert config["admin"] == {"endpoint": "dns:///127.0.0.1:9999", "insecure": True}
    assert config["console"]["endpoint"] == "http://127.0.0.1:8088"
    assert "authType" not in config["admin"]
    assert str(target) in result.stderr


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        port = sock.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "aerodrome",
                "start",
                "--http-port",
                str(port),
                "--grpc-port",
                "0",
                "--home",
                str(tmp_path),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert "could not start" in result.stderr
    assert "Traceback" not in result.stderr

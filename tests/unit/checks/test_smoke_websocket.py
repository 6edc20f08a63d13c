"""aurora smoke's websocket check against a tiny server on loopback: it sees the upgrade, and the
client ends the websocket with a proper close frame (a dropped connection makes some servers,
vertx-stomp among them, log an ERROR that the start-up log check would report)."""

from __future__ import annotations

import base64
import hashlib
import socket
import threading

from aurora.checks.smoke import websocket_upgrades

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def _server(answer_101: bool):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    seen: dict[str, bytes] = {}

    def serve():
        conn, _ = srv.accept()
        with conn:
            conn.settimeout(5)
            request = conn.recv(4096).decode("latin-1")
            seen["request"] = request.encode()
            if not answer_101:
                conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                return
            key = next(line.split(":", 1)[1].strip() for line in request.split("\r\n")
                       if line.lower().startswith("sec-websocket-key"))
            accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
            conn.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          f"Sec-WebSocket-Accept: {accept}\r\n\r\n").encode())
            frame = conn.recv(16)
            seen["frame"] = frame
            conn.sendall(b"\x88\x02\x03\xe8")  # the server's close frame, then hang up

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return srv, thread, seen


def test_upgrade_then_a_masked_close_frame():
    srv, thread, seen = _server(True)
    try:
        upgraded, status = websocket_upgrades(srv.getsockname()[1], "/api/web-socket/stomp")
        thread.join(5)
    finally:
        srv.close()
    assert upgraded and status == "HTTP/1.1 101 Switching Protocols"
    assert b"upgrade: websocket" in seen["request"].lower()
    frame = seen["frame"]
    assert frame[0] == 0x88 and frame[1] == 0x82  # FIN + close; masked, 2-byte payload
    mask, payload = frame[2:6], frame[6:8]
    assert int.from_bytes(bytes(b ^ mask[i] for i, b in enumerate(payload)), "big") == 1000


def test_no_upgrade_is_reported_with_the_status_line():
    srv, thread, seen = _server(False)
    try:
        upgraded, status = websocket_upgrades(srv.getsockname()[1], "/ws")
        thread.join(5)
    finally:
        srv.close()
    assert not upgraded and status == "HTTP/1.1 404 Not Found"


def test_a_failure_shows_the_start_of_the_log_and_its_end():
    from aurora.checks.smoke import log_excerpt

    logs = "\n".join(f"line {i}" for i in range(200))
    shown = log_excerpt(logs).splitlines()
    assert shown[:2] == ["line 0", "line 1"] and shown[24] == "line 24"
    assert shown[25] == "... (135 lines left out) ..." and shown[-1] == "line 199" and len(shown) == 66
    assert log_excerpt("a\nb") == "a\nb"

"""A loopback HTTP proxy in front of the test registry that misbehaves on demand.

Modes: "pass" (forward), "fail-first:N" (500 for the first N blob-upload requests, then
forward), "fail" (500 for every request after the /v2/ ping), "stall" (swallow blob uploads and
never answer), "cut" (read half of a blob upload, then drop the connection), "refuse-artifacts"
(400 for a manifest with an artifactType, as a registry without OCI 1.1 support answers).
"""

from __future__ import annotations

import http.client
import http.server
import socket
import threading

from tests.integration.conftest import free_port


def _read_body(handler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        out = b""
        while True:
            size = int(handler.rfile.readline().strip().split(b";")[0], 16)
            if size == 0:
                handler.rfile.readline()
                return out
            out += handler.rfile.read(size)
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


class FaultProxy:
    def __init__(self, upstream_port: int):
        self.upstream = upstream_port
        self.port = free_port()
        self.mode = "pass"
        self.failed = 0
        self.requests: list[str] = []
        self.release = threading.Event()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _blob_upload(self) -> bool:
                return "/blobs/uploads/" in self.path and self.command in ("PATCH", "PUT", "POST")

            def _handle(self):
                proxy.requests.append(f"{self.command} {self.path}")
                mode = proxy.mode
                if mode == "stall" and self.command == "PATCH" and "/blobs/uploads/" in self.path:
                    _read_body(self)
                    proxy.release.wait(120)
                    self.close_connection = True
                    return
                if mode == "cut" and self.command == "PATCH" and "/blobs/uploads/" in self.path:
                    length = int(self.headers.get("Content-Length") or 0)
                    self.rfile.read(max(1, length // 2)) if length else self.rfile.read1(65536)
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                body = _read_body(self)
                if mode == "refuse-artifacts" and self.command == "PUT" and "/manifests/" in self.path \
                        and b'"artifactType"' in body:
                    # A registry that does not take OCI 1.1 artifacts answers like this.
                    message = b'{"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid","detail":"artifactType is not supported"}]}'
                    self.send_response(400)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(message)))
                    self.end_headers()
                    self.wfile.write(message)
                    return
                fail = (mode == "fail" and self.path != "/v2/") or (
                    mode.startswith("fail-first:") and self._blob_upload() and proxy.failed < int(mode.split(":")[1]))
                if fail:
                    proxy.failed += 1
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream, timeout=60)
                headers: dict[str, str] = {}
                for k, v in self.headers.items():  # repeated headers (Accept) are joined, not lost
                    if k.lower() not in ("transfer-encoding", "content-length"):
                        headers[k] = f"{headers[k]}, {v}" if k in headers else v
                headers["Content-Length"] = str(len(body))
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("transfer-encoding", "content-length", "connection"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                conn.close()

            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _handle

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> FaultProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

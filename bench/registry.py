"""A throw-away local registry (Debian's docker-registry) on a loopback port, plain HTTP.

Bytes uploaded by a push are the blobs that are new in its storage folder afterwards:
compressed layers, the image config and the manifest (the registry keeps manifests as blobs).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


ACCESS = re.compile(r'"(GET|HEAD|PUT|POST|PATCH) (\S+) HTTP/[\d.]+" (\d{3}) (\d+|-)')
BLOB_PATH = re.compile(r"^/v2/(.+)/blobs/(sha256:[0-9a-f]{64})$")


def downloads(log_text: str) -> list[tuple[str, str, int]]:
    """(repository, digest, bytes) of each successful blob GET in a docker-registry access log
    (Apache combined format: the response body's size); manifests and HEADs are not counted."""
    out = []
    for m in ACCESS.finditer(log_text):
        method, path, status, size = m.groups()
        blob = BLOB_PATH.match(path.split("?", 1)[0])
        if method == "GET" and blob and status.startswith("2") and size != "-":
            out.append((blob.group(1), blob.group(2), int(size)))
    return out


class Registry:
    def __init__(self, root: Path, accesslog: bool = False) -> None:
        self.root = root
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.accesslog = accesslog  # log every request (to registry.log), for the bytes downloaded

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def blob_dir(self) -> Path:
        return self.root / "data" / "docker" / "registry" / "v2" / "blobs" / "sha256"

    def config_text(self) -> str:
        return "\n".join([
            "version: 0.1",
            "log:", "  level: warn", "  accesslog:", f"    disabled: {'false' if self.accesslog else 'true'}",
            "storage:", "  filesystem:", f"    rootdirectory: {self.root / 'data'}",
            "http:", f"  addr: {self.host}", "",
        ])

    def start(self) -> Registry:
        self.root.mkdir(parents=True, exist_ok=True)
        config = self.root / "config.yml"
        config.write_text(self.config_text())
        log = open(self.root / "registry.log", "ab")
        try:
            self.proc = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=log, stderr=log,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        finally:
            log.close()
        end = time.monotonic() + 20
        while time.monotonic() < end:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            if self.proc.poll() is not None:
                raise RuntimeError("docker-registry exited: "
                                   + (self.root / "registry.log").read_text(errors="replace")[-2000:])
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("docker-registry did not start within 20 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            except ProcessLookupError:
                pass
        self.proc = None

    def log_size(self) -> int:
        log = self.root / "registry.log"
        return log.stat().st_size if log.is_file() else 0

    def downloaded(self, since: int = 0) -> dict[str, int]:
        """Blob bytes served by GET since ``since`` (a ``log_size()``): all blobs, and layer
        blobs (those stored compressed: gzip or zstd; configs and JSON records are not layers)."""
        log = self.root / "registry.log"
        if not self.accesslog or not log.is_file():
            return {"blob_bytes": 0, "layer_bytes": 0, "blobs": 0}
        with open(log, "rb") as f:
            f.seek(since)
            text = f.read().decode("utf-8", "replace")
        got = downloads(text)
        return {"blob_bytes": sum(n for _, _, n in got), "layer_bytes": sum(n for _, d, n in got if self.is_layer(d)),
                "blobs": len(got)}

    def is_layer(self, digest: str) -> bool:
        path = self.blob_dir / digest.removeprefix("sha256:")[:2] / digest.removeprefix("sha256:") / "data"
        try:
            with open(path, "rb") as f:
                head = f.read(4)
        except OSError:
            return True  # not stored any more: count it (the conservative side)
        return head[:2] == b"\x1f\x8b" or head == b"\x28\xb5\x2f\xfd"

    def blobs(self) -> dict[str, int]:
        """digest → size of every blob stored."""
        out = {}
        if self.blob_dir.is_dir():
            for data in self.blob_dir.glob("*/*/data"):
                out["sha256:" + data.parent.name] = data.stat().st_size
        return out

    def read_json_blob(self, digest: str) -> dict:
        hexd = digest.removeprefix("sha256:")
        return json.loads((self.blob_dir / hexd[:2] / hexd / "data").read_bytes())

    def tag_digest(self, repo: str, tag: str) -> str:
        """The manifest digest a tag points at (the registry's own link file)."""
        link = self.root / "data" / "docker" / "registry" / "v2" / "repositories" / repo / "_manifests" / "tags" / tag / "current" / "link"
        return link.read_text().strip()

    def uncompressed_size(self, digest: str) -> int:
        """Bytes of a layer blob once gunzipped (an uncompressed blob: its own size); cached."""
        cache = self.__dict__.setdefault("_sizes", {})
        if digest not in cache:
            path = self.blob_dir / digest.removeprefix("sha256:")[:2] / digest.removeprefix("sha256:") / "data"
            with open(path, "rb") as f:
                gz = f.read(2) == b"\x1f\x8b"
            if gz:
                n = 0
                with gzip.open(path, "rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        n += len(chunk)
                cache[digest] = n
            else:
                cache[digest] = path.stat().st_size
        return cache[digest]

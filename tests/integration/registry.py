"""A real registry for tests: Debian's docker-registry (CNCF distribution) on loopback.

Plain HTTP, TLS with a CA made here, htpasswd basic auth, or read-only. Its access log is kept, and
``blobs()`` lists what it stores, so tests can see exactly what a push sent.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.integration.conftest import free_port, sh


def make_ca_and_cert(folder: Path, address: str = "127.0.0.1") -> tuple[Path, Path, Path]:
    """A CA, and a server certificate for ``address`` signed by it (openssl)."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, ca_crt = folder / "ca.key", folder / "ca.crt"
    key, csr, crt = folder / "server.key", folder / "server.csr", folder / "server.crt"
    sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=aurora test CA",
       "-keyout", str(ca_key), "-out", str(ca_crt))
    sh("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={address}", "-keyout", str(key), "-out", str(csr))
    ext = folder / "san.ext"
    ext.write_text(f"subjectAltName=IP:{address}\n")
    sh("openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca_crt), "-CAkey", str(ca_key), "-CAcreateserial",
       "-days", "2", "-extfile", str(ext), "-out", str(crt))
    return ca_crt, crt, key


@dataclass
class Registry:
    root: Path
    tls: bool = False
    users: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    ca: Path | None = None
    readonly: bool = False  # serves pulls, refuses every push (distribution's maintenance mode)
    # Where it listens: loopback, or an address of this machine others reach it on (the kube
    # node's bridge, for Pods).
    address: str = "127.0.0.1"

    @property
    def host(self) -> str:
        return f"{self.address}:{self.port}"

    @property
    def log(self) -> Path:
        return self.root / "registry.log"

    def config(self) -> Path:
        lines = [
            "version: 0.1",
            "log:", "  level: info", "  accesslog:", "    disabled: false",
            "storage:", "  filesystem:", f"    rootdirectory: {self.root / 'data'}", "  delete:", "    enabled: true",
        ]
        if self.readonly:
            lines += ["  maintenance:", "    readonly:", "      enabled: true"]
        lines += ["http:", f"  addr: {self.host}"]
        if self.tls:
            certs = self.root / "certs"
            if self.ca is None:
                self.ca, crt, key = make_ca_and_cert(certs, self.address)
            lines += ["  tls:", f"    certificate: {certs / 'server.crt'}", f"    key: {certs / 'server.key'}"]
        if self.users:
            htpasswd = self.root / "htpasswd"
            htpasswd.write_text("".join(sh("htpasswd", "-Bbn", u, p).stdout.strip() + "\n" for u, p in self.users.items()))
            lines += ["auth:", "  htpasswd:", "    realm: aurora-test", f"    path: {htpasswd}"]
        path = self.root / "config.yml"
        path.write_text("\n".join(lines) + "\n")
        return path

    def start(self) -> Registry:
        self.root.mkdir(parents=True, exist_ok=True)
        config = self.config()
        log = open(self.log, "ab")
        self.proc = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=log, stderr=log,
                                     start_new_session=True)
        end = time.monotonic() + 15
        while time.monotonic() < end:
            with socket.socket() as s:
                if s.connect_ex((self.address, self.port)) == 0:
                    return self
            if self.proc.poll() is not None:
                raise AssertionError(f"registry exited: {self.log.read_text()[-2000:]}")
            time.sleep(0.05)
        raise AssertionError("registry did not start")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        self.kill()

    def blobs(self) -> dict[str, int]:
        """digest → size of every blob the registry stores (layers, configs, manifests)."""
        base = self.root / "data" / "docker" / "registry" / "v2" / "blobs" / "sha256"
        out = {}
        if base.is_dir():
            for data in base.glob("*/*/data"):
                out["sha256:" + data.parent.name] = data.stat().st_size
        return out

    def uploads(self) -> int:
        """Completed blob uploads seen in the access log (PUT …/blobs/uploads/… answered 201)."""
        return sum(1 for line in self.log.read_text(errors="replace").splitlines()
                   if '"PUT /v2/' in line and "/blobs/uploads/" in line and '" 201 ' in line)

    def authfile(self, folder: Path, user: str, password: str) -> Path:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        path = folder / "auth.json"
        path.write_text(json.dumps({"auths": {self.host: {"auth": token}}}))
        return path

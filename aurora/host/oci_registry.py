"""Pushing an image from an OCI layout with the distribution API, sending only what the
registry lacks: each blob is asked for first (HEAD), mounted from another repository of the same
registry where one holds it, else uploaded (one PUT, or PATCH chunks for a large blob); then the
manifest is put and read back by tag. Nothing is ever downloaded but the manifest."""

from __future__ import annotations

import hashlib
import json
import ssl
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from aurora.host.distribution import Client
from aurora.host.registry import RegistryError

CHUNK = 64 * 1024 * 1024  # blobs above this go up in PATCH chunks of this size
PARALLEL = 4


@dataclass
class PushClient(Client):
    """The distribution client, with its TLS context made once: a push asks for many blobs."""

    _ssl: ssl.SSLContext | None = None

    def _context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = super()._context()
        return self._ssl


@dataclass
class PushStats:
    """What a push sent: bytes uploaded, and how many blobs were there, mounted or uploaded."""

    uploaded_bytes: int = 0
    present: list[str] = field(default_factory=list)
    mounted: list[str] = field(default_factory=list)
    uploaded: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"uploaded_bytes": self.uploaded_bytes, "present": len(self.present),
                "mounted": len(self.mounted), "uploaded": len(self.uploaded)}


def _location(client: Client, answer_location: str) -> str:
    return urllib.parse.urljoin(client._base() + "/", answer_location)


def _with_digest(location: str, digest: str) -> str:
    return f"{location}{'&' if '?' in location else '?'}digest={urllib.parse.quote(digest)}"


def start_upload(client: Client, repo: str, digest: str, mount_from: str | None) -> str | None:
    """POST an upload (a mount first, when ``mount_from`` may hold the blob): the upload's
    location, or None when the registry mounted it."""
    scope = f"repository:{repo}:pull,push" + (f" repository:{mount_from}:pull" if mount_from else "")
    query = f"?mount={urllib.parse.quote(digest)}&from={urllib.parse.quote(mount_from)}" if mount_from else ""
    path = f"/v2/{repo}/blobs/uploads/{query}"
    answer = client.request("POST", path, b"", scope=scope)
    if answer.status == 201 and mount_from:
        return None
    if answer.status != 202 or "location" not in answer.headers:
        raise client.error(answer, "POST", path, f"starting an upload to {repo} on")
    return _location(client, answer.headers["location"])


def upload(client: Client, repo: str, location: str, digest: str, path: Path) -> int:
    """Send the blob's bytes: one PUT, or PATCH chunks and a closing PUT."""
    scope = f"repository:{repo}:pull,push"
    size = path.stat().st_size
    with path.open("rb") as fh:
        if size <= CHUNK:
            done = client.request("PUT", _with_digest(location, digest), fh.read(),
                                  {"Content-Type": "application/octet-stream"}, scope=scope)
        else:
            offset = 0
            while offset < size:
                chunk = fh.read(CHUNK)
                answer = client.request("PATCH", location, chunk, {
                    "Content-Type": "application/octet-stream",
                    "Content-Range": f"{offset}-{offset + len(chunk) - 1}"}, scope=scope)
                if answer.status != 202 or "location" not in answer.headers:
                    raise client.error(answer, "PATCH", location, f"uploading a chunk to {repo} on")
                location = _location(client, answer.headers["location"])
                offset += len(chunk)
            done = client.request("PUT", _with_digest(location, digest), b"",
                                  {"Content-Type": "application/octet-stream"}, scope=scope)
    if done.status not in (201, 204):
        raise client.error(done, "PUT", location, f"uploading a blob to {repo} on")
    return size


def send_blob(client: Client, repo: str, digest: str, path: Callable[[str], Path],
              mount_from: str | None = None) -> tuple[str, int]:
    """("present" | "mounted" | "uploaded", bytes uploaded) for one blob."""
    if client.has_blob(repo, digest):
        return "present", 0
    if not path(digest).is_file() and not mount_from:
        raise RegistryError(f"pushing to {client.registry}/{repo}: blob {digest} is neither there nor here",
                            hint="its cache record names a repository of another registry; build without --cache-from")
    location = start_upload(client, repo, digest, mount_from if mount_from != repo else None)
    if location is None:
        return "mounted", 0
    if not path(digest).is_file():
        raise RegistryError(f"pushing to {client.registry}/{repo}: {client.registry} could not mount blob {digest}"
                            f" from {mount_from}, and it is not here", hint="build without --cache-from")
    return "uploaded", upload(client, repo, location, digest, path(digest))


def push(client: Client, repo: str, tag: str, raw_manifest: bytes, media_type: str, path: Callable[[str], Path],
         mount_from: Callable[[str], str | None] = lambda _d: None) -> tuple[str, PushStats]:
    """Push the manifest's blobs (side by side), the manifest under ``tag``, and read it back:
    the digest the registry serves, and what was sent."""
    manifest = json.loads(raw_manifest)
    digests = [manifest["config"]["digest"], *(layer["digest"] for layer in manifest["layers"])]
    stats = PushStats()
    client._base()  # the scheme (HTTPS, or HTTP without --tls-verify) once, before the threads ask
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        futures = {d: pool.submit(send_blob, client, repo, d, path, mount_from(d)) for d in dict.fromkeys(digests)}
        for digest, future in futures.items():
            kind, sent_bytes = future.result()
            getattr(stats, kind).append(digest)
            stats.uploaded_bytes += sent_bytes
    client.put_manifest(repo, tag, raw_manifest, media_type)
    sent = "sha256:" + hashlib.sha256(raw_manifest).hexdigest()
    back = client.get_manifest(repo, tag)
    served = "sha256:" + hashlib.sha256(back[0]).hexdigest() if back else "nothing"
    if served != sent:
        raise RegistryError(f"pushing {client.registry}/{repo}:{tag}: the registry serves {served}, not the {sent}"
                            " that was pushed", hint="another push to the same tag may have raced this one; push again")
    return sent, stats

"""The OCI distribution API over plain HTTP(S), for what skopeo cannot do: pushing an artifact
manifest with a ``subject`` and keeping the referrers fallback tag up to date.

It honours what aurora's pushes honour (``RegistryOptions``): the containers auth file (basic
credentials, or a bearer token fetched with them), ``--cert-dir`` (CA ``*.crt``, client
``*.cert``/``*.key``) and ``--no-tls-verify`` (HTTPS without verification, falling back to plain
HTTP, as containers/image does). Connection failures and 5xx answers are retried a bounded
number of times; a 4xx is reported at once, with what the registry said.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from aurora.host.registry import RegistryError, RegistryOptions, default_authfile

log = logging.getLogger("aurora.run")

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST_TYPES = ", ".join([
    OCI_MANIFEST, OCI_INDEX,
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
])


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def credentials(registry: str, authfile: Path | None) -> tuple[str, str] | None:
    """(user, password) for ``registry`` from a containers/Docker auth file, if it holds any."""
    path = authfile or default_authfile()
    if path is None or not path.is_file():
        return None
    try:
        auths = json.loads(path.read_text()).get("auths") or {}
    except (OSError, ValueError) as exc:
        raise RegistryError(f"{path}: not a readable auth file ({exc})") from None
    for key, entry in auths.items():
        host = re.sub(r"^https?://", "", key).split("/", 1)[0]
        if host == registry and isinstance(entry, dict) and entry.get("auth"):
            user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
            return user, password
    return None


@dataclass
class Client:
    registry: str
    opts: RegistryOptions = field(default_factory=RegistryOptions)
    _scheme: str | None = None
    _token: dict[str, str] = field(default_factory=dict)  # scope → bearer token

    # -- transport ------------------------------------------------------------------------

    def _context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context()
        if not self.opts.tls_verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if self.opts.cert_dir is not None:
            for ca in sorted(self.opts.cert_dir.glob("*.crt")):
                ctx.load_verify_locations(cafile=str(ca))
            for cert in sorted(self.opts.cert_dir.glob("*.cert")):
                key = cert.with_suffix(".key")
                ctx.load_cert_chain(str(cert), str(key) if key.is_file() else None)
        return ctx

    def _open(self, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> Answer:
        req = urllib.request.Request(url, data=body, method=method, headers=headers)
        timeout = min(self.opts.timeout, 300)
        log.debug("http: %s %s", method, url)
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=self._context()) as r:
                return Answer(r.status, {k.lower(): v for k, v in r.headers.items()}, r.read())
        except urllib.error.HTTPError as e:
            return Answer(e.code, {k.lower(): v for k, v in e.headers.items()}, e.read())

    def _base(self) -> str:
        if self._scheme is None:
            if self.opts.tls_verify:
                self._scheme = "https"
            else:  # as containers/image does with tls-verify=false: HTTPS unverified, else HTTP
                try:
                    self._open("GET", f"https://{self.registry}/v2/", None, {})
                    self._scheme = "https"
                except (urllib.error.URLError, ssl.SSLError, ConnectionError, OSError):
                    self._scheme = "http"
        return f"{self._scheme}://{self.registry}"

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
                scope: str = "") -> Answer:
        """One API call, with auth and bounded retries for what can pass (connection, 5xx)."""
        headers = dict(headers or {})
        url = path if path.startswith("http") else self._base() + path
        for attempt in range(1, max(1, self.opts.retries) + 1):
            try:
                answer = self._authorised(method, url, body, headers, scope)
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                if isinstance(reason, ssl.SSLError) or isinstance(exc, ssl.SSLError):
                    raise RegistryError(
                        f"{method} {url}: the TLS certificate of {self.registry} is not trusted ({reason})",
                        hint="pass --cert-dir DIR with the registry's CA certificate;"
                        " --no-tls-verify only for a registry you trust on a private network") from None
                if attempt >= self.opts.retries:
                    raise RegistryError(f"{method} {url}: cannot reach {self.registry} ({reason})"
                                        f" — gave up after {attempt} attempts",
                                        hint="check that the registry is up and reachable from here") from None
                time.sleep(self.opts.retry_delay * attempt)
                continue
            if answer.status >= 500 and attempt < self.opts.retries:
                time.sleep(self.opts.retry_delay * attempt)
                continue
            return answer
        raise AssertionError("unreachable")

    def _authorised(self, method: str, url: str, body: bytes | None, headers: dict[str, str], scope: str) -> Answer:
        if scope in self._token:
            headers["Authorization"] = self._token[scope]
        answer = self._open(method, url, body, headers)
        if answer.status != 401:
            return answer
        creds = credentials(self.registry, self.opts.authfile)
        challenge = answer.headers.get("www-authenticate", "")
        if challenge.lower().startswith("basic") and creds:
            self._token[scope] = "Basic " + base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode()
        elif challenge.lower().startswith("bearer"):
            self._token[scope] = "Bearer " + self._bearer(challenge, scope, creds)
        else:
            return answer
        headers["Authorization"] = self._token[scope]
        return self._open(method, url, body, headers)

    def _bearer(self, challenge: str, scope: str, creds: tuple[str, str] | None) -> str:
        params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        query = {"service": params.get("service", "")}
        if scope or params.get("scope"):
            query["scope"] = scope or params["scope"]
        url = params.get("realm", "") + "?" + urllib.parse.urlencode(query)
        headers = {}
        if creds:
            headers["Authorization"] = "Basic " + base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode()
        answer = self._open("GET", url, None, headers)
        if answer.status != 200:
            raise self.error(answer, "GET", url, "getting a token from")
        data = json.loads(answer.body)
        return data.get("token") or data.get("access_token") or ""

    def error(self, answer: Answer, method: str, path: str, doing: str = "") -> RegistryError:
        """A 4xx/5xx as one message: what was asked, the status, what the registry said."""
        said = ""
        try:
            errors = json.loads(answer.body).get("errors") or []
            said = "; ".join(f"{e.get('code')}: {e.get('message')}"
                             + (f" ({e['detail']})" if isinstance(e.get("detail"), str) and e["detail"] else "")
                             for e in errors)
        except (ValueError, AttributeError):
            said = answer.body[:200].decode("utf-8", "replace").strip()
        what = doing or f"{method} {path} on"
        if answer.status == 401:
            return RegistryError(f"{what} {self.registry}: the registry rejected the credentials (401 unauthorized)",
                                 hint="log in with `podman login`, or pass --authfile with valid credentials")
        if answer.status == 403:
            return RegistryError(f"{what} {self.registry}: access denied (403){': ' + said if said else ''}",
                                 hint="check that these credentials may push to this repository")
        return RegistryError(f"{what} {self.registry}: HTTP {answer.status}{': ' + said if said else ''}")

    # -- the API --------------------------------------------------------------------------

    def get_manifest(self, repo: str, reference: str) -> tuple[bytes, str] | None:
        """(raw bytes, media type) of a manifest, or None when there is none."""
        path = f"/v2/{repo}/manifests/{reference}"
        answer = self.request("GET", path, headers={"Accept": MANIFEST_TYPES}, scope=f"repository:{repo}:pull")
        if answer.status == 404:
            return None
        if answer.status != 200:
            raise self.error(answer, "GET", path, f"reading {repo}:{reference} from")
        media_type = answer.headers.get("content-type", "").split(";")[0]
        try:
            media_type = json.loads(answer.body).get("mediaType") or media_type
        except ValueError:
            pass
        return answer.body, media_type

    def put_manifest(self, repo: str, reference: str, raw: bytes, media_type: str) -> Answer:
        path = f"/v2/{repo}/manifests/{reference}"
        answer = self.request("PUT", path, raw, {"Content-Type": media_type}, scope=f"repository:{repo}:pull,push")
        if answer.status not in (200, 201):
            raise self.error(answer, "PUT", path, f"pushing the manifest {repo}:{reference} to")
        digest = answer.headers.get("docker-content-digest")
        expected = "sha256:" + hashlib.sha256(raw).hexdigest()
        if digest and digest != expected:
            raise RegistryError(f"pushing {repo}:{reference}: {self.registry} stored {digest}, not {expected}")
        return answer

    def has_blob(self, repo: str, digest: str) -> bool:
        answer = self.request("HEAD", f"/v2/{repo}/blobs/{digest}", scope=f"repository:{repo}:pull")
        return answer.status == 200

    def push_blob(self, repo: str, data: bytes) -> str:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        if self.has_blob(repo, digest):
            return digest
        scope = f"repository:{repo}:pull,push"
        start = self.request("POST", f"/v2/{repo}/blobs/uploads/", b"", scope=scope)
        if start.status != 202 or "location" not in start.headers:
            raise self.error(start, "POST", f"/v2/{repo}/blobs/uploads/", f"starting an upload to {repo} on")
        location = urllib.parse.urljoin(self._base() + "/", start.headers["location"])
        sep = "&" if "?" in location else "?"
        done = self.request("PUT", f"{location}{sep}digest={urllib.parse.quote(digest)}", data,
                            {"Content-Type": "application/octet-stream"}, scope=scope)
        if done.status not in (201, 204):
            raise self.error(done, "PUT", location, f"uploading a blob to {repo} on")
        return digest

    def get_blob(self, repo: str, digest: str) -> bytes:
        path = f"/v2/{repo}/blobs/{digest}"
        answer = self.request("GET", path, scope=f"repository:{repo}:pull")
        if answer.status != 200:
            raise self.error(answer, "GET", path, f"reading blob {digest} of {repo} from")
        if "sha256:" + hashlib.sha256(answer.body).hexdigest() != digest:
            raise RegistryError(f"reading blob {digest} of {repo}: {self.registry} served other bytes")
        return answer.body

    def referrers(self, repo: str, digest: str) -> dict | None:
        """The referrers API's index for ``digest``, or None where the registry has no such API."""
        path = f"/v2/{repo}/referrers/{digest}"
        answer = self.request("GET", path, headers={"Accept": OCI_INDEX}, scope=f"repository:{repo}:pull")
        ctype = answer.headers.get("content-type", "")
        if answer.status == 200 and OCI_INDEX in ctype:
            return json.loads(answer.body)
        if answer.status in (404, 405) or (answer.status == 200 and OCI_INDEX not in ctype):
            return None
        raise self.error(answer, "GET", path, f"listing the referrers of {repo}@{digest} on")

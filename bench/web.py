"""What the web server in the image costs a browser, and what the web layer holds: before and
after the web layer's rules (issue 21), on the demo with its bundler's source maps switched on
(as create-react-app's build has them by default).

- **before**: the bundler's output as it is, source maps included (`[frontend] source_maps =
  true`, what aurora copied into the image before it left maps out), and a browser that gets
  no precompressed file: the first visit fetched with `Accept-Encoding: gzip` only is the
  closest to the old server (it gzipped on the fly at nginx's level 1; the figure here is the
  build-time level-9 .gz, so the old server sent slightly more); without any Accept-Encoding
  it is the uncompressed size.
- **after**: the defaults (maps and litter left out, FILE.gz and FILE.br made at build time),
  first visit with `Accept-Encoding: gzip, deflate, br` as a browser asks over HTTPS.

A first visit = every response of a page load through the web port: the page, each script,
style sheet, icon and manifest it names (and what the CSS names with url()), and the API calls
the page makes on load (the demo: its greeting). Bytes = status line + headers + body as sent.
The websocket's upgrade is not counted (101, no body).
"""

from __future__ import annotations

import http.client
import re
import shutil
import socket
import time
import uuid
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from bench import sh

# What the demo's page asks the back end for as it loads (src/pages/Home.jsx).
DEMO_API_CALLS = ("/api/greeting?name=Zero",)
NAVIGATION = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
DEFINITION = ("The demo with its bundler's source maps on (as create-react-app has them). Before: "
              "`[frontend] source_maps = true` (maps kept, as aurora did before issue 21), fetched with gzip "
              "only (the old server gzipped on the fly, at level 1: it sent slightly more) and without "
              "compression; after: the defaults (maps left out, .gz and .br made at build time), fetched "
              "with `gzip, deflate, br`. A first visit: the page, what it names, what its CSS names, and "
              "its API calls on load; bytes as sent, headers included (bench/README.md).")
ENCODINGS = {"identity": None, "gzip": "gzip", "gzip, br": "gzip, deflate, br"}


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script" and a.get("src"):
            self.found.append(a["src"] or "")
        elif tag == "link" and a.get("href") and set((a.get("rel") or "").split()) & {
                "stylesheet", "icon", "modulepreload", "preload", "manifest", "apple-touch-icon"}:
            self.found.append(a["href"] or "")
        elif tag == "img" and a.get("src"):
            self.found.append(a["src"] or "")


def page_refs(html: str) -> list[str]:
    """The same-origin paths a page names (scripts, styles, icons, images), in order, once."""
    p = _Refs()
    p.feed(html)
    return _same_origin(p.found, "/")


def css_refs(css: str, base: str) -> list[str]:
    return _same_origin([m.group(2) for m in re.finditer(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""", css)], base)


def _same_origin(refs: list[str], base: str) -> list[str]:
    out = []
    for ref in refs:
        if ref.startswith(("data:", "blob:", "#")):
            continue
        parts = urlsplit(urljoin("http://origin" + base, ref))
        if parts.netloc != "origin":
            continue
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if path not in out:
            out.append(path)
    return out


def fetch(port: int, path: str, accept_encoding: str | None, accept: str = "*/*") -> dict:
    """One GET: status, bytes on the wire (status line + headers + body as sent), the body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Accept": accept}
    if accept_encoding:  # without one, http.client sends "Accept-Encoding: identity"
        headers["Accept-Encoding"] = accept_encoding
    try:
        conn.request("GET", path, headers=headers)
        r = conn.getresponse()
        body = r.read()
        head = len(f"HTTP/1.1 {r.status} {r.reason}\r\n") + sum(len(f"{k}: {v}\r\n") for k, v in r.getheaders()) + 2
        return {"path": path, "status": r.status, "encoding": r.getheader("Content-Encoding") or "",
                "type": (r.getheader("Content-Type") or "").split(";")[0], "body_bytes": len(body),
                "bytes": head + len(body), "body": body}
    finally:
        conn.close()


def first_visit(port: int, accept_encoding: str | None, api_calls=DEMO_API_CALLS) -> dict:
    """Every response of a first page load, as a browser with this Accept-Encoding gets it."""
    page = fetch(port, "/", accept_encoding, accept=NAVIGATION)
    html = fetch(port, "/", None, accept=NAVIGATION)["body"].decode("utf-8", "replace")  # readable copy
    responses = [page]
    todo = page_refs(html)
    seen = set(todo)
    while todo:
        path = todo.pop(0)
        r = fetch(port, path, accept_encoding)
        responses.append(r)
        if r["type"] == "text/css":
            for ref in css_refs(fetch(port, path, None)["body"].decode("utf-8", "replace"), path):
                if ref not in seen:
                    seen.add(ref)
                    todo.append(ref)
    responses += [fetch(port, p, accept_encoding, accept="application/json") for p in api_calls]
    return {
        "bytes": sum(r["bytes"] for r in responses),
        "body_bytes": sum(r["body_bytes"] for r in responses),
        "responses": [{k: v for k, v in r.items() if k != "body"} for r in responses],
        "failed": [f"{r['path']} {r['status']}" for r in responses if r["status"] >= 400],
    }


def web_layer(store, tag: str) -> dict:
    """The files under /app/web in the image, by kind: the front end's own files, source maps,
    and the precompressed copies (.gz, .br) made at build time."""
    cid = store.buildah("from", "--pull-never", "--name", f"bench-web-{uuid.uuid4().hex[:8]}", tag).stdout.strip()
    try:
        mnt = Path(store.buildah("mount", cid).stdout.strip())
        kinds = {"files": 0, "maps": 0, "gz": 0, "br": 0}
        counts = dict.fromkeys(kinds, 0)
        for f in (mnt / "app/web").rglob("*"):
            if not f.is_file() or f.is_symlink():
                continue
            kind = "maps" if f.name.endswith(".map") else "gz" if f.name.endswith(".gz") else \
                "br" if f.name.endswith(".br") else "files"
            kinds[kind] += f.stat().st_size
            counts[kind] += 1
        return {"bytes": sum(kinds.values()), "by_kind": kinds, "counts": counts}
    finally:
        store.buildah("umount", cid, check=False)
        store.buildah("rm", cid, check=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_and_measure(store, tag: str, encodings: dict[str, str | None]) -> dict:
    """Run the image with podman (the bench's storage), and load its page once per encoding."""
    name, port = f"aurora-bench-web-{uuid.uuid4().hex[:8]}", _free_port()
    sh.run(["podman", "run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:8080", tag], env=store.env, timeout=120)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if fetch(port, "/api/health", None)["status"] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                logs = sh.run(["podman", "logs", name], env=store.env, check=False, timeout=60)
                raise sh.CommandFailed(f"{tag} did not answer /api/health within 90 s:\n{logs.stdout[-2000:]}")
            time.sleep(0.5)
        return {label: first_visit(port, ae) for label, ae in encodings.items()}
    finally:
        sh.run(["podman", "rm", "-f", "-t", "0", name], env=store.env, check=False, timeout=120)


def with_maps(app: Path, dest: Path, source_maps: bool) -> Path:
    """A copy of the demo whose bundler writes source maps; aurora keeps them if ``source_maps``."""
    shutil.copytree(app, dest, ignore=shutil.ignore_patterns("node_modules", ".aurora"), symlinks=True)
    script = dest / "frontend/scripts/build.js"
    text = script.read_text()
    if "sourcemap: false," not in text:
        raise RuntimeError(f"{script}: no 'sourcemap: false,' to switch on")
    script.write_text(text.replace("sourcemap: false,", "sourcemap: true,"))
    if source_maps:
        toml = dest / "aurora.toml"
        toml.write_text(toml.read_text().replace('source = "frontend"\n', 'source = "frontend"\nsource_maps = true\n', 1))
    return dest


def measure(bench, wl) -> dict:
    """Build the two variants with aurora (the bench's storage, its cache), measure each."""
    out: dict = {"definition": DEFINITION}
    for label, keep_maps, encodings in (("before", True, ("identity", "gzip")), ("after", False, ("gzip, br",))):
        app = with_maps(wl.app, bench.tmp / f"web-{label}", keep_maps)
        tag = f"localhost/aurora-bench/{wl.name}-web:{label}"
        rec = bench.build("aurora", _Wl(wl.name, app), tag, no_cache=False, log_name=f"{wl.name}-web-{label}")
        visits = serve_and_measure(bench.store, tag, {e: ENCODINGS[e] for e in encodings})
        out[label] = {"web_layer": web_layer(bench.store, tag), "first_visit": visits,
                      "image_compressed_bytes": rec["size_bytes"]}
        shutil.rmtree(app, ignore_errors=True)
    return out


class _Wl:
    """The little of a Workload that Bench.build reads."""

    def __init__(self, name: str, app: Path) -> None:
        self.name, self.app = name, app

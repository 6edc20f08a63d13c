"""The web server in the image, as a browser and a CDN see it: validators that change with the
content across deploys, long-lived caching for hashed assets, precompressed files, honest 404s,
every back-end prefix proxied, security headers — on images built for real and run with podman."""

from __future__ import annotations

import gzip
import io
import json
import re
import shutil
import subprocess
import tarfile
import uuid
from pathlib import Path

import pytest

from tests.integration.conftest import NAVIGATION, aurora, http_get, http_request, run_container, sh

pytestmark = pytest.mark.integration
HASHED = re.compile(r'src="(/static/js/main\.[A-Z0-9]{8}\.js)"')


def image_files(image: str) -> dict[str, bytes]:
    """Path → content of every regular file under /app/web and /app/aurora/web in the image."""
    name = f"aurora-test-files-{uuid.uuid4().hex[:8]}"
    sh("podman", "create", "--name", name, image)
    try:
        tar_bytes = subprocess.run(["podman", "export", name], capture_output=True, check=True).stdout
    finally:
        sh("podman", "rm", "-f", name, check=False)
    out = {}
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        for m in tar.getmembers():
            if m.isfile() and m.name.startswith(("app/web/", "app/aurora/web/")):
                out["/" + m.name] = tar.extractfile(m).read()  # type: ignore[union-attr]
    return out


def build(app: Path, label: str) -> tuple[str, str]:
    """A build whose log the test reads: --no-cache, since the web layer's report comes from its
    build step, which a layer-cache hit from an earlier run on this machine does not run."""
    tag = f"localhost/aurora-test/{label}:{uuid.uuid4().hex[:8]}"
    proc = aurora("build", "-C", str(app), "--tag", tag, "--no-cache")
    return tag, proc.stderr


@pytest.fixture(scope="module")
def demo(demo_image):
    with run_container(demo_image.image, wait="/api/health") as running:
        yield running


@pytest.fixture(scope="module")
def redeployed(demo_app, tmp_path_factory, offline_bases):
    """The demo with one character of its title changed (index.html keeps its size) and source
    maps switched on in its bundler: the next deploy of the same app."""
    app = tmp_path_factory.mktemp("redeploy") / "zero-demo"
    shutil.copytree(demo_app, app, ignore=shutil.ignore_patterns(".aurora", "node_modules", "build"))
    page = app / "frontend/public/index.html"
    page.write_text(page.read_text().replace("<title>Zero Demo</title>", "<title>Zero Dema</title>"))
    script = app / "frontend/scripts/build.js"
    script.write_text(script.read_text().replace("sourcemap: false,", "sourcemap: true,"))
    tag, log = build(app, "redeploy")
    yield tag, log
    sh("buildah", "rmi", tag, check=False)


def test_a_redeploy_is_not_answered_with_304(demo, redeployed):
    """A browser holding the first image's index.html revalidates against the second: it must
    get the new page. With nginx's own validators (file time + size) it got 304."""
    tag, _ = redeployed
    status, first, old_page = http_request(demo.url("/"), {})
    assert status == 200 and b"<title>Zero Demo</title>" in old_page
    assert "last-modified" not in first
    etag = first["etag"]
    assert re.fullmatch(r'W/"[0-9a-f]{32}"', etag)
    # The validator works: the same image answers 304 to it, with the page's own length.
    status, h304, body = http_request(demo.url("/"), {"If-None-Match": etag})
    assert status == 304 and body == b"" and h304["etag"] == etag
    assert h304.get("content-length") in (None, first["content-length"])
    with run_container(tag, wait="/api/health") as second:
        status, new, new_page = http_request(second.url("/"), {})
        assert status == 200 and b"<title>Zero Dema</title>" in new_page
        assert len(new_page) == len(old_page) and new["etag"] != etag
        validators = [
            {"If-None-Match": etag},
            {"If-None-Match": f'"0-{len(old_page):x}"'},  # what nginx itself sent for it before
            {"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"},  # the old Last-Modified
            {"If-None-Match": etag, "If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"},
        ]
        for conditional in validators:
            status, _, body = http_request(second.url("/"), conditional)
            assert status == 200 and b"<title>Zero Dema</title>" in body, conditional
        # A deep client route is index.html too, with the same validator.
        status, deep, body = http_request(second.url("/zo/login/index"), {**NAVIGATION, "If-None-Match": etag})
        assert status == 200 and body == new_page and deep["etag"] == new["etag"]
        assert http_request(second.url("/zo/login/index"), {**NAVIGATION, "If-None-Match": new["etag"]})[0] == 304


def test_source_maps_of_a_source_build_stay_out(redeployed):
    tag, log = redeployed
    files = image_files(tag)
    scripts = [p for p in files if p.startswith("/app/web/static/js/") and p.endswith(".js")]
    assert scripts and b"sourceMappingURL" in files[scripts[0]]  # the bundler did write a map
    assert not [p for p in files if p.endswith(".map")]
    assert re.search(r"aurora: web layer: left out 2 files, [0-9.]+ kB: \*\.map 2 files", log), log


def test_hashed_assets_are_immutable_and_precompressed(demo, demo_image):
    index = http_get(demo.url("/"))[2]
    script = HASHED.search(index).group(1)
    status, headers, body = http_request(demo.url(script), {"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "etag" not in headers and "last-modified" not in headers
    # Sent from the .gz made at build time: a Content-Length (on-the-fly gzip is chunked) that
    # is the size of the file in the image, and the same bytes.
    files = image_files(demo_image.image)
    packed = files[f"/app/web{script}.gz"]
    assert headers["content-encoding"] == "gzip" and int(headers["content-length"]) == len(packed)
    assert body == packed and gzip.decompress(body) == files[f"/app/web{script}"]
    assert headers["vary"] == "Accept-Encoding"
    status, plain, body = http_request(demo.url(script), {})
    assert status == 200 and "content-encoding" not in plain and body == files[f"/app/web{script}"]


def test_short_back_end_answers_are_not_gzipped(demo):
    """gzip_min_length: the greeting's few bytes of JSON would grow with gzip's header."""
    status, headers, body = http_request(demo.url("/api/greeting?name=Zero"), {"Accept-Encoding": "gzip"})
    assert status == 200 and len(body) < 256, (len(body), body[:80])
    assert "content-encoding" not in headers and json.loads(body), headers


def test_brotli_from_the_precompressed_file(demo, demo_image):
    """A browser that takes brotli gets the FILE.br made at build time (brotli_static, from the
    runtime base's Debian module): its exact bytes and length, the same caching headers."""
    index = http_get(demo.url("/"))[2]
    script = HASHED.search(index).group(1)
    files = image_files(demo_image.image)
    for path, name in ((script, script), ("/", "/index.html")):
        packed = files[f"/app/web{name}.br"]
        assert len(packed) < len(files[f"/app/web{name}.gz"]) < len(files[f"/app/web{name}"])
        status, headers, body = http_request(demo.url(path), {"Accept-Encoding": "gzip, deflate, br"})
        assert status == 200 and headers["content-encoding"] == "br", (path, headers)
        assert int(headers["content-length"]) == len(packed) and body == packed, path
        assert headers["vary"] == "Accept-Encoding"
    headers = http_request(demo.url(script), {"Accept-Encoding": "br"})[1]
    assert headers["cache-control"] == "public, max-age=31536000, immutable"
    # gzip only: the .gz; neither: the file itself.
    assert http_request(demo.url(script), {"Accept-Encoding": "gzip"})[1]["content-encoding"] == "gzip"
    assert "content-encoding" not in http_request(demo.url(script), {"Accept-Encoding": "identity"})[1]


def test_index_is_no_cache(demo):
    status, headers, _ = http_request(demo.url("/index.html"), {})
    assert status == 200 and headers["cache-control"] == "no-cache"


def test_misses_are_404_not_index_html(demo):
    index = http_get(demo.url("/"))[2]
    for path, headers in (("/static/js/main.GONE1234.js", {}), ("/static/js/main.GONE1234.js", NAVIGATION),
                          ("/zo/logo.png", NAVIGATION), ("/zo/login/index", {"Accept": "*/*"})):
        status, _, body = http_get(demo.url(path), headers=headers)
        assert status == 404 and body != index, (path, headers)
    assert http_get(demo.url("/zo/login/index"), headers=NAVIGATION)[2] == index


def test_every_back_end_prefix_reaches_the_back_end(demo):
    for path in ("/api", "/api/nope", "/oauth/login", "/oauth", "/captcha/image", "/app/name/demo"):
        status, ctype, body = http_get(demo.url(path))
        # The demo's back end answers every unknown path with a JSON 404 naming the path.
        assert (status, ctype.split(";")[0]) == (404, "application/json"), path
        assert json.loads(body)["path"] == path


SECURITY = {"x-content-type-options": "nosniff", "referrer-policy": "strict-origin-when-cross-origin",
            "x-frame-options": "SAMEORIGIN"}


def test_security_headers_on_every_response(demo):
    index = http_get(demo.url("/"))[2]
    script = HASHED.search(index).group(1)
    etag = http_request(demo.url("/"), {})[1]["etag"]
    for path, headers, expected in (("/", {}, 200), (script, {}, 200), ("/", {"If-None-Match": etag}, 304),
                                    ("/static/nope.js", {}, 404), ("/api/health", {}, 200), ("/oauth/x", {}, 404)):
        status, got, _ = http_request(demo.url(path), headers)
        assert status == expected, path
        for name, value in SECURITY.items():
            assert got.get(name) == value, (path, name)
        csp = got["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'self'" in csp and "object-src 'none'" in csp, path


def _nginx_conf(demo_app: Path, tmp_path: Path, web: str) -> str:
    app = tmp_path / "app"
    shutil.copytree(demo_app, app, ignore=shutil.ignore_patterns(".aurora", "node_modules"))
    toml = app / "aurora.toml"
    toml.write_text(toml.read_text().replace('[web]\nport = 8080\n', '[web]\nport = 8080\n' + web))
    aurora("render", "-C", str(app), "-o", str(tmp_path / "ctx"))
    return (tmp_path / "ctx/aurora/app/nginx.conf").read_text()


def _with_conf(demo_image, tmp_path: Path, conf: str) -> str:
    build_dir = tmp_path / "derived"
    build_dir.mkdir()
    (build_dir / "nginx.conf").write_text(conf)
    (build_dir / "Containerfile").write_text(f"FROM {demo_image.image}\nCOPY nginx.conf /app/aurora/nginx.conf\n")
    tag = f"localhost/aurora-test/webconf:{uuid.uuid4().hex[:8]}"
    sh("buildah", "bud", "--isolation=chroot", "--identity-label=false", "-t", tag, str(build_dir))
    return tag


def test_strip_prefix_and_own_headers(demo_image, demo_app, tmp_path):
    conf = _nginx_conf(demo_app, tmp_path, 'strip_prefix = ["/oauth"]\n'
                       'headers = { "X-Frame-Options" = "DENY", "Permissions-Policy" = "camera=()" }\n')
    tag = _with_conf(demo_image, tmp_path, conf)
    try:
        with run_container(tag, wait="/api/health") as c:
            # /oauth is stripped: the back end sees the rest of the path; /api is not.
            assert json.loads(http_get(c.url("/oauth/login"))[2])["path"] == "/login"
            assert json.loads(http_get(c.url("/oauth"))[2])["path"] == "/"
            assert json.loads(http_get(c.url("/api/health"))[2]) == {"status": "UP"}
            for path in ("/", "/oauth/login", "/static/missing.js"):
                headers = http_request(c.url(path), {})[1]
                assert headers["x-frame-options"] == "DENY" and headers["permissions-policy"] == "camera=()", path
    finally:
        sh("buildah", "rmi", tag, check=False)


@pytest.fixture
def prebuilt_app(demo_app, tmp_path):
    """The demo with a prebuilt front end holding what real build folders hold: a big source
    map, OS litter, a design file."""
    app = tmp_path / "zero-demo"
    shutil.copytree(demo_app, app, ignore=shutil.ignore_patterns(".aurora", "node_modules", "frontend"))
    site = app / "site"
    (site / "static/js").mkdir(parents=True)
    (site / "static/media").mkdir()
    (site / "index.html").write_text('<!doctype html><html><head><title>Prebuilt</title>'
                                     '<script>window.Z={route:"zo"}</script>'
                                     '<script defer src="/static/js/app.4f3c2b1a.js"></script></head><body></body></html>')
    (site / "static/js/app.4f3c2b1a.js").write_text("console.log('prebuilt');\n" * 400)
    (site / "static/js/app.4f3c2b1a.js.map").write_text('{"version":3,"sources":["src/App.jsx"],"mappings":"AAAA"}' * 6000)
    (site / ".DS_Store").write_bytes(b"\0" * 6148)
    (site / "static/media/Thumbs.db").write_bytes(b"\0" * 4096)
    (site / "static/media/logo.psd").write_bytes(b"8BPS" + b"\0" * 5000)
    toml = app / "aurora.toml"
    text = toml.read_text()
    text = re.sub(r"\[frontend\].*?(?=\n\[web\])", '[frontend]\nprebuilt = "site"\n', text, flags=re.S)
    toml.write_text(text)
    return app


def test_prebuilt_front_end_leaves_out_maps_and_litter(prebuilt_app):
    tag, log = build(prebuilt_app, "prebuilt")
    try:
        assert re.search(r"aurora: web layer: left out 3 files, 3\d\d\.\d kB: \.DS_Store 1 file 6\.1 kB, Thumbs\.db 1 file 4\.1 kB, \*\.map 1 file 3\d\d\.\d kB", log), log
        assert "aurora: web layer:   static/js/app.4f3c2b1a.js.map (3" in log
        assert "1 inline script in the HTML: allowed by hash" in log
        files = image_files(tag)
        assert "/app/web/static/js/app.4f3c2b1a.js" in files and "/app/web/static/media/logo.psd" in files
        assert not [p for p in files if p.endswith((".map", ".DS_Store", "Thumbs.db"))]
        with run_container(tag, wait="/api/health") as c:
            assert http_get(c.url("/static/js/app.4f3c2b1a.js.map"))[0] == 404
            # The inline script runs: its hash is in script-src.
            csp = http_request(c.url("/"), {})[1]["content-security-policy"]
            assert re.search(r"script-src 'self' 'sha256-[A-Za-z0-9+/]+=*';", csp), csp
    finally:
        sh("buildah", "rmi", tag, check=False)


def test_source_maps_kept_when_asked_and_exclude_list(prebuilt_app):
    toml = prebuilt_app / "aurora.toml"
    toml.write_text(toml.read_text().replace('prebuilt = "site"\n', 'prebuilt = "site"\nsource_maps = true\nexclude = ["*.psd"]\n'))
    tag, log = build(prebuilt_app, "prebuilt-maps")
    try:
        files = image_files(tag)
        assert "/app/web/static/js/app.4f3c2b1a.js.map" in files
        assert "/app/web/static/media/logo.psd" not in files and "/app/web/.DS_Store" not in files
        assert "*.psd 1 file 5.0 kB" in log
    finally:
        sh("buildah", "rmi", tag, check=False)


def test_a_front_end_build_without_index_html_fails_clearly(demo_app, tmp_path, offline_bases):
    app = tmp_path / "zero-demo"
    shutil.copytree(demo_app, app, ignore=shutil.ignore_patterns(".aurora", "node_modules", "build"))
    toml = app / "aurora.toml"
    toml.write_text(toml.read_text().replace('source = "frontend"\n', 'source = "frontend"\noutput = "build/static"\n'))
    tag = f"localhost/aurora-test/noindex:{uuid.uuid4().hex[:8]}"
    proc = aurora("build", "-C", str(app), "--tag", tag, check=False)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "aurora-web: error: the front end's output has no index.html at its top" in proc.stderr
    assert "check frontend.output" in proc.stderr and "Traceback" not in proc.stderr
    assert sh("podman", "image", "exists", tag, check=False).returncode == 1

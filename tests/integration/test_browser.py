"""The demo image in a real browser: Debian's Chromium, driven by Playwright, loads the page the
image serves — the back end's greeting over /api, the STOMP websocket's messages in the Live
card, a reload on a client route, and a second visit that takes the hashed assets from the
browser's cache (the web server's access log shows no request for them).

A screenshot of the page is saved under the test's tmp dir, or in $AURORA_TEST_ARTEFACTS."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import in_ci
from tests.integration.conftest import run_container, sh

pytestmark = pytest.mark.integration
CHROMIUM = os.environ.get("AURORA_CHROMIUM", "/usr/bin/chromium")
# Chromium run as root, with nothing that reaches out to the network on its own.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
HASHED = re.compile(r"^/static/.+\.[A-Z0-9]{8}\.(js|css)$")


def _missing(why: str) -> None:
    if in_ci():
        pytest.fail(f"{why} (CI installs it: scripts/host-setup.sh, the test extras)")
    pytest.skip(why)


@pytest.fixture(scope="module")
def playwright_chromium():
    """Playwright's API and Debian's Chromium (never a browser Playwright downloads)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the Python package playwright is not installed")
    if not (shutil.which(CHROMIUM) or os.access(CHROMIUM, os.X_OK)):
        _missing(f"no Chromium at {CHROMIUM} (apt package chromium)")
    with sync_playwright() as pw:
        yield pw.chromium


@dataclass
class Watch:
    """What a page did that a user would see go wrong, and what it fetched."""

    errors: list[str] = field(default_factory=list)
    responses: list[tuple[str, int]] = field(default_factory=list)  # (path, status)
    frames: list[str] = field(default_factory=list)  # websocket frames received
    cached: set[str] = field(default_factory=set)  # request ids answered by the browser's cache
    ids: dict[str, str] = field(default_factory=dict)  # request id → URL path


def watch(context, page, base: str) -> Watch:
    w = Watch()
    page.on("console", lambda m: m.type == "error" and w.errors.append(f"console error: {m.text}"))
    page.on("pageerror", lambda e: w.errors.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: w.errors.append(f"request failed: {r.url} {r.failure}"))

    def response(r) -> None:
        path = r.url.removeprefix(base)
        w.responses.append((path, r.status))
        if r.status >= 400:
            w.errors.append(f"HTTP {r.status}: {r.url}")
    page.on("response", response)
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: w.frames.append(str(payload))))
    # The DevTools protocol says which responses came from the browser's cache.
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.on("Network.requestWillBeSent", lambda e: w.ids.__setitem__(e["requestId"], e["request"]["url"].removeprefix(base)))
    cdp.on("Network.requestServedFromCache", lambda e: w.cached.add(e["requestId"]))
    cdp.on("Network.responseReceived",
           lambda e: (e["response"].get("fromDiskCache") or e["response"].get("fromMemoryCache")) and w.cached.add(e["requestId"]))
    return w


def access_log(name: str) -> list[tuple[str, int]]:
    """(path, status) of each request in nginx's access log (the container's stdout)."""
    out = sh("podman", "logs", name, check=False).stdout
    return [(m.group(1), int(m.group(2))) for m in re.finditer(r'"GET (\S+) HTTP/[0-9.]+" (\d{3}) ', out)]


@pytest.fixture(scope="module")
def demo(demo_image) -> Iterator:
    with run_container(demo_image.image, wait="/api/health") as running:
        yield running


@pytest.fixture
def artefacts(tmp_path) -> Path:
    out = Path(os.environ.get("AURORA_TEST_ARTEFACTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    return out


def test_the_demo_in_chromium(playwright_chromium, demo, artefacts, tmp_path):
    base = demo.url("")
    context = playwright_chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
        viewport={"width": 1000, "height": 540})
    try:
        # 1. First visit: the page, the greeting from the back end, live messages over STOMP.
        page = context.new_page()
        first = watch(context, page, base)
        page.goto(demo.url("/"), wait_until="load")
        page.wait_for_selector("#greeting.ok", timeout=15_000)
        assert page.inner_text("#greeting") == "Hello, Zero!"
        page.wait_for_selector("#live-status.ok", timeout=15_000)
        assert page.inner_text("#live-status") == "live"
        page.wait_for_selector("#live-messages li.tick", timeout=20_000)  # a tick every 5 s
        assert re.fullmatch(r"tick \d+ from zero-demo", page.inner_text("#live-messages li.tick >> nth=0"))
        page.fill("#echo", "hello from Chromium")
        page.click("#live button[type=submit]")
        page.wait_for_selector("#live-messages li.echo", timeout=10_000)
        assert page.inner_text("#live-messages li.echo >> nth=0") == "echo: hello from Chromium"
        assert any("MESSAGE" in f and "/topic/ticks" in f for f in first.frames), first.frames[:3]
        page.screenshot(path=str(artefacts / "demo.png"))
        print(f"screenshot: {artefacts / 'demo.png'}")
        hashed = sorted({p for p, s in first.responses if HASHED.match(p) and s == 200})
        assert any(p.endswith(".js") for p in hashed) and any(p.endswith(".css") for p in hashed), first.responses
        assert ("/", 200) in first.responses and ("/api/greeting?name=Zero", 200) in first.responses
        assert first.errors == []
        logged = [p for p, _ in access_log(demo.name)]
        assert all(p in logged for p in hashed), (hashed, logged)  # the log shows asset requests
        page.close()

        # 2. A deep client route, loaded and reloaded: index.html each time, the login page shown.
        page = context.new_page()
        deep = watch(context, page, base)
        assert page.goto(demo.url("/zo/login/index")).status == 200
        page.wait_for_selector("#login")
        assert page.reload().status in (200, 304)
        page.wait_for_selector("#login")
        assert page.inner_text("#login h1") == "Login"
        assert deep.errors == []
        page.close()

        # 3. A second visit: index.html is revalidated (no-cache), the hashed assets are not
        # asked for at all — the browser's cache answers, and nginx logs no request for them.
        before = access_log(demo.name)
        page = context.new_page()
        second = watch(context, page, base)
        page.goto(demo.url("/"), wait_until="load")
        page.wait_for_selector("#greeting.ok", timeout=15_000)
        page.wait_for_selector("#live-status.ok", timeout=15_000)
        after = access_log(demo.name)[len(before):]
        assert second.errors == []
        asked = [p for p, _ in after]
        assert "/" in asked and "/api/greeting?name=Zero" in asked, after
        for path in hashed:
            assert path not in asked, (path, after)
        from_cache = {second.ids[i] for i in second.cached if i in second.ids}
        assert set(hashed) <= from_cache, (hashed, from_cache)
        page.close()
    finally:
        context.close()

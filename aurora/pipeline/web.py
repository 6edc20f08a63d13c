"""The web server's part of the plan: what goes into the web layer, which paths reach the back
end, and the headers on every response."""

from __future__ import annotations

import re
from dataclasses import dataclass

from aurora.config import Config

# Left out of the web layer unless asked for: what an OS or an editor drops next to files.
OS_LITTER = (".DS_Store", "Thumbs.db", "ehthumbs.db", "desktop.ini", "._*")
# The same files after a bundler renamed them with a content hash when the app imported its
# folder: webpack's `[name].[hash][ext]` (static/media/Thumbs.1a2b3c4d.db), Vite's `[name]-[hash]`.
BUNDLED_LITTER = (".DS_Store[.-]*", "Thumbs[.-]*.db", "ehthumbs[.-]*.db", "desktop[.-]*.ini")
SOURCE_MAPS = "*.map"


@dataclass(frozen=True)
class Proxy:
    """A back-end prefix: ``location = P`` and ``location ^~ P/`` proxied to the back end."""

    prefix: str
    strip: bool  # the back end serves from '/': P/x reaches it as /x


@dataclass(frozen=True)
class WebPlan:
    """What the web server serves and how: the web layer's rules and nginx's behaviour."""

    assets: str  # the bundler's asset folder: hashed files there are immutable; a miss is a 404
    proxies: tuple[Proxy, ...]
    websocket_upstream: str | None  # the websocket path as the back end sees it (after a strip)
    headers: tuple[tuple[str, str], ...]  # on every response
    exclude: tuple[str, ...]  # glob patterns left out of the web layer
    script_hashes: bool  # the CSP is aurora's: inline scripts found at build time are allowed by hash
    # FILE.br made at build time and served by nginx's brotli_static module: the runtime bases
    # aurora knows have it (the offline one since base format 3, the apt stage installs it); an
    # image named in [bases] runtime may not, and nginx would not start without it.
    brotli: bool = False


def plan_web(config: Config) -> WebPlan:
    w, f = config.web, config.frontend
    proxies = tuple(Proxy(p, p in w.strip_prefix) for p in w.all_backend_prefixes)
    ws_upstream = w.websocket
    if w.websocket:
        for p in sorted((p for p in w.strip_prefix), key=len, reverse=True):
            if w.websocket.startswith(p + "/"):
                ws_upstream = w.websocket[len(p):]
                break
    defaults = default_headers(w.websocket, f.env.get("Z_ENDPOINT", "") if f.source else "")
    given = {name.lower(): (name, value) for name, value in w.headers.items()}
    headers = [(name, given.pop(name.lower(), (name, value))[1]) for name, value in defaults]
    headers += list(given.values())
    exclude = OS_LITTER + BUNDLED_LITTER + (() if f.source_maps else (SOURCE_MAPS,)) + tuple(f.exclude)
    own_csp = "content-security-policy" not in {n.lower() for n in w.headers}
    return WebPlan(
        assets=w.assets,
        proxies=proxies,
        websocket_upstream=ws_upstream,
        headers=tuple((n, v) for n, v in headers if v),
        exclude=tuple(dict.fromkeys(exclude)),
        script_hashes=own_csp,
        brotli=config.bases.runtime is None,
    )


# An origin that may go into connect-src: scheme, host, optional port, nothing else.
_ORIGIN = re.compile(r"^(https?)://([A-Za-z0-9.-]+(?::[0-9]{1,5})?)/?")


def default_headers(websocket: str | None, endpoint: str) -> list[tuple[str, str]]:
    """aurora's security headers. The CSP lets the app load its own scripts, styles, images and
    fonts, call its own origin (plus Z_ENDPOINT's, when that is another one) and open its
    websocket; inline styles are allowed (React UI kits such as antd inject them), inline
    scripts only by hash (found in the HTML at build time: ``$aurora_script_hashes``)."""
    connect = ["'self'"]
    if websocket:
        connect += ["ws:", "wss:"]
    m = _ORIGIN.match(endpoint)
    if m:
        connect.append(f"{m.group(1)}://{m.group(2)}")
    csp = "; ".join([
        "default-src 'self'",
        "script-src 'self'$aurora_script_hashes",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob: https:",
        "font-src 'self' data:",
        "connect-src " + " ".join(connect),
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ])
    return [
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ("X-Frame-Options", "SAMEORIGIN"),
        ("Content-Security-Policy", csp),
    ]

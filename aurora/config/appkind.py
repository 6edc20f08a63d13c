"""What kind of app aurora.toml describes, read from the app itself: a Zero app (Zero's jars in
lib/ or its artifacts in the build file, or Zero's `vertx.yml` with a `zero:` table) gets Zero's
defaults; a plain Vert.x app gets `/api` only, no websocket, and its port from where it states
it (its config's `http.port`, `-Dhttp.port`), or an error that asks for it. An app aurora cannot
read yet (no dist built, no build file) keeps Zero's defaults, as before."""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal

import yaml

from aurora.errors import ConfigError

ZERO_PORT = 6083
# Packages of Zero's jars (cn.vertxup:vertx-up and the rest, io.zerows:*) and its build coordinates.
_ZERO_ENTRIES = ("io/vertx/up/", "cn/vertxup/", "io/zerows/", "cn/originx/")
_ZERO_COORDS = re.compile(r"<groupId>\s*(cn\.vertxup|io\.zerows|cn\.originx)\s*</groupId>|['\"](cn\.vertxup|io\.zerows):")
_VERTX_COORDS = re.compile(r"<groupId>\s*io\.vertx\s*</groupId>|['\"]io\.vertx:")
_HTTP_PORT_OPTION = re.compile(r"^-Dhttp\.port=(\d{1,5})$")
_CONFIG_FILES = ("*.json", "*.yml", "*.yaml")


@dataclass(frozen=True)
class AppKind:
    kind: Literal["zero", "vertx", "unknown"]
    evidence: str  # what it was told by, for messages
    port: int | None = None  # where a plain Vert.x app states it
    port_from: str | None = None


def detect(app_dir: Path, backend: dict[str, Any]) -> AppKind:
    """Zero, plain Vert.x, or unknown, from the back end's dist or sources."""
    dist, source = backend.get("dist"), backend.get("source")
    if isinstance(dist, str):
        folder = app_dir / dist
        lib = folder / str(backend.get("lib") or "lib")
        confs = [folder / str(backend.get("conf") or "conf")]
        read = partial(_from_jars, lib)
    elif isinstance(source, str):
        folder = app_dir / source
        confs = [folder / "src" / "main" / "resources", folder / "src" / "main" / "conf", folder / "conf"]
        read = partial(_from_build_files, folder)
    else:
        return AppKind("unknown", "no back end named")
    # Zero's vertx.yml first: one small file, where the jars' indexes take ~0.1 s to read.
    if (zero_yml := next((c / "vertx.yml" for c in confs if _zero_config(c / "vertx.yml")), None)) is not None:
        return AppKind("zero", f"{_rel(zero_yml, app_dir)} has a zero: table")
    kind, evidence = read()
    if kind != "vertx":
        return AppKind(kind, evidence)
    port, where = _stated_port(backend, confs, app_dir)
    return AppKind("vertx", evidence, port, where)


def _from_jars(lib: Path) -> tuple[Literal["zero", "vertx", "unknown"], str]:
    vertx = ""
    for jar in sorted(lib.glob("*.jar")) if lib.is_dir() else []:
        try:
            with zipfile.ZipFile(jar) as z:
                names = z.namelist()
        except (OSError, zipfile.BadZipFile):
            continue
        if any(n.startswith(_ZERO_ENTRIES) for n in names):
            return "zero", f"lib/{jar.name} is a Zero jar"
        if not vertx and any(n.startswith("io/vertx/core/") for n in names):
            vertx = f"lib/{jar.name} is Vert.x's, and no jar in lib/ is Zero's"
    return ("vertx", vertx) if vertx else ("unknown", "no Vert.x jar in lib/")


def _from_build_files(folder: Path) -> tuple[Literal["zero", "vertx", "unknown"], str]:
    files = [p for name in ("pom.xml", "build.gradle", "build.gradle.kts") for p in [folder / name, *sorted(folder.glob(f"*/{name}"))]
             if p.is_file()]
    texts = {p: p.read_text(encoding="utf-8", errors="replace") for p in files}
    for p, text in texts.items():
        if _ZERO_COORDS.search(text):
            return "zero", f"{p.relative_to(folder)} names Zero's artifacts"
    for p, text in texts.items():
        if _VERTX_COORDS.search(text):
            return "vertx", f"{p.relative_to(folder)} names io.vertx and no Zero artifact"
    return "unknown", "no build file names Vert.x"


def _zero_config(path: Path) -> bool:
    doc = _read(path)
    return isinstance(doc, dict) and "zero" in doc


def _stated_port(backend: dict[str, Any], confs: list[Path], app_dir: Path) -> tuple[int | None, str | None]:
    options = backend.get("jvm_options")
    for opt in options if isinstance(options, list) else []:
        m = _HTTP_PORT_OPTION.match(str(opt))
        if m:
            return int(m.group(1)), "-Dhttp.port in [backend] jvm_options"
    for conf in confs:
        for pattern in _CONFIG_FILES:
            for path in sorted(conf.glob(pattern)) if conf.is_dir() else []:
                port = _http_port(_read(path))
                if port is not None:
                    return port, f"http.port in {_rel(path, app_dir)}"
    return _port_in_jar(backend, app_dir)


def _port_in_jar(backend: dict[str, Any], app_dir: Path) -> tuple[int | None, str | None]:
    """`http.port` in a config file at the top of a dist's app.jar (src/main/resources)."""
    dist, pattern = backend.get("dist"), backend.get("jar", "app.jar")
    if not isinstance(dist, str) or not isinstance(pattern, str):
        return None, None
    for jar in sorted((app_dir / dist).glob(pattern))[:1]:
        try:
            with zipfile.ZipFile(jar) as z:
                for name in sorted(n for n in z.namelist() if "/" not in n and n.endswith((".json", ".yml", ".yaml"))):
                    text = z.read(name).decode("utf-8", "replace")
                    port = _http_port(_parse(text, name))
                    if port is not None:
                        return port, f"http.port in {name} inside {_rel(jar, app_dir)}"
        except (OSError, zipfile.BadZipFile):
            continue
    return None, None


def _http_port(doc: Any) -> int | None:
    if not isinstance(doc, dict):
        return None
    http = doc.get("http")
    value = doc.get("http.port", http.get("port") if isinstance(http, dict) else None)
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536 else None


def _read(path: Path) -> Any:
    try:
        return _parse(path.read_text(encoding="utf-8"), path.name)
    except (OSError, UnicodeDecodeError):
        return None


def _parse(text: str, name: str) -> Any:
    try:
        return json.loads(text) if name.endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError):
        return None


def _rel(path: Path, app_dir: Path) -> str:
    return path.relative_to(app_dir).as_posix() if path.is_relative_to(app_dir) else str(path)


def with_defaults(data: dict[str, Any], app_dir: Path, where: Path) -> dict[str, Any]:
    """``data`` (aurora.toml as read) with a plain Vert.x app's defaults for what it does not
    set: the port the app states, `/api` only, no websocket. Zero's (and an unknown app's) are
    the model's own defaults."""
    backend, web = data.get("backend"), data.get("web", {})
    if not isinstance(backend, dict) or not isinstance(web, dict):
        return data  # the model names what is wrong
    kind = detect(app_dir, backend)
    if kind.kind != "vertx":
        return data
    backend, web = dict(backend), dict(web)
    if "port" not in backend:
        if kind.port is None:
            raise ConfigError(
                f"{where}: backend -> port: not set, and this app does not say it: it is a plain Vert.x app"
                f" ({kind.evidence}), so Zero's port {ZERO_PORT} is not assumed, and neither `http.port` in its"
                " config (conf/*.json, *.yml, or such a file at the top of app.jar) nor -Dhttp.port in [backend]"
                " jvm_options names one",
                hint="set [backend] port = <the port the app's HTTP server listens on>")
        web_port = web.get("port", 8080)
        if kind.port == web_port:
            raise ConfigError(
                f"{where}: backend -> port: the app listens on {kind.port} ({kind.port_from}), which is also the"
                f" web server's port{'' if 'port' in web else ' (its default)'}: both run in one container",
                hint=f"set [web] port to another port (e.g. [web] port = {8081 if web_port == 8080 else 8080})")
        backend["port"] = kind.port
    web.setdefault("websocket", "")
    web.setdefault("backend_prefixes", [])
    return {**data, "backend": backend, "web": web}

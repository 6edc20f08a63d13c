"""What aurora reads from a Maven pom.xml without running Maven: the main class, the modules,
and whether the pom builds a front end itself.

Only what a pom states plainly is read: literal values and ``${property}`` references to the
pom's own <properties>. Anything else is left to the user, and init says so.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

# Vert.x launchers read the verticle to deploy from the manifest's Main-Verticle.
LAUNCHERS = frozenset({"io.vertx.core.Launcher", "io.vertx.launcher.application.VertxApplication"})
# Plugins that run npm/yarn from Maven, and the properties that skip them (their own switches).
FRONTEND_PLUGINS = {
    "frontend-maven-plugin": ("skip.installnodenpm", "skip.installyarn", "skip.npm", "skip.yarn", "skip.pnpm",
                              "skip.corepack", "skip.bun"),
    "exec-maven-plugin": ("exec.skip",),
}
_JAVA_NAME = re.compile(r"^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$")


@dataclass(frozen=True)
class PomFacts:
    path: Path
    main: str | None  # the main class the pom names (exec, shade, vertx-maven-plugin, properties)
    main_from: str  # where it was read, for messages
    verticle: str | None  # Vert.x's main verticle, when the main class is a launcher
    modules: tuple[str, ...]  # <modules> of an aggregator
    packaging: str
    frontend_plugins: tuple[str, ...]  # plugins that build the front end from Maven
    skip_properties: tuple[str, ...]  # the -D switches that skip them


def _strip(root: ET.Element) -> ET.Element:
    for el in root.iter():
        if isinstance(el.tag, str) and "}" in el.tag:
            el.tag = el.tag.split("}", 1)[1]
    return root


def _text(el: ET.Element | None) -> str | None:
    return el.text.strip() if el is not None and el.text and el.text.strip() else None


def _resolve(value: str | None, props: dict[str, str]) -> str | None:
    for _ in range(5):  # properties naming properties, a few levels deep
        if value is None or "${" not in value:
            break
        value = re.sub(r"\$\{([^}]+)\}", lambda m: props.get(m.group(1), m.group(0)), value)
    return value if value and _JAVA_NAME.match(value) else None


def _plugins(root: ET.Element) -> list[ET.Element]:
    return [p for p in root.iter("plugin") if _text(p.find("artifactId"))]


def _main_from_plugins(root: ET.Element, props: dict[str, str]) -> tuple[str | None, str, str | None]:
    verticle = None
    for plugin in _plugins(root):
        aid = _text(plugin.find("artifactId")) or ""
        if aid == "vertx-maven-plugin":
            verticle = _resolve(_text(plugin.find(".//verticle")), props) or verticle
            launcher = _resolve(_text(plugin.find(".//launcher")), props)
            if launcher or verticle:
                return launcher or "io.vertx.launcher.application.VertxApplication", "vertx-maven-plugin", verticle
        for tag, what in (("mainClass", aid), ("Main-Class", f"{aid} manifest entries")):
            for el in plugin.iter(tag):
                main = _resolve(_text(el), props)
                if main:
                    mv = _resolve(_text(plugin.find(".//Main-Verticle")), props)
                    return main, what, mv
    return None, "", verticle


def read(pom: Path) -> PomFacts:
    """The facts of one pom.xml; a pom that cannot be parsed gives empty facts."""
    try:
        root = _strip(ET.parse(pom).getroot())
    except (ET.ParseError, OSError):
        return PomFacts(pom, None, "", None, (), "jar", (), ())
    props = {el.tag: (el.text or "").strip() for el in root.findall("properties/*") if isinstance(el.tag, str)}
    main, where, verticle = _main_from_plugins(root, props)
    if main is None:
        for key in ("exec.mainClass", "main.class", "mainClass", "launcher.class", "vertx.launcher"):
            main = _resolve(props.get(key), props)
            if main:
                where = f"<{key}>"
                break
    verticle = verticle or _resolve(props.get("main.verticle") or props.get("vertx.verticle"), props)
    if main is None and verticle:
        main, where = "io.vertx.launcher.application.VertxApplication", "<main.verticle>"
    found = []
    for plugin in _plugins(root):
        aid = _text(plugin.find("artifactId")) or ""
        if aid in FRONTEND_PLUGINS and (aid != "exec-maven-plugin" or _runs_node(plugin)):
            found.append(aid)
    found = sorted(set(found))
    return PomFacts(
        path=pom, main=main, main_from=f"{pom.name} ({where})" if main else "", verticle=verticle,
        modules=tuple(m for m in (_text(e) for e in root.findall("modules/module")) if m),
        packaging=_text(root.find("packaging")) or "jar",
        frontend_plugins=tuple(found),
        skip_properties=tuple(p for aid in found for p in FRONTEND_PLUGINS[aid]),
    )


def _runs_node(plugin: ET.Element) -> bool:
    words = " ".join(el.text or "" for el in plugin.iter("executable"))
    return any(tool in words.split() for tool in ("npm", "yarn", "pnpm", "npx", "node"))


def main_module(root: Path) -> tuple[str, PomFacts] | None:
    """The module (relative folder) of a Maven build whose pom names a main class, or, failing
    that, the one holding a class with a ``main`` method or a verticle: ``(".", facts)`` for a
    single-module build. None when there is no pom."""
    top = root / "pom.xml"
    if not top.is_file():
        return None
    facts = read(top)
    if not facts.modules:
        return ".", facts
    found = [(m, read(root / m / "pom.xml")) for m in facts.modules if (root / m / "pom.xml").is_file()]
    named = [(m, f) for m, f in found if f.main]
    if named:
        return named[0]
    for m, f in found:
        if f.packaging == "jar" and _has_main(root / m / "src" / "main" / "java"):
            return m, f
    return ".", facts


def _has_main(src: Path) -> bool:
    for path in sorted(src.rglob("*.java")) if src.is_dir() else []:
        text = path.read_text(encoding="utf-8", errors="replace")
        if "static void main(" in text or re.search(r"extends\s+(Abstract)?Verticle\b|implements\s+Verticle\b", text):
            return True
    return False

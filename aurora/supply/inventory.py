"""What an image is made of, read from its files: pure functions, bytes in, components out.

The SBOM formats (``sbom.py``) lay these components out; nothing here knows CycloneDX or SPDX.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass, field, replace
from typing import Literal

from packageurl import PackageURL

Kind = Literal["deb", "maven", "jar", "application", "runtime", "npm", "binary"]


@dataclass(frozen=True)
class Component:
    kind: Kind
    name: str
    version: str | None = None
    group: str | None = None
    purl: str | None = None
    sha256: str | None = None
    sha512: str | None = None
    path: str | None = None  # where it is in the image (or the lockfile key, for npm)
    description: str | None = None
    scope: Literal["required", "excluded", "optional"] = "required"
    properties: tuple[tuple[str, str], ...] = ()
    parent: str | None = None  # bom-ref of the component that holds this one (a shaded jar)

    @property
    def ref(self) -> str:
        """A stable, unique bom-ref."""
        if self.purl and self.kind != "maven":
            return self.purl
        return f"{self.purl or self.name}#{self.path}" if self.path else (self.purl or self.name)


@dataclass(frozen=True)
class Inventory:
    image: str  # the reference it was read from, without transport
    digest: str  # manifest digest
    created: str | None
    components: tuple[Component, ...]
    notes: tuple[str, ...] = field(default=())  # what could not be described, said plainly

    def of(self, kind: Kind) -> list[Component]:
        return [c for c in self.components if c.kind == kind]


# -- Debian --------------------------------------------------------------------------------

def parse_control(text: str) -> list[dict[str, str]]:
    """Paragraphs of a Debian control file (dpkg's status database), field → value."""
    out: list[dict[str, str]] = []
    para: dict[str, str] = {}
    key = ""
    for line in text.splitlines():
        if not line.strip():
            if para:
                out.append(para)
            para, key = {}, ""
        elif line[0].isspace() and key:
            para[key] += "\n" + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            para[key] = value.strip()
    if para:
        out.append(para)
    return out


def os_release(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip()] = value.strip().strip('"')
    return out


def debian_packages(status_files: dict[str, bytes], distro: str | None) -> list[Component]:
    """Installed packages from ``var/lib/dpkg/status`` and distroless-style ``status.d/*``."""
    seen: dict[tuple[str, str], Component] = {}
    for path, data in sorted(status_files.items()):
        for para in parse_control(data.decode("utf-8", "replace")):
            status = para.get("Status", "install ok installed")
            if "Package" not in para or "Version" not in para or not status.endswith(" installed"):
                continue
            name, version, arch = para["Package"], para["Version"], para.get("Architecture", "all")
            qualifiers = {"arch": arch}
            if distro:
                qualifiers["distro"] = distro
            source = para.get("Source", "")
            props = [("aurora:dpkg-database", "/" + path)]
            if source:
                src_name = source.split(" ", 1)[0]
                src_version = source[len(src_name):].strip(" ()") or version
                qualifiers["upstream"] = src_name if src_version == version else f"{src_name}@{src_version}"
                props.append(("aurora:deb:source", source))
            purl = PackageURL("deb", "debian", name, version, qualifiers=qualifiers).to_string()
            seen[(name, arch)] = Component(
                "deb", name, version, purl=purl, description=para.get("Description", "").split("\n", 1)[0] or None,
                properties=tuple(props))
    return sorted(seen.values(), key=lambda c: (c.name, c.purl or ""))


# -- Java ----------------------------------------------------------------------------------

def _properties(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#!":
            continue
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


def _manifest(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    key = ""
    for line in text.splitlines():
        if line.startswith(" ") and key:
            out[key] += line[1:]
        elif ":" in line:
            key, _, value = line.partition(":")
            out[key.strip()] = value.strip()
        elif not line.strip():
            break  # the main section ends at the first blank line
    return out


_VERSIONED = re.compile(r"^(?P<name>.+?)-(?P<version>\d[\w.+-]*)$")


def jar_components(path: str, data: bytes, *, depth: int = 0) -> list[Component]:
    """The jar at ``path`` and what it carries: its Maven coordinates (every
    ``META-INF/maven/*/*/pom.properties``: a shaded jar holds several), and jars nested in it."""
    sha256 = hashlib.sha256(data).hexdigest()
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return [Component("jar", path.rsplit("/", 1)[-1], sha256=sha256, path="/" + path,
                          properties=(("aurora:note", "not a readable zip archive"),))]
    with zf:
        names = zf.namelist()
        poms = []
        for name in sorted(n for n in names if re.fullmatch(r"META-INF/maven/[^/]+/[^/]+/pom\.properties", n)):
            found = _properties(zf.read(name).decode("utf-8", "replace"))
            if found.get("artifactId") and found.get("groupId"):
                poms.append(found)
        manifest = _manifest(zf.read("META-INF/MANIFEST.MF").decode("utf-8", "replace")) \
            if "META-INF/MANIFEST.MF" in names else {}
        nested = [(n, zf.read(n)) for n in names if n.endswith(".jar") and depth == 0]
    file_name = path.rsplit("/", 1)[-1]
    stem = file_name.rsplit(".", 1)[0]
    main = _main_pom(poms, stem)
    props: list[tuple[str, str]] = [("aurora:path", "/" + path)]
    if manifest.get("Main-Class"):
        props.append(("aurora:java:main-class", manifest["Main-Class"]))
    if main is not None:
        comp = Component("maven", main["artifactId"], main.get("version"), group=main["groupId"],
                         purl=_maven_purl(main), sha256=sha256, path="/" + path, properties=tuple(props))
    else:
        m = _VERSIONED.match(stem)
        name = m.group("name") if m else stem
        version = manifest.get("Implementation-Version") or manifest.get("Bundle-Version") \
            or (m.group("version") if m else None)
        comp = Component("jar", name, version, sha256=sha256, path="/" + path,
                         description=manifest.get("Implementation-Title") or manifest.get("Bundle-Name"),
                         properties=(*props, ("aurora:note", "no pom.properties: no Maven coordinates")))
    out = [comp]
    for pom in poms:
        if pom is not main:  # shaded into this jar
            out.append(Component("maven", pom["artifactId"], pom.get("version"), group=pom["groupId"],
                                 purl=_maven_purl(pom), path="/" + path, parent=comp.ref,
                                 properties=(("aurora:path", "/" + path), ("aurora:java:shaded-in", "/" + path))))
    for name, inner in nested:
        for c in jar_components(f"{path}!/{name}", inner, depth=depth + 1):
            out.append(c if c.parent else _with_parent(c, comp.ref))
    return out


def _with_parent(c: Component, parent: str) -> Component:
    return replace(c, parent=parent)


def _main_pom(poms: list[dict[str, str]], stem: str) -> dict[str, str] | None:
    if not poms:
        return None
    for pom in poms:
        if stem == pom["artifactId"] or stem.startswith(pom["artifactId"] + "-"):
            return pom
    return poms[0] if len(poms) == 1 else None


def _maven_purl(pom: dict[str, str]) -> str:
    return PackageURL("maven", pom["groupId"], pom["artifactId"], pom.get("version") or None).to_string()


def java_runtime(release: bytes, modules_path: str = "/opt/java") -> Component:
    """The Java runtime from its ``release`` file: version, vendor and the jlink'd modules."""
    fields = os_release(release.decode("utf-8", "replace"))
    modules = fields.get("MODULES", "").split()
    props = [("aurora:path", modules_path), ("aurora:java:modules", ",".join(modules))]
    for key in ("JAVA_RUNTIME_VERSION", "IMPLEMENTOR", "IMPLEMENTOR_VERSION", "JAVA_VERSION_DATE"):
        if fields.get(key):
            props.append((f"aurora:java:{key.lower()}", fields[key]))
    version = fields.get("JAVA_VERSION")
    return Component("runtime", "openjdk", version,
                     purl=PackageURL("generic", None, "openjdk", version).to_string(),
                     description=f"Java runtime ({len(modules)} modules)" if modules else "Java runtime",
                     properties=tuple(props))


def binary(path: str, data: bytes, name: str, packages: list[Component]) -> Component:
    """A binary aurora puts in the image on purpose (nginx, tini), tied to its package if one is known."""
    pkg = next((p for p in packages if p.name == name), None)
    props = [("aurora:path", "/" + path)]
    if pkg is not None:
        props.append(("aurora:package", pkg.purl or pkg.name))
    return Component("binary", name, pkg.version if pkg else None, sha256=hashlib.sha256(data).hexdigest(),
                     path="/" + path, properties=tuple(props))


# -- npm -----------------------------------------------------------------------------------

def npm_packages(lock: dict, lockfile: str = "package-lock.json") -> list[Component]:
    """Packages of an npm lockfile (v2/v3 ``packages``; v1 ``dependencies``), dev ones marked."""
    out = []
    packages = lock.get("packages")
    if isinstance(packages, dict):
        items = [(key, meta) for key, meta in packages.items() if key and "node_modules/" in key]
        for key, meta in items:
            if meta.get("link"):
                continue
            name = meta.get("name") or key.rsplit("node_modules/", 1)[1]
            out.append(_npm(name, meta, key, lockfile))
    else:
        def walk(deps: dict, prefix: str) -> None:
            for name, meta in sorted(deps.items()):
                key = f"{prefix}node_modules/{name}"
                out.append(_npm(name, meta, key, lockfile))
                walk(meta.get("dependencies") or {}, key + "/")

        walk(lock.get("dependencies") or {}, "")
    return sorted(out, key=lambda c: (c.name, c.version or "", c.path or ""))


def _npm(name: str, meta: dict, key: str, lockfile: str) -> Component:
    version = meta.get("version")
    scope_name = name.split("/", 1) if name.startswith("@") else [None, name]
    purl = PackageURL("npm", scope_name[0], scope_name[1], version).to_string()
    dev = bool(meta.get("dev"))
    props = [("aurora:npm:lockfile", lockfile), ("aurora:npm:path", key),
             ("cdx:npm:package:development", "true" if dev else "false")]
    if meta.get("devOptional"):
        props.append(("aurora:npm:dev-optional", "true"))
    if meta.get("optional"):
        props.append(("aurora:npm:optional", "true"))
    if meta.get("resolved"):
        # A lockfile can carry a private registry's credentials in its URLs: never copy them.
        props.append(("aurora:npm:resolved", re.sub(r"^([a-z][a-z0-9+.-]*://)[^/@]*@", r"\1", meta["resolved"])))
    sha512 = None
    integrity = str(meta.get("integrity") or "")
    if integrity.startswith("sha512-"):
        try:
            sha512 = base64.b64decode(integrity[7:]).hex()
        except ValueError:
            sha512 = None
    return Component("npm", name, version, purl=purl, sha512=sha512, path=key,
                     scope="excluded" if dev else ("optional" if meta.get("optional") else "required"),
                     properties=tuple(props))

"""The apps the bench builds, and the edits each scenario makes to them.

- ``demo``: a copy of images/zero-demo, its back end built by its own backend/build.sh (Maven:
  the real Vert.x dependency tree in lib/).
- ``scaled``: the same app — its real dependency tree — with ~100 MB of real jars from
  /usr/share/java added to lib/ (Debian's Java library packages; installed with apt when too few
  are there; none that lib/ already has under its Maven name), ~10 MB of generated,
  deterministic static assets in the front end's public/ folder, and 300 generated domain
  classes (the jOOQ-style POJOs a Zero app carries) compiled into app.jar by Maven, which makes
  it ~0.7 MB — the demo's 11 kB app.jar is smaller than any real service's.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import sh

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "images" / "zero-demo"
JAVA_DIR = Path("/usr/share/java")

SDE_BASE = 1700000000      # app.jar entry times for the starting tree
SDE_CHANGED = 1710000000   # … after the "back-end code change"
SCALED_LIB_BYTES = 100_000_000
SCALED_STATIC_BYTES = 10_000_000
SCALED_DOMAIN_CLASSES = 300
DOMAIN_PACKAGE = "io.zero.demo.domain"
# Jars the demo's Maven build puts in lib/ (the real list is read from lib/ after the build):
# Debian's copies of them are not picked again for the scaled lib/.
DEMO_JARS = ("jackson-core", "netty-common", "snakeyaml", "vertx-core")
# Debian 12 packages whose jars (with their dependencies) add up to ~150 MB of distinct jars.
JAVA_LIB_PACKAGES = (
    "libicu4j-java", "libbcprov-java", "libbcpkix-java", "libfop-java", "scala-library",
    "libtomcat9-java", "libeclipse-jdt-core-java", "libapache-poi-java", "libderby-java",
    "libsaxonhe-java", "libnetty-java", "libclojure-java", "libjetty9-java", "libxalan2-java",
    "libpdfbox2-java", "libguava-java", "libcommons-lang3-java",
)
FRONTEND_FILE = "src/pages/Home.jsx"
FRONTEND_FROM = "<h1>Greeting</h1>"
FRONTEND_TO = "<h1>Greeting (changed by aurora bench)</h1>"
CONF_FILE = "vertx.yml"
CONF_LINE = "# changed by aurora bench\n"


# -- pure parts ----------------------------------------------------------------------------

def artifact_names(jar_names: list[str]) -> tuple[str, ...]:
    """Maven's lib/ names are <artifactId>-<version>.jar: the artifact ids, sorted."""
    out = set()
    for name in jar_names:
        m = re.match(r"^(.+?)-\d[^-]*(?:-.+)?\.jar$", name)
        out.add(m.group(1) if m else name.removesuffix(".jar"))
    return tuple(sorted(out))


def choose_jars(available: list[tuple[str, int]], target: int, exclude_prefixes=DEMO_JARS) -> list[tuple[str, int]]:
    """Distinct jars (name, size), in name order, until their sizes reach ``target``."""
    out, total = [], 0
    for name, size in sorted(available):
        if total >= target:
            break
        stem = name.removesuffix(".jar")
        if any(stem == p or (stem.startswith(p + "-") and stem[len(p) + 1:][:1].isdigit())
               for p in exclude_prefixes):
            continue
        out.append((name, size))
        total += size
    return out


def static_assets(total: int) -> list[tuple[str, int, str]]:
    """(path under public/, size, kind) of generated assets: ~70% binary (images), ~30% text."""
    binary, text = int(total * 0.7), total - int(total * 0.7)
    n_bin, n_txt = 16, 8
    out = [(f"assets/bench/photo-{i:02d}.webp", binary // n_bin, "binary") for i in range(n_bin)]
    out += [(f"assets/bench/catalog-{i:02d}.json", text // n_txt, "text") for i in range(n_txt)]
    return out


_WORDS = ("zero", "vertx", "aurora", "layer", "image", "react", "route", "login", "greeting", "static",
          "bundle", "asset", "cache", "jar", "conf", "nginx", "proxy", "tini", "jlink", "module")


def asset_bytes(name: str, size: int, kind: str) -> bytes:
    """Deterministic content for one asset: random bytes, or JSON-like text of words."""
    seed = hashlib.shake_256(f"aurora-bench:{name}".encode()).digest(max(size, 1) if kind == "binary" else size // 4 + 16)
    if kind == "binary":
        return seed[:size]
    i = 0
    body = bytearray(b'{"items": [\n')
    while len(body) < size - 8:
        w = _WORDS[seed[i % len(seed)] % len(_WORDS)]
        n = seed[(i + 1) % len(seed)]
        body += f'  {{"id": {i}, "name": "{w}-{n}", "score": {n * 7 % 101}}},\n'.encode()
        i += 1
    body += b"  {}\n]}\n"
    return bytes(body[:size]) if len(body) > size else bytes(body)


_FIELD_TYPES = ("String", "Long", "Integer", "Boolean", "java.math.BigDecimal", "java.time.LocalDateTime")
_FIELD_WORDS = ("code", "name", "status", "owner", "amount", "created", "updated", "tenant", "sigma",
                "language", "active", "metadata", "type", "category", "version", "comment", "serial",
                "model", "key", "parent")


def domain_class(i: int) -> tuple[str, str]:
    """(class name, Java source) of one deterministic domain class: 12–23 typed fields with
    getters, fluent setters, equals/hashCode/toString and a toMap()."""
    h = hashlib.shake_256(f"aurora-bench:class:{i}".encode()).digest(64)
    cls = f"Entity{i:04d}"
    fields = [(_FIELD_TYPES[h[j + 1] % len(_FIELD_TYPES)], f"{_FIELD_WORDS[h[j + 30] % len(_FIELD_WORDS)]}{j}")
              for j in range(12 + h[0] % 12)]
    names = [n for _, n in fields]
    out = [f"package {DOMAIN_PACKAGE};", "",
           "/** Generated by aurora bench: a domain class like the jOOQ POJOs a Zero app carries. */",
           f"public final class {cls} implements java.io.Serializable {{",
           "    private static final long serialVersionUID = 1L;"]
    out += [f"    private {t} {n};" for t, n in fields]
    out.append(f"    public {cls}() {{}}")
    for t, n in fields:
        cap = n[0].upper() + n[1:]
        out.append(f"    public {t} get{cap}() {{ return this.{n}; }}")
        out.append(f"    public {cls} set{cap}({t} value) {{ this.{n} = value; return this; }}")
    out.append("    @Override public boolean equals(Object o) {")
    out.append(f"        if (this == o) return true;\n        if (!(o instanceof {cls})) return false;")
    out.append(f"        {cls} other = ({cls}) o;")
    out.append("        return " + " && ".join(f"java.util.Objects.equals({n}, other.{n})" for n in names) + ";")
    out.append("    }")
    out.append("    @Override public int hashCode() { return java.util.Objects.hash(" + ", ".join(names) + "); }")
    body = ' + ", " + '.join(f'"{n}=" + {n}' for n in names)
    out.append(f'    @Override public String toString() {{ return "{cls}[" + {body} + "]"; }}')
    out.append("    public java.util.Map<String, Object> toMap() {")
    out.append("        java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();")
    out += [f'        m.put("{n}", {n});' for n in names]
    out += ["        return m;", "    }", "}"]
    return cls, "\n".join(out) + "\n"


# -- the workload --------------------------------------------------------------------------

def available_jars(folder: Path = JAVA_DIR) -> dict[str, Path]:
    """Distinct real jar files (symlinks resolved, one per real file and base name)."""
    out: dict[str, Path] = {}
    if not folder.is_dir():
        return out
    seen: set[Path] = set()
    for entry in sorted(folder.iterdir()):
        if not entry.name.endswith(".jar"):
            continue
        real = entry.resolve()
        if real in seen or not real.is_file():
            continue
        seen.add(real)
        out.setdefault(real.name, real)
    return out


def ensure_java_libraries(target: int) -> dict[str, Path]:
    jars = available_jars()
    if sum(p.stat().st_size for p in jars.values()) >= target * 1.1:
        return jars
    if os.geteuid() != 0:
        raise RuntimeError(f"fewer than {target / 1e6:.0f} MB of jars in {JAVA_DIR}; as root: "
                           f"apt-get install -y {' '.join(JAVA_LIB_PACKAGES)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    sh.run(["apt-get", "update", "-qq"], env=env, timeout=600)
    sh.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *JAVA_LIB_PACKAGES], env=env, timeout=1200)
    return available_jars()


@dataclass
class Workload:
    name: str
    app: Path
    extra_jars: list[Path] = field(default_factory=list)
    info: dict = field(default_factory=dict)
    originals: dict[str, bytes] = field(default_factory=dict)
    npm_ready: bool = False

    @property
    def dist(self) -> Path:
        return self.app / "backend" / "target" / "dist"

    @property
    def frontend(self) -> Path:
        return self.app / "frontend"

    def build_backend(self, epoch: int) -> None:
        sh.run(["sh", str(self.app / "backend" / "build.sh")],
               env={**os.environ, "SOURCE_DATE_EPOCH": str(epoch)}, timeout=600)
        for jar in self.extra_jars:
            shutil.copyfile(jar, self.dist / "lib" / jar.name)

    def reset(self) -> None:
        """Back to the starting tree: original sources, back end built with SDE_BASE."""
        for rel, data in self.originals.items():
            (self.app / rel).write_bytes(data)
        self.build_backend(SDE_BASE)

    def change_backend(self) -> None:
        self.build_backend(SDE_CHANGED)

    def change_frontend(self) -> None:
        path = self.frontend / FRONTEND_FILE
        text = path.read_text(encoding="utf-8")
        if FRONTEND_FROM not in text:
            raise RuntimeError(f"{path}: no {FRONTEND_FROM!r} to change; update bench/workloads.py")
        path.write_text(text.replace(FRONTEND_FROM, FRONTEND_TO, 1), encoding="utf-8")

    def change_conf(self) -> None:
        with open(self.dist / "conf" / CONF_FILE, "a", encoding="utf-8") as f:
            f.write(CONF_LINE)

    def host_frontend(self) -> float:
        """Build the front end on the host (for the naive baseline); returns the build's seconds."""
        if not self.npm_ready:
            sh.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=str(self.frontend), timeout=900)
            self.npm_ready = True
        t0 = time.monotonic()
        sh.run(["npm", "run", "build"], cwd=str(self.frontend), timeout=600)
        return time.monotonic() - t0


def prepare(name: str, base: Path, demo: Path | None = None) -> Workload:
    app = base / name / "zero-demo"
    shutil.copytree(demo or DEMO, app, ignore=shutil.ignore_patterns("node_modules", "target", "build", ".aurora"))
    wl = Workload(name, app)
    info: dict = {"extra_static_bytes": 0}
    if name == "scaled":
        wl.build_backend(SDE_BASE)  # the real dependency tree first: the extra jars come on top
        own = artifact_names([p.name for p in (wl.dist / "lib").glob("*.jar")])
        jars = ensure_java_libraries(SCALED_LIB_BYTES)
        chosen = choose_jars([(n, p.stat().st_size) for n, p in jars.items()], SCALED_LIB_BYTES, own)
        wl.extra_jars = [jars[n] for n, _ in chosen]
        public = wl.frontend / "public"
        for rel, size, kind in static_assets(SCALED_STATIC_BYTES):
            path = public / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(asset_bytes(rel, size, kind))
        info["extra_static_bytes"] = sum(s for _, s, _ in static_assets(SCALED_STATIC_BYTES))
        domain = app / "backend" / "src" / "main" / "java" / Path(*DOMAIN_PACKAGE.split("."))
        domain.mkdir(parents=True, exist_ok=True)
        for i in range(SCALED_DOMAIN_CLASSES):
            cls, source = domain_class(i)
            (domain / f"{cls}.java").write_text(source, encoding="utf-8")
        info["domain_classes"] = SCALED_DOMAIN_CLASSES
        info["extra_jars"] = [n for n, _ in chosen]
    elif name != "demo":
        raise ValueError(f"unknown workload {name!r}")
    wl.originals = {f"frontend/{FRONTEND_FILE}": (wl.frontend / FRONTEND_FILE).read_bytes()}
    wl.build_backend(SDE_BASE)
    libs = list((wl.dist / "lib").glob("*.jar"))
    info.update(lib_jars=len(libs), lib_bytes=sum(p.stat().st_size for p in libs),
                app_jar_bytes=(wl.dist / "app.jar").stat().st_size)
    wl.info = info
    return wl

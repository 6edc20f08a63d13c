"""``aurora base build``: the offline base set, made from Debian packages (12; 13 for Node 20).

For machines that cannot pull from any public registry: mmdebstrap makes a minimal Debian root
file system from the distribution's packages, buildah turns it into an image, and the JDK and
Node images are built on top with apt. The runtime base is unpacked with
``mmdebstrap --variant=extract`` — only nginx, tini, bash and the libraries they need. The
optional Node 20 stage (role ``node-20``) is the same Node image on a Debian 13 root
(``debian-13``), the Debian release that packages Node 20.
"""

from __future__ import annotations

import io
import re
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from aurora.engines.buildah import isolation
from aurora.errors import AuroraError, CommandError, UsageError
from aurora.host import runner
from aurora.pipeline.bases import OFFLINE_NODES, extra_node_refs, offline_node_problem, offline_refs
from aurora.report import Reporter
from aurora.resources import bases_dir

SUITE = "bookworm"
HOST_CA_DIR = Path("/usr/local/share/ca-certificates")
# What the runtime base does not need: documentation (but the copyright files), translations,
# charset converters no runtime here loads, apt leftovers.
PRUNE_PREFIXES = ("usr/share/doc/", "usr/share/man/", "usr/share/info/", "usr/share/locale/",
                  "usr/share/lintian/", "usr/share/bash-completion/", "var/cache/", "var/lib/apt/")
PRUNE_PARTS = ("/gconv/",)
# Dependencies that only matter to a distribution's service scripts, not in a container:
# nginx's init script calls `ip`, and iproute2 brings Kerberos, libdb and more.
CUT_DEPENDENCIES = {("nginx", "iproute2")}
# The runtime base's layout version: 2 records its packages in /var/lib/dpkg/status (for the
# SBOM); 3 adds nginx's brotli_static module (the image's nginx.conf loads it). A base with an
# older label or none is stale: `aurora base list` says so and `aurora build` asks for a rebuild.
FORMAT_LABEL = "io.aurora.base.format"
RUNTIME_FORMAT = "3"
STALE_WHY = {None: "it lists no packages for the SBOM", "2": "it has no brotli_static module for nginx"}


@dataclass(frozen=True)
class BaseBuild:
    mirror: str | None = None  # Debian mirror URL; default: mmdebstrap's
    ca_certs: tuple[Path, ...] = ()  # extra CAs for the build-stage bases (not the runtime)
    source_date_epoch: int = 0
    only: tuple[str, ...] = ()  # roles to (re)build; empty: all. jdk and node need debian.


def host_ca_certs() -> tuple[Path, ...]:
    """CAs added to this host the Debian way: builds behind a company proxy need them."""
    if not HOST_CA_DIR.is_dir():
        return ()
    return tuple(sorted(HOST_CA_DIR.glob("**/*.crt")))


DEFAULT_ROLES = ("debian", "runtime", "jdk", "node")


def optional_roles() -> dict[str, tuple[str, int]]:
    """``node-N`` → (Debian suite, release) for each Node stage beyond the default set."""
    return {f"node-{n}": OFFLINE_NODES[n] for n in sorted(OFFLINE_NODES) if f"node-{n}" in extra_node_refs()}


def debian_argv(spec: BaseBuild, out: Path, suite: str = SUITE) -> list[str]:
    argv = ["mmdebstrap", "--variant=minbase", "--include=ca-certificates", "--quiet"]
    for ca in spec.ca_certs:
        argv.append(f"--customize-hook=upload {ca} /usr/local/share/ca-certificates/{ca.stem}.crt")
    if spec.ca_certs:
        argv.append('--customize-hook=chroot "$1" update-ca-certificates')
    argv += [suite, str(out)]
    if spec.mirror:
        argv.append(spec.mirror)
    return argv


def runtime_argv(spec: BaseBuild, out: Path, packages: list[str]) -> list[str]:
    # The extract variant runs no hooks: the .debs stay in the tarball (skip cleanup) so that
    # prune_runtime can read their file lists and control data afterwards.
    argv = [
        "mmdebstrap", "--variant=extract", "--quiet", "--skip=cleanup/apt/cache",
        f"--include={','.join(packages)}",
        SUITE, str(out),
    ]
    if spec.mirror:
        argv.append(spec.mirror)
    return argv


def _ar_members(data: bytes) -> dict[str, bytes]:
    """Members of an ar archive (a .deb)."""
    if not data.startswith(b"!<arch>\n"):
        raise ValueError("not an ar archive")
    out, pos = {}, 8
    while pos + 60 <= len(data):
        header = data[pos:pos + 60]
        name = header[:16].decode().strip().rstrip("/")
        size = int(header[48:58].decode().strip())
        out[name] = data[pos + 60:pos + 60 + size]
        pos += 60 + size + (size % 2)
    return out


def read_control(data: bytes) -> str:
    """The control file of a .deb (its Package, Version, Architecture... paragraph)."""
    members = _ar_members(data)
    control_name = next(n for n in members if n.startswith("control.tar"))
    with tarfile.open(fileobj=io.BytesIO(members[control_name])) as tar:
        return tar.extractfile("./control").read().decode()  # type: ignore[union-attr]


def dpkg_status(controls: dict[str, str]) -> str:
    """A dpkg status database listing ``controls`` (package → control file) as installed.

    The extract variant installs nothing, so dpkg's database stays empty; this one records
    what was unpacked, where SBOM tools (aurora sbom, syft, trivy) look for it."""
    out = []
    for pkg in sorted(controls):
        lines = [line for line in controls[pkg].strip().splitlines() if line.strip()]
        at = next((i for i, line in enumerate(lines) if line.startswith("Package:")), 0) + 1
        out.append("\n".join([*lines[:at], "Status: install ok installed", *lines[at:]]) + "\n")
    return "\n".join(out)


def _add_text(out: tarfile.TarFile, name: str, text: str) -> None:
    data = text.encode()
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, 0
    out.addfile(info, io.BytesIO(data))


def read_deb(data: bytes) -> tuple[str, list[str], list[str]]:
    """(package, dependencies, files) of a .deb, files without the leading './'."""
    members = _ar_members(data)
    data_name = next(n for n in members if n.startswith("data.tar"))
    control = read_control(data)
    fields: dict[str, str] = {}
    key = ""
    for line in control.splitlines():
        if line[:1].isspace() and key:
            fields[key] += " " + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    deps = []
    for field in ("Pre-Depends", "Depends"):
        for group in filter(None, (g.strip() for g in fields.get(field, "").split(","))):
            deps.append("|".join(re.sub(r"\s*\(.*?\)|:\w+", "", alt).strip() for alt in group.split("|")))
    with tarfile.open(fileobj=io.BytesIO(members[data_name])) as tar:
        files = [m.name.removeprefix("./") for m in tar.getmembers() if not m.isdir()]
    return fields["Package"], deps, files


def prune_runtime(src: Path, dst: Path, roots: list[str]) -> tuple[set[str], set[str]]:
    """Copy the extracted root file system minus packages outside the roots' dependency closure
    (after CUT_DEPENDENCIES), documentation, translations and the downloaded .debs. The kept
    packages are recorded in /var/lib/dpkg/status, their files in /var/lib/dpkg/info/*.list."""
    with tarfile.open(src) as tar:
        members = tar.getmembers()
        debs = {}
        controls = {}
        for m in members:
            if m.isfile() and m.name.endswith(".deb") and "/var/cache/apt/archives/" in "/" + m.name.removeprefix("./"):
                raw = tar.extractfile(m).read()  # type: ignore[union-attr]
                pkg, deps, files = read_deb(raw)
                debs[pkg] = (deps, files)
                controls[pkg] = read_control(raw)
        kept: set[str] = set()
        todo = [r for r in roots if r in debs]
        while todo:
            pkg = todo.pop()
            if pkg in kept:
                continue
            kept.add(pkg)
            for group in debs[pkg][0]:
                choice = next((alt for alt in group.split("|") if alt in debs), None)
                if choice and (pkg, choice) not in CUT_DEPENDENCIES:
                    todo.append(choice)
        dropped = set(debs) - kept
        drop_files = {f for pkg in dropped for f in debs[pkg][1]}

        def keep(name: str) -> bool:
            rel = name.removeprefix("./")
            if rel in drop_files:
                return False
            if rel.startswith("usr/share/doc/") and rel.endswith("/copyright"):
                return True  # licences stay with the binaries they cover
            return not (rel.startswith(PRUNE_PREFIXES) or any(p in "/" + rel for p in PRUNE_PARTS))

        database = ("./var/lib/dpkg/status", *(f"./var/lib/dpkg/info/{p}.list" for p in kept))
        with tarfile.open(dst, "w", format=tarfile.PAX_FORMAT) as out:
            names = set()
            for m in members:
                if m.name in database:
                    continue  # extract's empty database: written below
                if keep(m.name):
                    out.addfile(m, tar.extractfile(m) if m.isfile() else None)
                    names.add(m.name.removeprefix("./").rstrip("/"))
            if "tmp" not in names:  # extract creates no /tmp; Java and nginx expect one
                tmp = tarfile.TarInfo("./tmp")
                tmp.type, tmp.mode, tmp.mtime = tarfile.DIRTYPE, 0o1777, 0
                out.addfile(tmp)
            _add_text(out, database[0], dpkg_status({p: controls[p] for p in kept}))
            for pkg in sorted(kept):
                listed = sorted("/" + f for f in debs[pkg][1] if keep("./" + f))
                _add_text(out, f"./var/lib/dpkg/info/{pkg}.list", "".join(f + "\n" for f in listed))
    return kept, dropped


def bud_argv(context: Path, tag: str, sde: int, base: str | None = None,
             labels: tuple[tuple[str, str], ...] = ()) -> list[str]:
    argv = [
        "buildah", "bud", f"--isolation={isolation()}", "--layers", f"--timestamp={sde}",
        "--identity-label=false", "--format=oci", "-t", tag,
    ]
    for key, value in labels:
        argv += ["--label", f"{key}={value}"]
    if base:
        argv += ["--build-arg", f"BASE={base}"]
    return argv + [str(context)]


def runtime_is_stale(ref: str) -> bool:
    """Whether the runtime base in local storage predates RUNTIME_FORMAT."""
    return runtime_stale_reason(ref) is not None


def runtime_stale_reason(ref: str) -> str | None:
    """What the runtime base in local storage lacks, if it predates RUNTIME_FORMAT; None when
    it is current (or not there: that is another error)."""
    result = runner.run(["buildah", "inspect", "--type", "image", "--format",
                         "{{index .OCIv1.Config.Labels \"" + FORMAT_LABEL + "\"}}", ref],
                        check=False, merge_stderr=False)
    found = result.output.strip()
    if result.returncode != 0 or found == RUNTIME_FORMAT:
        return None
    return STALE_WHY.get(found if found and found != "<no value>" else None, f"it has format {found}, not {RUNTIME_FORMAT}")


def present(ref: str) -> bool:
    """Whether ``ref`` is in this user's local storage."""
    return runner.run(["buildah", "inspect", "--type", "image", "--format", "{{.FromImageID}}", ref],
                      check=False, merge_stderr=False).returncode == 0


def runtime_packages() -> list[str]:
    text = (bases_dir() / "runtime.packages").read_text()
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def build(spec: BaseBuild, report: Reporter) -> dict[str, str]:
    """Build the offline set into local storage, one stage a base; returns role → image reference."""
    runner.which("mmdebstrap", why="to make the offline base images")
    runner.which("buildah", why="to build images")
    check_roles(spec.only)
    for ca in spec.ca_certs:
        if not ca.is_file():
            raise UsageError(f"--ca-cert {ca}: no such file")
    refs = offline_refs()
    env = {"SOURCE_DATE_EPOCH": str(spec.source_date_epoch)}
    with tempfile.TemporaryDirectory(prefix="aurora-bases-") as tmp:
        work = Path(tmp)
        wanted = set(spec.only) or set(DEFAULT_ROLES)
        for role in ("debian", "runtime"):
            if role in wanted:
                with report.stage(role):
                    _build_root(spec, role, work / role, refs[role], env, report)
        for role in ("jdk", "node"):
            if role not in wanted:
                continue
            with report.stage(role):
                report.note(f"{role}: {refs[role]} (apt inside {refs['debian']})")
                _run(bud_argv(bases_dir() / role, refs[role], spec.source_date_epoch, base=refs["debian"]),
                     report, None, f"building {refs[role]} failed")
        for role, (suite, release) in optional_roles().items():
            if role in wanted:
                refs.update(_build_node_on(spec, role, suite, release, work, report, env))
    return refs


def _build_root(spec: BaseBuild, role: str, ctx: Path, ref: str, env: dict, report: Reporter) -> None:
    """The debian or runtime base: a root file system from Debian packages (the runtime's
    pruned to what it needs), then the image of it."""
    shutil.copytree(bases_dir() / "rootfs", ctx)
    report.note(f"{role}: root file system from Debian {SUITE} packages (mmdebstrap)")
    argv = debian_argv(spec, ctx / "rootfs.tar") if role == "debian" else \
        runtime_argv(spec, ctx / "rootfs.tar", runtime_packages())
    _run(argv, report, env, f"mmdebstrap failed making the {role} root file system")
    if role == "runtime":
        raw = ctx / "rootfs.tar"
        pruned = ctx / "pruned.tar"
        kept, dropped = prune_runtime(raw, pruned, runtime_packages())
        pruned.replace(raw)
        report.note(f"runtime: kept {len(kept)} packages ({', '.join(sorted(kept))}); dropped {', '.join(sorted(dropped)) or 'none'}")
    report.note(f"{role}: {ref}")
    labels = ((FORMAT_LABEL, RUNTIME_FORMAT),) if role == "runtime" else ()
    _run(bud_argv(ctx, ref, spec.source_date_epoch, labels=labels), report, None, f"building {ref} failed")
    (ctx / "rootfs.tar").unlink()


def check_roles(only: tuple[str, ...]) -> None:
    roles = [*DEFAULT_ROLES, *optional_roles()]
    for role in only:
        if role in roles:
            continue
        node = role.removeprefix("node-")
        problem = offline_node_problem(int(node)) if role.startswith("node-") and node.isdigit() else None
        raise UsageError(f"--only {role}: {problem}" if problem else f"--only {role}: choose from {', '.join(roles)}")


def _build_node_on(spec: BaseBuild, role: str, suite: str, release: int, work: Path, report: Reporter,
                   env: dict) -> dict[str, str]:
    """An optional Node stage: a Debian root of the release that packages it, then the same
    Node image as the default set's on top (apt installs that release's nodejs and npm)."""
    extra = extra_node_refs()
    debian, node = extra[f"debian-{release}"], extra[role]
    ctx = work / f"debian-{release}"
    shutil.copytree(bases_dir() / "rootfs", ctx)
    with report.stage(f"debian-{release}"):
        report.note(f"debian-{release}: root file system from Debian {suite} packages (mmdebstrap)")
        _run(debian_argv(spec, ctx / "rootfs.tar", suite), report, env,
             f"mmdebstrap failed making the Debian {release} root file system")
        report.note(f"debian-{release}: {debian}")
        _run(bud_argv(ctx, debian, spec.source_date_epoch), report, None, f"building {debian} failed")
        (ctx / "rootfs.tar").unlink()
    with report.stage(role):
        report.note(f"{role}: {node} (apt inside {debian})")
        _run(bud_argv(bases_dir() / "node", node, spec.source_date_epoch, base=debian), report, None,
             f"building {node} failed")
    return {f"debian-{release}": debian, role: node}


def _run(argv: list[str], report: Reporter, env: dict | None, what: str) -> None:
    """Run a step of a base's build, its output as the report's; a failure with its last lines."""
    try:
        runner.run(argv, stream=report.output, env=env)
    except CommandError as exc:
        tail = "\n".join("  " + line for line in exc.output_tail.splitlines()[-20:])
        raise AuroraError(
            f"{what}:\n{tail}",
            hint="check that this machine reaches a Debian mirror (apt-get update works), or pass --mirror",
        ) from None


def save(folder: Path, report: Reporter) -> list[Path]:
    """Write each offline base to FOLDER/<role>.tar (OCI archives), to carry to another machine
    or user: build once where Debian's mirror is reachable, load everywhere else."""
    runner.which("buildah", why="to export images")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    # The optional Node stages go along when they are here (not their Debian roots: a build
    # needs only the Node image).
    extras = {role: ref for role, ref in extra_node_refs().items() if role.startswith("node-") and present(ref)}
    for role, ref in {**offline_refs(), **extras}.items():
        out = folder / f"{role}.tar"
        out.unlink(missing_ok=True)
        try:
            runner.run(["buildah", "push", "--quiet", ref, f"oci-archive:{out}:{ref}"], stream=report.output)
        except CommandError as exc:
            out.unlink(missing_ok=True)
            raise AuroraError(f"cannot export {ref}: {exc.output_tail.strip()}",
                              hint="make the offline set first: `aurora base build`") from None
        written.append(out)
    return written


def load(folder: Path, report: Reporter) -> dict[str, str]:
    """Load archives written by ``save`` into this user's local storage, under their names."""
    runner.which("buildah", why="to import images")
    refs = offline_refs()
    missing = [f"{role}.tar" for role in refs if not (folder / f"{role}.tar").is_file()]
    if missing:
        raise UsageError(f"{folder}: missing {', '.join(missing)}", hint="write them with `aurora base save`")
    refs.update({role: ref for role, ref in extra_node_refs().items() if (folder / f"{role}.tar").is_file()})
    for role, ref in refs.items():
        try:
            image_id = runner.output(["buildah", "pull", "--quiet", f"oci-archive:{folder / (role + '.tar')}"],
                                     merge_stderr=False).splitlines()[-1]
            runner.run(["buildah", "tag", image_id, ref])
        except CommandError as exc:
            raise AuroraError(f"cannot load {role}.tar: {exc.output_tail.strip()}") from None
        report.output(f"{ref} ({image_id[:12]})")
    return refs

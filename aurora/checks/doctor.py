"""``aurora doctor``: what this host can do, and a one-line fix for what it cannot.

``gather()`` reads the host (files, a few commands, one trial container); every check is a pure
function of that ``HostState``, so recorded states of other hosts test them.
The fixes for a runtime's known error texts (``aurora.host.hints``) are the same ones other
commands print.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import resource
import shutil
import stat
import tomllib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from aurora.checks.report import Check, Report
from aurora.host import runner
from aurora.host.hints import hint_for
from aurora.host.registry import default_authfile

TOOLS = ("buildah", "podman", "skopeo", "mmdebstrap", "runc", "crun", "newuidmap", "newgidmap",
         "fuse-overlayfs", "slirp4netns", "catatonit", "docker-registry")
CONTAINERS_CONF = ("/usr/share/containers/containers.conf", "/etc/containers/containers.conf")


@dataclass
class HostState:
    """Everything the checks look at. Recorded as JSON for tests (tests/data/hosts/)."""

    user: str = "root"
    uid: int = 0
    tools: dict[str, str | None] = field(default_factory=dict)  # tool → version line, None if absent
    cgroup_fs: str = ""  # `stat -fc %T /sys/fs/cgroup`: cgroup2fs, tmpfs
    cgroup_unified: bool = False  # /sys/fs/cgroup/unified is a cgroup2 mount (hybrid)
    podman_runtime: str | None = None  # what podman uses (podman info)
    runtime_trials: dict[str, str] = field(default_factory=dict)  # runtime → "ok" or its error
    nofile_hard: int | None = None
    nproc_hard: int | None = None
    default_ulimits: list[str] = field(default_factory=list)  # from containers.conf
    storage_driver: str | None = None
    subuid: bool = False
    subgid: bool = False
    newuidmap_setuid: bool = False
    tun_mode: int | None = None  # /dev/net/tun permission bits
    fuse_mode: int | None = None
    max_user_namespaces: int | None = None
    binfmt: list[str] = field(default_factory=list)  # registered qemu-* handlers
    auth_file: str | None = None
    auth_file_exists: bool = False


def cgroup_version(state: HostState) -> str:
    if state.cgroup_fs == "cgroup2fs":
        return "v2"
    return "hybrid" if state.cgroup_unified else "v1"


def _version(line: str | None) -> tuple[int, ...]:
    m = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", line or "")
    return tuple(int(x) for x in m.groups() if x is not None) if m else ()


def _tools(state: HostState) -> Iterator[Check]:
    for tool in ("buildah", "podman", "skopeo"):
        v = state.tools.get(tool)
        yield Check(tool, "pass", v) if v else Check(tool, "fail", "not installed", f"apt-get install {tool}")
    b = _version(state.tools.get("buildah"))
    if b:
        yield Check("buildah features", "pass", "--source-date-epoch and --rewrite-timestamp available; aurora uses --timestamp"
                    if b >= (1, 41) else
                    f"buildah {'.'.join(map(str, b))}: --timestamp (reproducible); --source-date-epoch needs 1.41, not required")
    for tool, why in (("mmdebstrap", "`aurora base build` (offline bases)"), ("catatonit", "podman pods (`aurora smoke --kube`)")):
        yield (Check(tool, "pass", state.tools.get(tool) or "") if state.tools.get(tool)
               else Check(tool, "warn", f"not installed: needed for {why}", f"apt-get install {tool}"))


def _cgroups(state: HostState) -> Iterator[Check]:
    cg = cgroup_version(state)
    runtimes = [r for r in ("crun", "runc") if state.tools.get(r)]
    if cg == "v2":
        yield Check("cgroups", "pass", "cgroup v2 (unified): crun and runc both work")
        return
    detail = f"cgroup {cg}: crun refuses it ('cgroups in hybrid mode not supported'); runc works"
    if state.podman_runtime == "crun":
        yield Check("cgroups", "fail", detail + "; podman is set to crun", 'set runtime = "runc" under [engine] in /etc/containers/containers.conf')
    elif "runc" not in runtimes:
        yield Check("cgroups", "fail", detail + "; runc is not installed", "apt-get install runc")
    elif state.podman_runtime == "runc":
        yield Check("cgroups", "pass", detail)
    else:
        yield Check("cgroups", "warn", detail, 'set runtime = "runc" under [engine] in containers.conf')


def _runtimes(state: HostState) -> Iterator[Check]:
    for runtime, result in sorted(state.runtime_trials.items()):
        if result == "ok":
            yield Check(f"run with {runtime}", "pass", "a trial container started and exited 0")
            continue
        # Only the runtime podman uses must work; another one failing is worth knowing.
        used = runtime == state.podman_runtime
        yield Check(f"run with {runtime}", "fail" if used else "warn",
                    ("" if used else "(podman uses " + str(state.podman_runtime) + ") ") + result[-200:],
                    hint_for(result) or "see `podman --log-level=debug run ...`")


def _ulimits(state: HostState) -> Iterator[Check]:
    if state.nofile_hard is None:
        return
    asked = _ulimit(state.default_ulimits, "nofile") or 1048576
    if asked > state.nofile_hard:
        yield Check("ulimits", "fail",
                    f"containers ask for nofile={asked} but this host's hard limit is {state.nofile_hard}: runc fails with 'error setting rlimits'",
                    f'default_ulimits = ["nofile={state.nofile_hard}:{state.nofile_hard}", "nproc=32768:32768"] under [containers] in containers.conf')
    else:
        yield Check("ulimits", "pass", f"nofile {asked} within the hard limit {state.nofile_hard}")


def _storage(state: HostState) -> Iterator[Check]:
    if state.storage_driver == "vfs":
        yield Check("storage", "warn", "vfs copies every layer: builds are several times slower",
                    'driver = "overlay" under [storage] in storage.conf (kernel >= 5.13 or fuse-overlayfs)')
    elif state.storage_driver:
        yield Check("storage", "pass", state.storage_driver)


def _rootless(state: HostState) -> Iterator[Check]:
    """Rootless prerequisites (reported for root too: they decide whether users can build)."""
    if state.uid != 0:
        yield (Check("subuid/subgid", "pass", f"ranges for {state.user}") if state.subuid and state.subgid else
               Check("subuid/subgid", "fail", f"no /etc/subuid or /etc/subgid range for {state.user}",
                     f"echo {state.user}:100000:65536 | sudo tee -a /etc/subuid /etc/subgid"))
    if not state.tools.get("newuidmap"):
        yield Check("newuidmap", "warn", "not installed: rootless builds need it", "apt-get install uidmap")
    elif not state.newuidmap_setuid:
        yield Check("newuidmap", "warn", "newuidmap is not setuid root: rootless user namespaces will fail", "chmod u+s /usr/bin/newuidmap /usr/bin/newgidmap")
    else:
        yield Check("newuidmap", "pass", "setuid")
    if state.max_user_namespaces == 0:
        yield Check("user namespaces", "fail", "user.max_user_namespaces = 0: rootless is impossible", "sysctl -w user.max_user_namespaces=15000")
    elif state.max_user_namespaces is not None:
        yield Check("user namespaces", "pass", f"max {state.max_user_namespaces}")


def _devices(state: HostState) -> Iterator[Check]:
    if state.tun_mode is None:
        yield Check("/dev/net/tun", "warn", "missing: rootless podman networking (slirp4netns) will fail", "modprobe tun")
    elif state.tun_mode & 0o006 != 0o006:
        yield Check("/dev/net/tun", "warn", f"mode {state.tun_mode:o}: rootless slirp4netns fails with 'open(\"/dev/net/tun\"): Permission denied'", "chmod 666 /dev/net/tun")
    else:
        yield Check("/dev/net/tun", "pass", f"mode {state.tun_mode:o}")
    if state.fuse_mode is not None and state.fuse_mode & 0o006 != 0o006:
        yield Check("/dev/fuse", "warn", f"mode {state.fuse_mode:o}: rootless fuse-overlayfs cannot mount", "chmod 666 /dev/fuse")


def _binfmt(state: HostState) -> Iterator[Check]:
    if state.binfmt:
        yield Check("foreign architectures", "pass", "binfmt handlers: " + ", ".join(sorted(state.binfmt)))
    else:
        yield Check("foreign architectures", "warn", "no qemu binfmt handlers: only this machine's architecture can be built",
                    "apt-get install qemu-user-static binfmt-support && update-binfmts --enable")


def _auth(state: HostState) -> Iterator[Check]:
    if state.auth_file_exists:
        yield Check("registry auth", "pass", f"{state.auth_file}")
    else:
        yield Check("registry auth", "warn", f"no auth file yet ({state.auth_file or 'REGISTRY_AUTH_FILE unset'}); pushes to private registries need a login",
                    "podman login REGISTRY (or pass --authfile)")


RULES: tuple[Callable[[HostState], Iterable[Check]], ...] = (
    _tools, _cgroups, _runtimes, _ulimits, _storage, _rootless, _devices, _binfmt, _auth)


def check(state: HostState) -> list[Check]:
    """Every rule over ``state``, in the order `aurora doctor` prints them."""
    return [c for rule in RULES for c in rule(state)]


def report(state: HostState) -> Report:
    """`aurora doctor`'s report: the checks, and the state they read as its facts."""
    return Report("doctor", "this host", check(state), {"state": asdict(state)})


def _ulimit(items: list[str], name: str) -> int | None:
    for item in items:
        key, _, value = item.partition("=")
        if key.strip() == name:
            soft = value.split(":")[0]
            return int(soft) if soft.isdigit() else None
    return None


# -- gathering ------------------------------------------------------------------------------


def _cmd(argv: list[str]) -> tuple[int, str]:
    try:
        r = runner.run(argv, check=False, timeout=60)
        return r.returncode, r.output
    except Exception as exc:  # a missing tool, a timeout: part of the host's state
        return 1, str(exc)


def _mode(path: str) -> int | None:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return None


def gather(trial_image: str | None = None) -> HostState:
    """This host's state: tools, cgroups, limits, podman's runtime and storage, rootless parts."""
    s = HostState(user=getpass.getuser(), uid=os.getuid())
    _gather_tools(s)
    code, out = _cmd(["stat", "-fc", "%T", "/sys/fs/cgroup"])
    if code == 0:
        s.cgroup_fs = out.strip()
    code, out = _cmd(["stat", "-fc", "%T", "/sys/fs/cgroup/unified"])
    s.cgroup_unified = code == 0 and out.strip() == "cgroup2fs"
    s.nofile_hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    s.nproc_hard = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    for conf in (*CONTAINERS_CONF, str(Path.home() / ".config/containers/containers.conf")):
        try:
            data = tomllib.loads(Path(conf).read_text())
            ul = (data.get("containers") or {}).get("default_ulimits")
            if ul is not None:
                s.default_ulimits = list(ul)
        except (OSError, ValueError):
            pass
    if s.tools.get("podman"):
        _gather_podman(s, trial_image)
    _gather_rootless(s)
    auth = default_authfile()
    if auth is None:
        runtime_dir = os.environ.get("XDG_RUNTIME_DIR")
        auth = Path(runtime_dir) / "containers" / "auth.json" if runtime_dir else None
    s.auth_file = str(auth) if auth else None
    s.auth_file_exists = bool(auth and auth.is_file())
    return s


def _gather_tools(s: HostState) -> None:
    for tool in TOOLS:
        path = shutil.which(tool) or (f"/usr/sbin/{tool}" if os.path.exists(f"/usr/sbin/{tool}") else None)
        if path is None:
            s.tools[tool] = None
            continue
        # Some tools print no useful version line; their path says enough.
        code, out = _cmd([path, "--version"]) if tool not in ("newuidmap", "newgidmap", "catatonit", "docker-registry", "fuse-overlayfs") else (0, path)
        s.tools[tool] = (out.strip().splitlines() or [path])[0][:120] if code == 0 or out else path


def _gather_podman(s: HostState, trial_image: str | None) -> None:
    code, out = _cmd(["podman", "info", "--format", "json"])
    if code == 0:
        try:
            info = json.loads(out[out.index("{"):])
            s.podman_runtime = (info.get("host", {}).get("ociRuntime") or {}).get("name")
            s.storage_driver = info.get("store", {}).get("graphDriverName")
        except (ValueError, AttributeError):
            pass
    if trial_image:
        for runtime in ("runc", "crun"):
            if s.tools.get(runtime):
                code, out = _cmd(["podman", "run", "--rm", "--network=none", "--runtime", runtime, trial_image, "bash", "-c", "exit 0"])
                s.runtime_trials[runtime] = "ok" if code == 0 else out.strip()


def _gather_rootless(s: HostState) -> None:
    for f, attr in (("/etc/subuid", "subuid"), ("/etc/subgid", "subgid")):
        try:
            setattr(s, attr, any(line.split(":")[0] in (s.user, str(s.uid)) for line in Path(f).read_text().splitlines()))
        except OSError:
            pass
    try:
        s.newuidmap_setuid = bool(os.stat(shutil.which("newuidmap") or "/usr/bin/newuidmap").st_mode & stat.S_ISUID)
    except OSError:
        pass
    s.tun_mode = _mode("/dev/net/tun")
    s.fuse_mode = _mode("/dev/fuse")
    try:
        s.max_user_namespaces = int(Path("/proc/sys/user/max_user_namespaces").read_text())
    except (OSError, ValueError):
        pass
    try:
        s.binfmt = sorted(p.name for p in Path("/proc/sys/fs/binfmt_misc").iterdir() if p.name.startswith("qemu-"))
    except OSError:
        pass


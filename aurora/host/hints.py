"""Known container-runtime failures and the one-line fix for each: `aurora doctor` prints the
same fix as an engine or `aurora smoke` that hits the failure."""

from __future__ import annotations

import re

KNOWN = [
    (re.compile(r"cgroups in hybrid mode not supported|crun: .*cgroup", re.I),
     'crun refuses cgroup v1/hybrid hosts: use runc (runtime = "runc" under [engine] in containers.conf, or --runtime runc)'),
    (re.compile(r"setrlimit|error setting rlimit", re.I),
     "the container asks for more open files/processes than this host allows: set default_ulimits in containers.conf to the host's hard limits (see `aurora doctor`)"),
    (re.compile(r'/dev/net/tun.*permission denied|slirp4netns failed', re.I),
     "rootless networking cannot open /dev/net/tun: chmod 666 /dev/net/tun (or run with --network none)"),
    (re.compile(r"catatonit", re.I), "podman needs catatonit for pods: apt-get install catatonit"),
    (re.compile(r"newuidmap|cannot set up namespace|no subuid ranges", re.I),
     "rootless user namespaces are not set up: add /etc/subuid and /etc/subgid ranges and install uidmap"),
    (re.compile(r"fuse: .*permission denied|fuse-overlayfs: cannot mount", re.I), "chmod 666 /dev/fuse, or use native overlay (kernel >= 5.13)"),
    (re.compile(r"lookup registry-1\.docker\.io|docker\.io.*(no such host|i/o timeout|connection refused)", re.I),
     "Docker Hub cannot be reached from here: use the offline bases (`--bases offline`; `aurora base build` makes "
     "them from Debian packages), or set [bases] mirror = \"HOST[/PATH]\" for a company mirror"),
]


def hint_for(error_text: str) -> str | None:
    """The doctor's fix for a known container-runtime failure, or None."""
    for pattern, fix in KNOWN:
        if pattern.search(error_text):
            return fix
    return None

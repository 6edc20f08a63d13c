#!/bin/bash
# Prepare a Debian 12 host for aurora: container tools, and a containers.conf that fits the
# host. Run as root. Prints what it changed. Safe to run again.
set -euo pipefail

# patchelf: the kaniko tests carry aurora into the executor's image (tests/integration/kaniko.py).
packages=(buildah podman skopeo runc crun fuse-overlayfs uidmap slirp4netns
          docker-registry mmdebstrap apache2-utils catatonit openssl procps containerd openjdk-17-jdk-headless
          maven mariadb-server qemu-user-static   # mariadb: the database tests (tests/integration/test_database.py); qemu: the arm64 image's runtime, user mode
          python3-venv git curl ca-certificates shellcheck patchelf
          chromium   # the browser test (tests/integration/test_browser.py), driven by Playwright
          etcd-server containernetworking-plugins iptables conntrack iproute2)  # the one-node Kubernetes of the kube tests (tests/integration/kubenode.py)
# node and npm for the workflow linter: Debian's, unless the machine already has a Node.js.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "host-setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# podman's defaults assume cgroup v2 and generous ulimits. Detect what this host has and write
# a containers.conf that works here (only when none exists: never overwrite the admin's).
conf=/etc/containers/containers.conf
if [ ! -e "$conf" ]; then
  runtime=""
  if [ "$(stat -fc %T /sys/fs/cgroup)" != "cgroup2fs" ]; then
    runtime="runc"   # crun refuses cgroup v1 and hybrid hosts
    echo "host-setup: cgroup v1/hybrid host: using runc"
  fi
  # podman asks for nofile=1048576; a host whose hard limit is lower makes runc fail with
  # "error setting rlimits". Ask for what the host allows (nproc: podman's usual 32768).
  nofile=$(ulimit -Hn); nproc=$(ulimit -Hu)
  [ "$nofile" = unlimited ] || [ "$nofile" -gt 1048576 ] && nofile=1048576
  [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ] && nproc=32768
  {
    echo "# written by aurora's scripts/host-setup.sh for this host"
    echo "[containers]"
    echo "default_ulimits = [\"nofile=${nofile}:${nofile}\", \"nproc=${nproc}:${nproc}\"]"
    echo "[engine]"
    [ -n "$runtime" ] && echo "runtime = \"$runtime\""
    true
  } > "$conf"
  echo "host-setup: wrote $conf"
fi

# Rootless podman with slirp4netns needs /dev/net/tun usable by normal users.
if [ -e /dev/net/tun ] && [ "$(stat -c %a /dev/net/tun)" = 600 ]; then
  chmod 666 /dev/net/tun && echo "host-setup: made /dev/net/tun usable for rootless networking"
fi

#!/bin/bash
# The Kubernetes binaries of the tests' one-node cluster (tests/integration/kubenode.py), built
# from the Go module proxy into a cache keyed by version, once per machine:
#   bash scripts/kube-node.sh      prints the directory that holds them
# kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy and kubectl
# come from k8s.io/kubernetes at the version tests/tools/kube/go.mod pins (a wrapper module:
# k8s.io/kubernetes cannot be built on its own from the proxy, it requires its staging
# modules at v0.0.0); coredns is tests/tools/coredns (CoreDNS at the version its go.mod pins,
# with the plugins the node's Corefile uses). They are rebuilt when either wrapper module
# changes. One build at a time: a second caller (the kube tests' fixture while
# scripts/quickstart.sh still builds in the background) waits for the first and reuses its work.
set -euo pipefail
cd "$(dirname "$0")/../tests/tools"
bin="${AURORA_TEST_BIN:-$HOME/.cache/aurora-tests/bin}"
PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || { echo "kube-node: Go is needed to build Kubernetes (apt-get install golang-go)" >&2; exit 1; }
# The version a module requires, in a require line or a require block.
required() { awk -v m="$1" '($1 == "require" && $2 == m) {print $3} ($1 == m && NF == 2) {print $2}' "$2"; }
version=$(required k8s.io/kubernetes kube/go.mod)
[ -n "$version" ] || { echo "kube-node: no k8s.io/kubernetes in tests/tools/kube/go.mod" >&2; exit 1; }
coredns=$(required github.com/coredns/coredns coredns/go.mod)
out="$bin/kube-$version"
commands="kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl"
# What each part was built from: the binaries are kept while it is unchanged.
kube_inputs() { cat kube/go.mod kube/go.sum; }
coredns_inputs() { cat coredns/go.mod coredns/go.sum coredns/main.go; }
current() { cmp -s "$out/.$1.sum" <("$1_inputs"); }
complete() {
  for c in $commands coredns; do [ -x "$out/$c" ] || return 1; done
  current kube && current coredns
}
mkdir -p "$bin"
exec 9>"$bin/.kube-node.lock"
flock 9
if complete; then
  echo "$out"
  exit 0
fi
mkdir -p "$out"
current kube || rm -f "$out"/kube*
current coredns || rm -f "$out/coredns"
minor=${version#v1.}; minor=${minor%%.*}
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$version \
 -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor \
 -X k8s.io/component-base/version.gitTreeState=clean \
 -X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z"
export CGO_ENABLED=0 GOFLAGS="-mod=readonly ${KUBE_GOFLAGS:--p=2}"
total=$(date +%s)
for c in $commands; do
  [ -x "$out/$c" ] && continue
  echo "kube-node: building $c $version (once per machine)" >&2
  start=$(date +%s)
  (cd kube && nice -n 10 go build -trimpath -ldflags="$ldflags" -o "$out/$c.tmp" "k8s.io/kubernetes/cmd/$c")
  mv "$out/$c.tmp" "$out/$c"
  echo "kube-node: $c built in $(( $(date +%s) - start ))s" >&2
done
if [ ! -x "$out/coredns" ]; then
  echo "kube-node: building coredns $coredns" >&2
  start=$(date +%s)
  (cd coredns && nice -n 10 go build -trimpath \
    -ldflags="-s -w -X github.com/coredns/coredns/coremain.GitCommit=$coredns" -o "$out/coredns.tmp" .)
  mv "$out/coredns.tmp" "$out/coredns"
  echo "kube-node: coredns built in $(( $(date +%s) - start ))s" >&2
fi
kube_inputs > "$out/.kube.sum"
coredns_inputs > "$out/.coredns.sum"
echo "kube-node: done in $(( $(date +%s) - total ))s" >&2
echo "$out"

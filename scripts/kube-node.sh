#!/bin/bash
# The Kubernetes binaries of the tests' one-node cluster (tests/integration/kubenode.py), built
# from the Go module proxy into a cache keyed by version, once per machine:
#   bash scripts/kube-node.sh      prints the directory that holds them
# kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy and kubectl
# come from k8s.io/kubernetes at the version tests/tools/kube/go.mod pins (a wrapper module:
# k8s.io/kubernetes cannot be built on its own from the proxy, it requires its staging
# modules at v0.0.0); coredns from the version tests/tools/coredns/go.mod pins.
# They are rebuilt when either wrapper module changes. Takes 15-30 minutes on 2 busy cores.
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
stamp="$out/.sum"
commands="kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl"
complete() {
  for c in $commands coredns; do [ -x "$out/$c" ] || return 1; done
  cmp -s "$stamp" <(cat kube/go.mod kube/go.sum coredns/go.mod coredns/go.sum)
}
if complete; then
  echo "$out"
  exit 0
fi
mkdir -p "$out"
if ! cmp -s "$stamp" <(cat kube/go.mod kube/go.sum coredns/go.mod coredns/go.sum); then
  rm -f "$out"/kube* "$out/coredns"
fi
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
    -ldflags="-s -w -X github.com/coredns/coredns/coremain.GitCommit=$coredns" \
    -o "$out/coredns.tmp" github.com/coredns/coredns)
  mv "$out/coredns.tmp" "$out/coredns"
  echo "kube-node: coredns built in $(( $(date +%s) - start ))s" >&2
fi
cat kube/go.mod kube/go.sum coredns/go.mod coredns/go.sum > "$stamp"
echo "kube-node: done in $(( $(date +%s) - total ))s" >&2
echo "$out"

#!/bin/bash
# Tools the supply-chain tests use, built from the Go module proxy into a cache (tests only;
# aurora itself needs neither):
#   syft        the SBOM cross-check: it must find no Java or Debian package aurora leaves out
#   policypull  a pull through containers/image with a signature policy, as podman/CRI-O do
#               (Debian 12's podman and skopeo are built with sigstore disabled)
#   kaniko-executor-VERSION  the kaniko executor the kaniko tests run in its own container
#               (scripts/kaniko-executor.sh: the module and version tests/tools/kaniko/go.mod pins)
#   kube-VERSION/  Kubernetes and CoreDNS for the one-node cluster of the kube tests
#               (scripts/kube-node.sh: the versions tests/tools/kube and tests/tools/coredns pin)
#   --background  the kaniko executor and Kubernetes built in the background (pid in background-build.pid)
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${AURORA_TEST_BIN:-$HOME/.cache/aurora-tests/bin}"
mkdir -p "$bin"
PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || { echo "test-tools: Go is needed (apt-get install golang, or /usr/local/go)" >&2; exit 1; }
SYFT_VERSION=v1.57.1
if [ ! -x "$bin/syft" ] || [ "$(cat "$bin/syft.version" 2>/dev/null)" != "$SYFT_VERSION" ]; then
  echo "test-tools: building syft $SYFT_VERSION (a few minutes, once)" >&2
  GOBIN="$bin" go install "github.com/anchore/syft/cmd/syft@$SYFT_VERSION"
  echo "$SYFT_VERSION" > "$bin/syft.version"
fi
stamp="$bin/policypull.sum"
if [ ! -x "$bin/policypull" ] || ! cmp -s "$stamp" <(cat tests/tools/policypull/go.sum tests/tools/policypull/main.go); then
  echo "test-tools: building policypull (containers/image)" >&2
  (cd tests/tools/policypull && CGO_ENABLED=0 go build -tags containers_image_openpgp -o "$bin/policypull" .)
  cat tests/tools/policypull/go.sum tests/tools/policypull/main.go > "$stamp"
fi
slow="bash scripts/kaniko-executor.sh >/dev/null && bash scripts/kube-node.sh >/dev/null"
if [ "${1:-}" = --background ]; then
  # The kaniko executor and Kubernetes take the longest on a new machine and only the suite's
  # last modules need them (tests/conftest.py runs those last): built in a session of their own,
  # niced, while the suite runs; the tests' fixtures call the same scripts, which wait for this
  # build (a lock each) and find the binaries. scripts/quickstart.sh stops it when pytest ends.
  AURORA_TEST_BIN="$bin" setsid nice -n 10 bash -c "$slow" >"$bin/background-build.log" 2>&1 </dev/null &
  echo $! >"$bin/background-build.pid"
  echo "test-tools: building the kaniko executor and Kubernetes in the background (log: $bin/background-build.log)" >&2
else
  AURORA_TEST_BIN="$bin" bash -c "$slow"
fi
echo "$bin"

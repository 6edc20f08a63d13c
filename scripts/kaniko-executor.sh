#!/bin/bash
# The kaniko executor for the tests (aurora itself needs none: in a cluster the Job names the
# executor image). Built from the Go module proxy, the module and version that
# tests/tools/kaniko/go.mod pins (the Chainguard-maintained fork, the one the Job's image is
# built from), checked against its go.sum, into a cache keyed by version, once per machine:
#   bash scripts/kaniko-executor.sh     prints the binary's path
# `go install MODULE/cmd/executor@VERSION` does not work here: it asks the proxy for the
# module's version list (to look for a deprecation), and the proxy serves exact versions only.
set -euo pipefail
cd "$(dirname "$0")/../tests/tools/kaniko"
bin="${AURORA_TEST_BIN:-$HOME/.cache/aurora-tests/bin}"
PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || { echo "kaniko-executor: Go is needed to build the executor (apt-get install golang-go)" >&2; exit 1; }
version=$(awk '$1 == "require" && $2 ~ /kaniko$/ {print $3}' go.mod)
[ -n "$version" ] || { echo "kaniko-executor: no kaniko module in tests/tools/kaniko/go.mod" >&2; exit 1; }
out="$bin/kaniko-executor-$version"
stamp="$out.sum"
mkdir -p "$bin"
# One build at a time: a second caller (the kaniko tests while scripts/quickstart.sh still builds
# in the background) waits for the first and finds the executor built.
exec 9>"$bin/.kaniko-executor.lock"
flock 9
if [ -x "$out" ] && cmp -s "$stamp" go.sum; then
  echo "$out"
  exit 0
fi
module=$(awk '$1 == "require" && $2 ~ /kaniko$/ {print $2}' go.mod)
echo "kaniko-executor: building $module/cmd/executor $version (once per machine; a few minutes)" >&2
start=$(date +%s)
# Static, as upstream builds it: the executor runs in an image with nothing else in it.
CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath -ldflags="-s -w -X $module/pkg/version.version=$version" -o "$out.tmp" "$module/cmd/executor"
mv "$out.tmp" "$out"
cp go.sum "$stamp"
echo "kaniko-executor: built in $(( $(date +%s) - start ))s" >&2
echo "$out"

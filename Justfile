# aurora's everyday commands. Each is a thin call into what CI runs; the README's quick start
# (`bash scripts/quickstart.sh demo|test`) works without `just`.
#   just setup | demo | test [ARGS] | lint | bench [ARGS] | release-check

set shell := ["bash", "-euo", "pipefail", "-c"]
set positional-arguments

venv := ".venv/bin"

# List the recipes.
default:
    @just --list

# Host packages (sudo when not root), the venv with the test extras, the Node test tools.
setup:
    if [ "$(id -u)" = 0 ]; then bash scripts/host-setup.sh; else sudo bash scripts/host-setup.sh; fi
    [ -x {{ venv }}/python ] || python3 -m venv .venv
    {{ venv }}/python -m pip install -q -e '.[test]'
    npm ci --prefix tests/tools

# Build the bundled demo, run it, print its URL.
demo:
    bash scripts/quickstart.sh demo

# The test suite (pytest arguments pass through: `just test tests/unit -k ci`).
test *ARGS:
    bash scripts/quickstart.sh test "$@"

# ruff, mypy, and shellcheck on the scripts.
lint:
    {{ venv }}/ruff check .
    {{ venv }}/mypy aurora
    shellcheck scripts/*.sh .ci/run

# The benchmark (`just bench --quick` is CI's quick mode).
bench *ARGS:
    {{ venv }}/python -m bench "$@"

# release-check runs tests/unit/deploy/test_ci.py (the workflows and action.yml through actionlint,
# zizmor, check-jsonschema and shellcheck; images/aurora/Containerfile through hadolint), then
# builds the wheel and checks that it carries the templates.

# Before tagging: the workflows, action.yml and the wheel.
release-check:
    {{ venv }}/python -m pytest -q tests/unit/deploy/test_ci.py
    rm -rf .aurora/release-check && {{ venv }}/python -m build -q --outdir .aurora/release-check .
    {{ venv }}/python -m zipfile -l .aurora/release-check/*.whl | grep -q 'aurora/templates/ci/github-workflow.yml.j2'
    @echo "release-check: ok ($(ls .aurora/release-check))"

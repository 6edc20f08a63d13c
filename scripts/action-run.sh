#!/bin/bash
# The work of aurora's GitHub Action (action.yml): build the app's image, push it, read it back,
# verify it, write Kubernetes YAML pinned to the pushed digest, then report the outputs
# ($GITHUB_OUTPUT) and a job summary ($GITHUB_STEP_SUMMARY).
#
# Every input comes from the environment (the action passes its inputs through `env:` only):
#   AURORA_APP_DIR      app folder holding aurora.toml                          (default .)
#   AURORA_REGISTRY     registry host, put before an AURORA_IMAGE without one
#   AURORA_IMAGE        image name; default: aurora.toml's [image] name
#   AURORA_TAGS         tags, space or newline separated: bare (1.2.0) or full (host/name:1.2.0);
#                       default: aurora.toml's, or, when AURORA_IMAGE is set, the git tag of a
#                       tag push, else sha-<12 hex of the commit>
#   AURORA_PUSH         true|false                                               (default true)
#   AURORA_ENGINE       build engine                                          (default buildah)
#   AURORA_PLATFORMS    platforms (comma/space separated): one image each and an OCI image index
#   AURORA_KUBE_TARGET  k8s|podman                                               (default k8s)
#   AURORA_KUBE_OUTPUT  folder for the YAML                                (default aurora-kube)
#   AURORA_TLS_VERIFY   true|false                                               (default true)
#   AURORA_CACHE_REPO   registry repository (REGISTRY/NAME) for the layer cache: the build reuses
#                       its layers (--cache-from) and adds its own (--cache-to), so a fresh runner
#                       rebuilds and pushes only what changed                   (default: none)
#   AURORA_SBOM         true|false: attach SBOM + provenance on push, require the SBOM (default true)
#   AURORA_SIGN_KEY_FILE  sigstore private key (cosign format): sign the push, require the signature
#   AURORA_SIGN_PASSPHRASE  its passphrase (read by aurora from the environment, never an argument)
#   AURORA_BIN          the aurora command                                    (default aurora)
#   AURORA_DEBUG        true: `aurora --debug` (also when RUNNER_DEBUG=1)
#   REGISTRY_AUTH_FILE  registry credentials (containers-auth.json), used when it exists
#   GITHUB_OUTPUT, GITHUB_STEP_SUMMARY   where the results go (default: nowhere)
#
# Runs the same outside GitHub, e.g.:
#   AURORA_APP_DIR=images/zero-demo AURORA_IMAGE=127.0.0.1:5000/zero/demo AURORA_TAGS=1 \
#   AURORA_TLS_VERIFY=false GITHUB_OUTPUT=/tmp/out GITHUB_STEP_SUMMARY=/tmp/summary.md \
#   bash scripts/action-run.sh
# Exit: 0 done; 1 a build, push, verify rule or YAML step failed; 2 a bad input.
set -euo pipefail

die() { echo "aurora-action: error: $*" >&2; exit 2; }
note() { echo "aurora-action: $*" >&2; }

bool() {  # bool NAME VALUE -> prints true|false, or stops on anything else
  case "${2,,}" in
    true | yes | 1) echo true ;;
    false | no | 0) echo false ;;
    *) die "$1=$2: use true or false" ;;
  esac
}

app_dir=${AURORA_APP_DIR:-.}
registry=${AURORA_REGISTRY:-}
image=${AURORA_IMAGE:-}
push=$(bool AURORA_PUSH "${AURORA_PUSH:-true}")
engine=${AURORA_ENGINE:-buildah}
platforms=${AURORA_PLATFORMS:-}
kube_target=${AURORA_KUBE_TARGET:-k8s}
kube_output=${AURORA_KUBE_OUTPUT:-aurora-kube}
tls_verify=$(bool AURORA_TLS_VERIFY "${AURORA_TLS_VERIFY:-true}")
debug=$(bool AURORA_DEBUG "${AURORA_DEBUG:-false}")
sbom=$(bool AURORA_SBOM "${AURORA_SBOM:-true}")
sign_key=${AURORA_SIGN_KEY_FILE:-}
[ -z "$sign_key" ] || [ -f "$sign_key" ] || die "AURORA_SIGN_KEY_FILE=$sign_key: no such file"
output_file=${GITHUB_OUTPUT:-/dev/null}
summary_file=${GITHUB_STEP_SUMMARY:-/dev/null}
read -r -d '' -a tags <<<"${AURORA_TAGS:-}" || true

[ -f "$app_dir/aurora.toml" ] || die "AURORA_APP_DIR=$app_dir: no aurora.toml there"
case "$kube_target" in k8s | podman) ;; *) die "AURORA_KUBE_TARGET=$kube_target: use k8s or podman" ;; esac
[ -n "$kube_output" ] || die "AURORA_KUBE_OUTPUT is empty"
command -v python3 >/dev/null || die "python3 is needed to read aurora's JSON"

aurora=("${AURORA_BIN:-aurora}")
command -v "${aurora[0]}" >/dev/null || die "${aurora[0]}: not found (set AURORA_BIN, or install aurora)"
if [ "$debug" = true ] || [ "${RUNNER_DEBUG:-}" = 1 ]; then aurora+=(--debug); fi

# Platforms: one image each and an OCI index (nothing emulated: a foreign platform needs its
# offline bases, `aurora base build --arch ARCH`, which aurora's own error says).
platform_list=""
if [ -n "$platforms" ]; then
  for p in ${platforms//,/ }; do
    case "$p" in
      linux/amd64 | linux/arm64) platform_list="${platform_list:+$platform_list,}$p" ;;
      *) die "platforms: $p: aurora builds linux/amd64 and linux/arm64" ;;
    esac
  done
fi

# Registry options shared by build --push and verify.
registry_args=()
[ "$tls_verify" = true ] || registry_args+=(--no-tls-verify)
if [ -n "${REGISTRY_AUTH_FILE:-}" ]; then
  if [ -f "$REGISTRY_AUTH_FILE" ]; then
    registry_args+=(--authfile "$REGISTRY_AUTH_FILE")
  else
    unset REGISTRY_AUTH_FILE  # no login happened (push: false, or no token): anonymous
  fi
fi

# The image name and tags. A name without a registry host gets AURORA_REGISTRY; registry paths
# are lowercase (GitHub owners may not be), so the name is lowercased. A tag on the name itself
# (host/name:1.0) is used when AURORA_TAGS names none.
if [ -n "$image" ]; then
  read -r image image_tag < <(python3 - "$image" "$registry" <<'PY'
import sys
name, registry = sys.argv[1].strip(), sys.argv[2].strip().lower()
tag = ""
if ":" in name.rsplit("/", 1)[-1]:
    name, tag = name.rsplit(":", 1)
name = name.lower()
first = name.split("/", 1)[0]
has_host = "/" in name and ("." in first or ":" in first or first == "localhost")
print(name if has_host or not registry else f"{registry.rstrip('/')}/{name}", tag)
PY
)
  if [ "${#tags[@]}" = 0 ] && [ -n "$image_tag" ]; then
    tags=("$image_tag")
  elif [ "${#tags[@]}" = 0 ]; then
    if [ "${GITHUB_REF_TYPE:-}" = tag ] && [ -n "${GITHUB_REF_NAME:-}" ]; then
      tags=("$GITHUB_REF_NAME")
    else
      sha=${GITHUB_SHA:-$(git -C "$app_dir" rev-parse HEAD 2>/dev/null || true)}
      [ -n "$sha" ] || die "AURORA_TAGS is empty and $app_dir is not a git checkout: name a tag"
      tags=("sha-${sha:0:12}")
    fi
  fi
  for i in "${!tags[@]}"; do
    case "${tags[$i]}" in */* | *:*) ;; *) tags[i]="$image:${tags[$i]}" ;; esac
  done
fi

work=$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/aurora-action.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Python helpers reading aurora's JSON; the file names are arguments, never code.
json_get() {  # json_get FILE KEY -> the value ('' when missing); lists joined by spaces
  python3 - "$1" "$2" <<'PY'
import json, sys
value = json.load(open(sys.argv[1])).get(sys.argv[2])
print(" ".join(value) if isinstance(value, list) else ("" if value is None else value))
PY
}

# run_logged OUT LOG CMD...: CMD's stdout into OUT; its stderr to the console (live) and to LOG.
run_logged() {
  local out=$1 log=$2
  shift 2
  { "$@" 2>&1 >"$out" | tee "$log" >&2; }  # pipefail: the status is CMD's
}

# fail_summary STEP LOG STATUS: say what failed in the job summary, then stop with STATUS.
fail_summary() {
  {
    echo "## aurora: $1 failed (exit $3)"
    echo
    echo '```'
    tail -n 40 "$2"
    echo '```'
  } >>"$summary_file"
  exit "$3"
}

# 1. Build (and push, then read back).
build_args=(build -C "$app_dir" --engine "$engine" --json)
for t in "${tags[@]}"; do build_args+=(--tag "$t"); done
[ -z "$platform_list" ] || build_args+=(--platform "$platform_list")
if [ -n "${AURORA_CACHE_REPO:-}" ]; then
  build_args+=(--cache-from "$AURORA_CACHE_REPO" --cache-to "$AURORA_CACHE_REPO")
  [ "$tls_verify" = true ] || build_args+=(--no-tls-verify)
fi
if [ "$push" = true ]; then
  build_args+=(--push --digest-file "$work/digest" "${registry_args[@]}")
  [ "$sbom" = true ] || build_args+=(--no-sbom)
  [ -z "$sign_key" ] || build_args+=(--sign-key "$sign_key")
fi
note "aurora ${build_args[*]}"
rc=0
run_logged "$work/build.json" "$work/build.log" "${aurora[@]}" "${build_args[@]}" || rc=$?
[ "$rc" = 0 ] || fail_summary build "$work/build.log" "$rc"

built=$(json_get "$work/build.json" image)
digest=""
if [ "$push" = true ]; then
  [ -s "$work/digest" ] || { note "the push wrote no digest"; exit 1; }
  digest=$(tr -d '[:space:]' <"$work/digest")
  case "$digest" in sha256:*) ;; *) note "no digest after the push"; exit 1 ;; esac
fi

# 2. Verify: the pushed manifest by digest, or the local image when nothing was pushed.
if [ -n "$digest" ]; then
  repository=$built
  case "${built##*/}" in *:*) repository=${built%:*} ;; esac
  verify_ref="docker://$repository@$digest"
else
  verify_ref="containers-storage:$built"
fi
verify_args=(verify "$verify_ref" -C "$app_dir" --json "${registry_args[@]}")
if [ -n "$digest" ]; then
  # An index gets no attached SBOM yet (aurora says so when it pushes one).
  [ "$sbom" = false ] || [[ "$platform_list" == *,* ]] || verify_args+=(--require-sbom)
  if [ -n "$sign_key" ]; then
    "${aurora[@]}" key public "$sign_key" >"$work/signing.pub"
    verify_args+=(--require-signature --key "$work/signing.pub")
  fi
fi
note "aurora ${verify_args[*]}"
verify_rc=0
run_logged "$work/verify.json" "$work/verify.log" "${aurora[@]}" "${verify_args[@]}" || verify_rc=$?
if ! python3 -c 'import json, sys; json.load(open(sys.argv[1]))["checks"]' "$work/verify.json" 2>/dev/null; then
  fail_summary verify "$work/verify.log" "$((verify_rc ? verify_rc : 1))"  # could not read the image
fi

# 3. Kubernetes YAML, pinned to the digest when there is one.
mkdir -p "$kube_output"
kube_path=$(cd "$kube_output" && pwd)
kube_args=(kube -C "$app_dir" --image "$built" --target "$kube_target" -o "$kube_path")
[ -z "$digest" ] || kube_args+=(--digest-file "$work/digest")
note "aurora ${kube_args[*]}"
rc=0
run_logged "$work/kube.txt" "$work/kube.log" "${aurora[@]}" "${kube_args[@]}" || rc=$?
[ "$rc" = 0 ] || fail_summary kube "$work/kube.log" "$rc"

# 4. Outputs and the job summary.
{
  echo "digest=$digest"
  echo "image=$built"
  echo "kube-path=$kube_path"
} >>"$output_file"

python3 - "$work/build.json" "$work/verify.json" "$work/kube.txt" "$kube_path" "$kube_target" \
  "$verify_ref" >>"$summary_file" <<'PY'
import json, os, sys

build = json.load(open(sys.argv[1]))
report = json.load(open(sys.argv[2]))
files = [os.path.basename(line) for line in open(sys.argv[3]).read().split() if line]
kube_path, kube_target, verify_ref = sys.argv[4:7]


def cell(text) -> str:
    """One Markdown table cell: no newlines, | escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def code(text) -> str:
    return "`" + cell(text).replace("`", "'") + "`"


rows = [("Image", code(build["image"]))]
if build.get("digest"):
    rows.append(("Digest", code(build["digest"])))
    rows.append(("Pushed", ", ".join(code(p) for p in build.get("pushed", []))))
else:
    rows.append(("Digest", "not pushed"))
for sbom in build.get("sbom", []):
    rows.append(("SBOM (CycloneDX)", code(sbom["digest"])))
for prov in build.get("provenance", []):
    rows.append(("Provenance (SLSA)", code(prov["digest"])))
for sig in build.get("signatures", []):
    rows.append(("Signature", f"{code(sig['reference'])}: {code(sig['signature_manifest'])}"))
if build.get("digest") and not build.get("signatures"):
    rows.append(("Signature", "not signed (no signing key)"))
rows.append(("Image ID", code(build["id"][:12])))
rows.append(("Size", f"{build['size_bytes'] / 1e6:.1f} MB uncompressed, {build['layers']} layers"))
rows.append((f"Kubernetes YAML ({kube_target})", code(kube_path) + ": " + ", ".join(code(f) for f in files)))

icons = {"pass": "✅", "fail": "❌", "skip": "➖"}
out = [f"## aurora: {cell(build['image'])}", "", "| | |", "|---|---|"]
out += [f"| {k} | {v} |" for k, v in rows]
out += ["", f"### aurora verify: {'PASS' if report['ok'] else 'FAIL'}", "",
        f"{code(verify_ref)}", "", "| Rule | Status | Detail |", "|---|---|---|"]
for c in report["checks"]:
    status = c["status"]
    out.append(f"| {cell(c['name'])} | {icons.get(status, '')} {cell(status)} | {cell(c['detail'])} |")
print("\n".join(out) + "\n")
PY

if [ "$verify_rc" != 0 ]; then
  note "aurora verify failed (exit $verify_rc): see the rules marked FAIL"
  exit 1
fi
note "done: $built${digest:+@$digest}"

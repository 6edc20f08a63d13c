#!/bin/sh
# Unpack extra Debian packages for the runtime base, as its own packages were unpacked: no
# package scripts, the dependencies the runtime base lacks, documentation left out.
# Usage: extra-packages.sh RUNTIME_STATUS OUT PACKAGE...
#   apt resolves the packages' whole dependency tree against an empty system (the runtime
#   base's own list is not a consistent one for apt: the base cut some dependencies on purpose);
#   what RUNTIME_STATUS, the base's dpkg status, already holds is not unpacked again. OUT gets
#   the files and the merged status.
set -eu
status=$1 out=$2
shift 2
work=/tmp/aurora-packages
mkdir -p "$work/archives/partial" "$out/var/lib/dpkg/info"
: > "$work/status"
apt-get update -qq >/dev/null
if ! apt-get -o Dir::State::status="$work/status" -o Dir::Cache::archives="$work/archives" \
     install --download-only -y --no-install-recommends "$@" > "$work/apt.log" 2>&1; then
  cat "$work/apt.log" >&2
  unknown=$(sed -n -e "s/^E: Unable to locate package \(.*\)$/\1/p" \
                   -e "s/^E: Package '\(.*\)' has no installation candidate$/\1/p" "$work/apt.log" | sort -u | tr '\n' ',')
  [ -n "$unknown" ] && echo "aurora-unknown-packages=${unknown%,}"
  exit 4
fi
cp "$status" "$out/var/lib/dpkg/status"
have=$(sed -n 's/^Package: //p' "$status")
for deb in "$work"/archives/*.deb; do
  [ -e "$deb" ] || continue
  pkg=$(dpkg-deb -f "$deb" Package)
  if echo "$have" | grep -qx "$pkg"; then continue; fi
  dpkg-deb -x "$deb" "$out"
  # Recorded as installed, for SBOM tools (aurora sbom, syft, trivy), like the base's own.
  { echo; dpkg-deb -f "$deb" | sed '/^Package:/a Status: install ok installed'; } >> "$out/var/lib/dpkg/status"
  dpkg-deb --fsys-tarfile "$deb" | tar -t | sed -n 's|^\./\(.*[^/]\)$|/\1|p' > "$out/var/lib/dpkg/info/$pkg.list"
  echo "aurora: unpacked $pkg $(dpkg-deb -f "$deb" Version)"
done
# Like the runtime base: no documentation but the copyright files, no translations or manuals.
find "$out/usr/share/doc" -type f ! -name copyright -delete 2>/dev/null || true
rm -rf "$out/usr/share/man" "$out/usr/share/info" "$out/usr/share/locale" "$out/usr/share/lintian"

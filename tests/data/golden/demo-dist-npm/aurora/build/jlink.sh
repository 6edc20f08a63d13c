#!/bin/sh
# Make the Java runtime the image ships. Usage: jlink.sh DEPS OUT RELEASE MODULES MODE [JMODS]
#   DEPS/modules is the module list lib-modules.sh found in lib/ (an earlier stage: this step
#   sees that one file, not lib/, so a jar change that keeps the list keeps this layer);
#   MODULES are added to it (Vert.x and Netty load some modules reflectively, where jdeps
#   cannot see them); MODE is "jlink" or "full". app.jar is not looked at here either:
#   app-modules.sh checks app.jar against this runtime in a later stage.
#   JMODS: another platform's jmods (same JDK update): this jlink links that platform's
#   runtime, which is never run here (no emulation).
set -eu
deps=$1 out=$2 release=$3 extra=$4 mode=$5 jmods=${6:-}

# jlink of this JDK, linking from another platform's jmods when JMODS is given.
run_jlink() {
  if [ -n "$jmods" ]; then jlink --module-path "$jmods" "$@"; else jlink "$@"; fi
}

if [ "$mode" = full ]; then
  run_jlink --add-modules ALL-MODULE-PATH --no-header-files --no-man-pages --output "$out"
else
  found=$(cat "$deps/modules")
  [ -n "$found" ] || found=java.base
  echo "aurora: jlink for $found (release $release)"
  # --strip-debug also strips native symbols, which needs objcopy (binutils); without it,
  # strip the Java debug attributes only (Debian's JDK ships its native code stripped anyway).
  # Another platform's native code is not this objcopy's to strip.
  strip=--strip-java-debug-attributes
  [ -z "$jmods" ] && command -v objcopy >/dev/null 2>&1 && strip=--strip-debug
  run_jlink --add-modules "$found,$extra" "$strip" --no-header-files --no-man-pages \
        --compress=2 --output "$out"
fi

# Some JDK packages (Debian's) link cacerts to a file outside the JDK: ship the real file.
jdk_home=$(dirname "$(dirname "$(readlink -f "$(command -v jlink)")")")
if [ -L "$out/lib/security/cacerts" ] || [ ! -e "$out/lib/security/cacerts" ]; then
  rm -f "$out/lib/security/cacerts"
  cp -L "$jdk_home/lib/security/cacerts" "$out/lib/security/cacerts"
fi
if [ -n "$jmods" ]; then
  sed -n 's/^MODULES="\(.*\)"$/\1/p' "$out/release"  # its java is not for this machine to run
else
  "$out/bin/java" --list-modules | tr '\n' ' '
  echo
fi

#!/bin/sh
# Make the Java runtime the image ships. Usage: jlink.sh DEPS OUT RELEASE MODULES MODE [JMODS]
#   DEPS holds lib/ (the dependency jars); MODULES are added to what jdeps finds (Vert.x and
#   Netty load some modules reflectively, where jdeps cannot see them); MODE is "jlink" or
#   "full". app.jar is not looked at here, so a code change does not cut the runtime again:
#   app-modules.sh checks app.jar against this runtime in a later stage.
#   JMODS: another platform's jmods (same JDK update): this jlink links that platform's
#   runtime, which is never run here (no emulation).
set -eu
deps=$1 out=$2 release=$3 extra=$4 mode=$5 jmods=${6:-}
set --
[ -z "$jmods" ] || set -- --module-path "$jmods"

if [ "$mode" = full ]; then
  jlink "$@" --add-modules ALL-MODULE-PATH --no-header-files --no-man-pages --output "$out"
else
  found=java.base
  if [ -n "$(find "$deps/lib" -maxdepth 1 -name '*.jar' -print -quit)" ]; then
    if found=$(jdeps -J-XX:TieredStopAtLevel=1 --ignore-missing-deps -q --recursive --multi-release "$release" \
                 --print-module-deps --class-path "$deps/lib/*" "$deps"/lib/*.jar 2>/tmp/jdeps.log); then
      echo "aurora: jdeps found in lib/: $found"
    else
      echo "aurora: jdeps could not analyse lib/; shipping java.se instead:" >&2
      cat /tmp/jdeps.log >&2
      found=java.se
    fi
  fi
  # --strip-debug also strips native symbols, which needs objcopy (binutils); without it,
  # strip the Java debug attributes only (Debian's JDK ships its native code stripped anyway).
  # Another platform's native code is not this objcopy's to strip.
  strip=--strip-java-debug-attributes
  [ -z "$jmods" ] && command -v objcopy >/dev/null 2>&1 && strip=--strip-debug
  jlink "$@" --add-modules "$found,$extra" "$strip" --no-header-files --no-man-pages \
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

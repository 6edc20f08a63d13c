#!/bin/sh
# The JDK modules lib/ needs, as jdeps finds them, written to one file.
# Usage: lib-modules.sh DEPS OUT RELEASE MODE
#   DEPS holds lib/ (the dependency jars); OUT is the file written (comma-separated modules);
#   MODE is "jlink" or "full" (full: no analysis, the runtime is the whole JDK).
# This runs in a stage of its own: the jlink stage copies only OUT, so a dependency bump that
# leaves the module list as it was re-runs this analysis but not jlink (the build cache matches
# the copied file's content).
set -eu
deps=$1 out=$2 release=$3 mode=$4
mkdir -p "$(dirname "$out")"
if [ "$mode" = full ]; then
  echo ALL-MODULE-PATH > "$out"
  exit 0
fi
found=java.base
set -- "$deps"/lib/*.jar
if [ -e "$1" ]; then
  if found=$(jdeps -J-XX:TieredStopAtLevel=1 --ignore-missing-deps -q --recursive --multi-release "$release" \
               --print-module-deps --class-path "$deps/lib/*" "$@" 2>/tmp/jdeps.log); then
    echo "aurora: jdeps found in lib/: $found"
  else
    echo "aurora: jdeps could not analyse lib/; shipping java.se instead:" >&2
    cat /tmp/jdeps.log >&2
    found=java.se
  fi
fi
echo "$found" > "$out"

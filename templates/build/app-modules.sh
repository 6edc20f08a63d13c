#!/bin/sh
# Check app.jar against the runtime cut for lib/. Usage: app-modules.sh DEPS RUNTIME RELEASE
# When app.jar needs a JDK module the runtime lacks, say which on a line of its own and exit 3:
# aurora then builds again with the module added (and says to list it in backend.modules).
set -eu
deps=$1 runtime=$2 release=$3
# The runtime's modules, from the release file jlink writes (reading it costs nothing; asking
# its java costs a JVM start).
have=$(sed -n 's/^MODULES="\(.*\)"$/\1/p' "$runtime/release" 2>/dev/null | tr ' ' ',')
[ -n "$have" ] || have=$("$runtime/bin/java" --list-modules | sed 's/@.*//' | tr '\n' ',')
have=",${have%,},"
# app.jar alone (lib/ was analysed with the runtime): the JDK modules its own classes use
# directly. The summary (-s) is enough — the runtime already holds what those modules require —
# and is ~4x quicker than --print-module-deps, which walks the JDK's module graph; a C1-only
# JVM starts faster for a short-lived tool. Its deps on lib/ show as "not found": skipped.
if ! summary=$(jdeps -J-XX:TieredStopAtLevel=1 -q -s --multi-release "$release" \
                 "$deps/app.jar" 2>/tmp/jdeps.log); then
  echo "aurora: jdeps could not analyse app.jar; keeping the runtime as it is:" >&2
  cat /tmp/jdeps.log >&2
  exit 0
fi
need=$(echo "$summary" | sed -n 's/^.* -> \([a-z][a-z0-9_.]*\)$/\1/p' | grep -E '^(java|jdk)\.' | sort -u | tr '\n' ',' || true)
need=${need%,}
missing=""
for m in $(echo "$need" | tr ',' ' '); do
  case "$have" in *",$m,"*) ;; *) missing="$missing,$m" ;; esac
done
if [ -z "$missing" ]; then
  echo "aurora: app.jar needs $need: all in the runtime"
  exit 0
fi
echo "aurora: app.jar needs JDK modules that lib/ does not, and the runtime lacks them:" \
     "${missing#,}. List them in backend.modules in aurora.toml." >&2
echo "aurora-missing-modules=${missing#,}"
exit 3

#!/bin/sh
# Check app.jar against the runtime cut for lib/. Usage: app-modules.sh DEPS RUNTIME RELEASE MODULES
# When app.jar needs a module the runtime lacks, cut the runtime again with it (slower, and
# said so: naming the module in backend.modules keeps later rebuilds fast).
set -eu
deps=$1 runtime=$2 release=$3 extra=$4
have=$("$runtime/bin/java" --list-modules | sed 's/@.*//' | tr '\n' ',')
# app.jar alone (lib/ was analysed with the runtime): its own classes' module needs, found
# quickly — a C1-only JVM starts faster for a short-lived tool.
if ! need=$(jdeps -J-XX:TieredStopAtLevel=1 --ignore-missing-deps -q --multi-release "$release" \
              --print-module-deps "$deps/app.jar" 2>/tmp/jdeps.log); then
  echo "aurora: jdeps could not analyse app.jar; keeping the runtime as it is:" >&2
  cat /tmp/jdeps.log >&2
  exit 0
fi
missing=""
for m in $(echo "$need" | tr ',' ' '); do
  case ",$have" in *",$m,"*) ;; *) missing="$missing,$m" ;; esac
done
if [ -z "$missing" ]; then
  echo "aurora: app.jar needs $need: all in the runtime"
  exit 0
fi
missing=${missing#,}
echo "aurora: app.jar needs $missing beyond lib/'s modules: cutting the runtime again." \
     "Add them to backend.modules in aurora.toml so that code changes rebuild faster." >&2
rm -rf "$runtime.new"
strip=--strip-java-debug-attributes
command -v objcopy >/dev/null 2>&1 && strip=--strip-debug
jlink --add-modules "${have%,},$missing,$extra" "$strip" --no-header-files --no-man-pages \
      --compress=2 --output "$runtime.new"
cp -p "$runtime/lib/security/cacerts" "$runtime.new/lib/security/cacerts"
rm -rf "$runtime" && mv "$runtime.new" "$runtime"

#!/bin/sh
# Gather a built back end into the image's layout (app.jar, lib/, conf/).
# Usage: collect-dist.sh DIST JAR LIB CONF OUT [MAIN [VERTICLE]]
#   JAR may be a glob (e.g. *.jar) and must match exactly one jar in DIST (shade's original-*.jar,
#   sources and javadoc jars left out). Zero's layout (a Class-Path naming lib/) is taken as it
#   is; a jar without a Class-Path gets its dependencies from LIB or Maven's dependency/ and a
#   manifest naming them (and MAIN, VERTICLE when it has no Main-Class); a fat jar beside
#   dependency/ is replaced by the app's own classes, else it goes as it is.
set -eu
dist=$1 jar=$2 lib=$3 conf=$4 out=$5 main=${6:-} verticle=${7:-}
fail() { echo "aurora: $*" >&2; exit 1; }
[ -d "$dist" ] || fail "the build left no $dist (set backend.output to where the jar appears)"
found="" n=0
for f in "$dist"/$jar; do
  [ -f "$f" ] || continue
  case "${f##*/}" in original-*|*-sources.jar|*-javadoc.jar|*-tests.jar) continue ;; esac
  found="$found $f" n=$((n + 1))
done
[ "$n" -ge 1 ] || fail "no $jar in $dist (set backend.jar)"
[ "$n" -eq 1 ] || fail "$jar matches $n jars in $dist:$found (name the jar exactly in backend.jar)"
jarfile=${found# }
mkdir -p "$out/lib" "$out/conf"
out=$(cd "$out" && pwd)
cp "$jarfile" "$out/app.jar"
[ -d "$dist/$conf" ] && cp -R "$dist/$conf/." "$out/conf/"
deps=""
for d in "$lib" dependency; do
  if [ -d "$dist/$d" ]; then deps="$dist/$d"; break; fi
done

work=$(mktemp -d)
(cd "$work" && jar xf "$out/app.jar" META-INF/MANIFEST.MF) 2>/dev/null || true
attr() { [ -f "$work/META-INF/MANIFEST.MF" ] && tr -d '\r' < "$work/META-INF/MANIFEST.MF" | grep -i "^$1:" | head -n 1 | sed 's/^[^:]*: *//'; }
has_main=$(attr Main-Class || true)
if [ -z "$has_main" ] && [ -z "$main" ]; then
  fail "${jarfile##*/} has no Main-Class in its manifest, and neither backend.main nor the pom names one: set backend.main, or the build's Main-Class (maven-jar-plugin <archive><manifest><mainClass>)"
fi
if [ -n "$(attr Class-Path || true)" ]; then  # Zero's layout: its lib/ as it is
  [ -n "$deps" ] || fail "${jarfile##*/}'s Class-Path names jars, and $dist holds no $lib/"
  cp -R "$deps/." "$out/lib/"
  exit 0
fi
fat=""
jar tf "$out/app.jar" | grep -q '^io/vertx/core/' && fat=yes
if [ -n "$fat" ] && [ -n "$deps" ]; then
  # A fat jar with Maven's dependency list beside it: app.jar gets the app's own classes (shade's
  # original jar, or classes/), lib/ the dependencies, so a code change uploads about the classes.
  if [ -f "$dist/original-${jarfile##*/}" ]; then
    cp "$dist/original-${jarfile##*/}" "$out/app.jar"
    fat=""
  elif [ -d "$dist/classes" ]; then
    rm "$out/app.jar" && jar --create --file "$out/app.jar" -C "$dist/classes" .
    fat=""
  else
    deps=""  # cannot tell the app's classes apart: the fat jar alone
  fi
  if [ -z "$fat" ]; then  # the fat jar's launch attributes on the app's jar
    main=${has_main:-$main} verticle=$(attr Main-Verticle || true) has_main=""
    verticle=${verticle:-${7:-}}
  fi
fi
if [ -z "$deps" ]; then
  if [ -n "$fat" ]; then
    echo "aurora: ${jarfile##*/} is a fat jar and neither shade's original jar nor classes/ is beside it: it goes as it is, and every code change uploads all of it" >&2
    [ -n "$has_main" ] && exit 0
  else
    fail "${jarfile##*/} has no Class-Path and $dist holds no $lib/ or dependency/ folder: add 'dependency:copy-dependencies -DincludeScope=runtime' to backend.build (Maven gathers the runtime dependencies into target/dependency)"
  fi
fi
if [ -n "$deps" ]; then
  for f in "$deps"/*.jar; do
    if [ -f "$f" ]; then cp "$f" "$out/lib/"; fi
  done
fi
{
  [ -z "$has_main" ] && echo "Main-Class: $main"
  [ -z "$has_main" ] && [ -n "$verticle" ] && echo "Main-Verticle: $verticle"
  names=$(cd "$out/lib" && ls -1 | LC_ALL=C sort | sed 's|^|lib/|' | tr '\n' ' ' | sed 's/ $//')
  # Manifest lines hold 72 bytes at most: longer ones go on in lines starting with a space.
  [ -n "$names" ] && echo "Class-Path: $names" | fold -b -w 71 | sed '2,$s/^/ /'
} > "$work/extra.mf"
[ -s "$work/extra.mf" ] && (cd "$out" && jar ufm app.jar "$work/extra.mf")
rm -rf "$work"

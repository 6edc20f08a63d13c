#!/bin/sh
# Gather a built back end into the Zero layout. Usage: collect-dist.sh DIST JAR LIB CONF OUT
#   JAR may be a glob (e.g. *.jar) and must match exactly one file in DIST.
set -eu
dist=$1 jar=$2 lib=$3 conf=$4 out=$5
fail() { echo "aurora: $*" >&2; exit 1; }
[ -d "$dist" ] || fail "the build left no $dist (set backend.output to where the dist appears)"
set -- "$dist"/$jar
[ -f "$1" ] || fail "no $jar in $dist (set backend.jar)"
[ $# -eq 1 ] || fail "$jar matches $# files in $dist: $* (name the jar exactly)"
[ -d "$dist/$lib" ] || fail "no $lib/ in $dist: the build must leave the app's runtime dependencies there. With Maven,\
 add to backend.build: dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=${dist#/src/}/$lib\
 (e.g. build = \"mvn -B -DskipTests package dependency:copy-dependencies -DincludeScope=runtime\
 -DoutputDirectory=${dist#/src/}/$lib\"); if the build puts them elsewhere under ${dist#/src/}, set backend.lib to that folder"
[ -d "$dist/$conf" ] || fail "no $conf/ in $dist (set backend.conf)"
mkdir -p "$out"
cp "$1" "$out/app.jar"
cp -R "$dist/$lib" "$out/lib"
cp -R "$dist/$conf" "$out/conf"

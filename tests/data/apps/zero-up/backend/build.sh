#!/bin/sh
# Builds the zero-up back end with Maven into target/dist/ (app.jar + lib/ + conf/), the
# layout of a Zero application. The pom does the work; this wrapper only makes the call the
# same from any directory, and dates app.jar's entries from SOURCE_DATE_EPOCH when it is set
# (otherwise the pom's project.build.outputTimestamp, 2024-01-01T00:00:00Z). The same sources
# and the same date give a byte-identical app.jar.
#
# Needs: a JDK 17 and Maven 3.8+ (apt-get install openjdk-17-jdk-headless maven). Maven
# downloads the dependencies once into its local repository (~/.m2/repository).
#
# Extra arguments go to Maven, e.g. `sh build.sh -o` (offline).
set -eu

cd "$(dirname "$0")"

# A fresh dist: lib/ must hold exactly the jars app.jar's Class-Path names.
rm -rf target/dist
set -- -B -q "$@"
if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
    set -- "$@" "-Dproject.build.outputTimestamp=$SOURCE_DATE_EPOCH"
fi
mvn "$@" package

echo "build.sh: built $(pwd)/target/dist (app.jar, lib/, conf/)"

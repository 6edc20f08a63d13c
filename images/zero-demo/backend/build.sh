#!/bin/sh
# Builds the zero-demo back end into target/dist/ (app.jar + lib/ + conf/),
# the layout of a Zero application built by Maven: a thin jar whose manifest
# names lib/*.jar and conf/ on its Class-Path.
#
# Needs: a JDK 17 (javac, jar) and the Debian jars from
#   apt-get install openjdk-17-jdk-headless libjackson2-databind-java \
#     libjackson2-dataformat-yaml libyaml-snake-java
#
# Environment:
#   DEMO_JAVA_LIBS     folder holding the dependency jars (default /usr/share/java);
#                      <name>.jar is preferred, a single <name>-<version>.jar is accepted
#   SOURCE_DATE_EPOCH  timestamp of the entries in app.jar (default 1704067200 =
#                      2024-01-01T00:00:00Z); the same value gives a byte-identical app.jar
#
# Run (from target/dist):
#   java --add-opens java.base/java.lang=ALL-UNNAMED --add-opens java.base/java.util=ALL-UNNAMED \
#     -Djava.io.tmpdir=./tmp -cp conf -jar app.jar
set -eu

cd "$(dirname "$0")"

LIBS_DIR=${DEMO_JAVA_LIBS:-/usr/share/java}
EPOCH=${SOURCE_DATE_EPOCH:-1704067200}
MAIN_CLASS=io.zero.demo.Main
# Dependency jars, copied to lib/<name>.jar (stable names, no versions).
JARS="jackson-annotations jackson-core jackson-databind jackson-dataformat-yaml snakeyaml"

export TZ=UTC
export LC_ALL=C

JAR_DATE=$(date -u -d "@$EPOCH" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || date -u -r "$EPOCH" +%Y-%m-%dT%H:%M:%SZ)

TARGET=target
CLASSES=$TARGET/classes
DIST=$TARGET/dist

rm -rf "$CLASSES" "$DIST"
mkdir -p "$CLASSES" "$DIST/lib" "$DIST/conf"

# 1. dependency jars -> target/dist/lib/<name>.jar (symlinks resolved)
CLASS_PATH=""
COMPILE_CP=""
for name in $JARS; do
    src="$LIBS_DIR/$name.jar"
    if [ ! -e "$src" ]; then
        found=""
        for candidate in "$LIBS_DIR/$name"-[0-9]*.jar; do
            [ -e "$candidate" ] || continue
            if [ -n "$found" ]; then
                echo "build.sh: more than one $name-<version>.jar in $LIBS_DIR; keep one or provide $name.jar" >&2
                exit 1
            fi
            found=$candidate
        done
        if [ -z "$found" ]; then
            echo "build.sh: $name.jar not found in $LIBS_DIR (set DEMO_JAVA_LIBS, or apt-get install libjackson2-databind-java libjackson2-dataformat-yaml libyaml-snake-java)" >&2
            exit 1
        fi
        src=$found
    fi
    cp -L "$src" "$DIST/lib/$name.jar"
    CLASS_PATH="$CLASS_PATH lib/$name.jar"
    COMPILE_CP="${COMPILE_CP:+$COMPILE_CP:}$DIST/lib/$name.jar"
done
CLASS_PATH="${CLASS_PATH# } conf/"

# 2. compile (sorted source list: stable order)
find src/main/java -name '*.java' | sort > "$TARGET/sources.txt"
javac --release 17 -encoding UTF-8 -Xlint:all,-path \
    -cp "$COMPILE_CP" -d "$CLASSES" @"$TARGET/sources.txt"

# 3. resources -> target/dist/conf/
cp -R src/main/resources/. "$DIST/conf/"

# 4. thin, reproducible app.jar
cat > "$TARGET/MANIFEST.MF" <<EOF
Main-Class: $MAIN_CLASS
Class-Path: $CLASS_PATH
EOF
(cd "$CLASSES" && find . -type f | sed 's|^\./||' | sort) > "$TARGET/classes.txt"
set --
while IFS= read -r f; do
    set -- "$@" -C "$CLASSES" "$f"
done < "$TARGET/classes.txt"
jar --create --file "$DIST/app.jar" --manifest "$TARGET/MANIFEST.MF" --date="$JAR_DATE" "$@"

echo "build.sh: built $(pwd)/$DIST (app.jar, lib/, conf/), entries dated $JAR_DATE"

#!/bin/sh
# Builds the dist the way Maven would lay it out: target/tiny-1.0.jar, target/lib/, target/conf/.
set -eu
rm -rf target out
mkdir -p out target/lib target/conf
javac --release 17 -d out src/Main.java
jar --create --file target/tiny-1.0.jar --main-class Main -C out .
cp conf/app.properties target/conf/

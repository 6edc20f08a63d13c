#!/bin/bash
# Class-data sharing for backend.cds: one training run of the app, then the archive.
# Usage: cds-train.sh JAVA_HOME PORT HEALTH ARCHIVE CLASS_PATH MAIN_CLASS [WRITABLE...]
#  1. Start the app from /app as the entrypoint does (same jvm.options, app.args, and
#     `-cp CLASS_PATH MAIN_CLASS`: lib/'s jars, app.jar, then conf/ — aurora/pipeline/cds.py says
#     why; an empty MAIN_CLASS: `-cp conf -jar app.jar`), on a free port (RUN shares the build
#     host's network), with -XX:DumpLoadedClassList.
#  2. Wait for HEALTH to answer 200 (no health path: for the port to accept), then stop it with
#     SIGTERM, as Kubernetes would, and wait for it to exit.
#  3. Dump the classes it loaded into ARCHIVE (-Xshare:dump) with the same class path, from /app
#     (the class path is relative): the JDK's, lib/'s and app.jar's classes. Without a
#     CLASS_PATH, conf/ (a folder that is not empty) would come first and JDK 17 would refuse
#     class-path classes, so the dump then has no class path: the Java runtime's classes only.
set -euo pipefail
java=$1 port=$2 health=$3 archive=$4 class_path=$5 main=$6
shift 6
cd /app
# -p: the archive records each jar's size and time, and the image's app.jar keeps /deps' time.
cp -p /deps/app.jar /app/app.jar
if [ -n "$main" ]; then launch=(-cp "$class_path" "$main"); dump_cp=(-cp "$class_path")
else launch=(-cp conf -jar app.jar); dump_cp=(); fi
mkdir -p logs tmp file-uploads "$@" /tmp/aurora-cds "$(dirname "$archive")"
mapfile -t jvm_options < /app/aurora/jvm.options
mapfile -t app_args < /app/aurora/app.args

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
answers() (
  exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
  printf 'GET %s HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n\r\n' "$2" >&3
  read -r -t 5 status <&3 || status=""
  [[ "$status" == *" 200"* ]]
) 2>/dev/null
# Not the app's own port: another build on this host may be running the same app.
train=0
for _ in $(seq 50); do
  candidate=$((20000 + RANDOM % 40000))
  listening "$candidate" || { train=$candidate; break; }
done
[ "$train" != 0 ] || { echo "aurora: no free port for the CDS training run" >&2; exit 5; }
echo "aurora: CDS training run on port $train (the app's port $port in the image)"
Z_API_PORT=$train "$java/bin/java" -XX:DumpLoadedClassList=/tmp/aurora-cds/classes.lst "${jvm_options[@]}" \
  "${launch[@]}" "${app_args[@]}" > /tmp/aurora-cds/train.log 2>&1 &
pid=$!
ready=""
for _ in $(seq 600); do
  if ! kill -0 "$pid" 2>/dev/null; then break; fi
  if [ -n "$health" ]; then answers "$train" "$health" && { ready=1; break; }
  else listening "$train" && { ready=1; break; }; fi
  sleep 0.2
done
if [ -z "$ready" ]; then
  kill -KILL "$pid" 2>/dev/null || true
  echo "aurora: the CDS training run did not become ready (${health:-port $train}) within 120 s; its output:" >&2
  tail -n 40 /tmp/aurora-cds/train.log >&2
  exit 5
fi
echo "aurora: CDS training run answered ${health:-on its port}; stopping it with SIGTERM"
kill -TERM "$pid"
for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then
  kill -KILL "$pid"
  echo "aurora: the CDS training run did not stop within 30 s of SIGTERM" >&2
  exit 5
fi
code=0; wait "$pid" || code=$?
if [ "$code" != 0 ] && [ "$code" != 143 ]; then
  echo "aurora: the CDS training run exited with status $code; its output:" >&2
  tail -n 40 /tmp/aurora-cds/train.log >&2
  exit 5
fi
"$java/bin/java" -Xshare:dump -XX:SharedClassListFile=/tmp/aurora-cds/classes.lst "${dump_cp[@]}" \
  -XX:SharedArchiveFile="$archive" -Xlog:cds=error > /tmp/aurora-cds/dump.log 2>&1 || {
  echo "aurora: the CDS dump failed:" >&2; tail -n 40 /tmp/aurora-cds/dump.log >&2; exit 5; }
chmod 0644 "$archive"
echo "aurora: CDS archive: $(grep -c '^[a-z]' /tmp/aurora-cds/classes.lst) classes loaded, $(stat -c %s "$archive") bytes"

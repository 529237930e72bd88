#!/usr/bin/env bash
# The jobs service's API latency under CPU load (docs/benchmarks.md, "The CPU pool"): for each
# configuration, starts the service on a fresh data directory, runs JobsLatencyBench against
# it (idle, then busy), and stops it with SIGTERM.
#
#   weft-bench/jobs-latency.sh [--before DIR] [driver options...]
#
# Configurations: the CPU pool at its default size, the CPU pool with one thread per core
# (-Dweft.cpuPool.threads=<cores>), and, with --before DIR, the service built from DIR (a
# checkout of the code before the CPU pool, built with the same package command).
# Build first, from the repository root:
#   ./weft mvn -q -DskipTests package -pl weft-demo,weft-bench -am
# Run it on a quiet machine (nothing else using the CPU), as every benchmark here.
set -euo pipefail
cd "$(dirname "$0")/.."
before=""
if [ "${1:-}" = "--before" ]; then
  before="$2"
  shift 2
fi
java=""
for d in /usr/lib/jvm/*25* "${JAVA_HOME:-/nonexistent}"; do
  if [ -x "$d/bin/java" ]; then java="$d/bin/java"; fi
done
[ -n "$java" ] || { echo "no JDK 25 found in /usr/lib/jvm or JAVA_HOME" >&2; exit 1; }
cores=$(nproc)
port=18090

run_config() { # label, checkout dir, extra JVM options...
  local label="$1" dir="$2"
  shift 2
  local data log pid
  data=$(mktemp -d)
  log="$data/service.log"
  port=$((port + 1))
  "$java" -Xms1g -Xmx1g --enable-native-access=org.xerial.sqlitejdbc "$@" \
    -p "$dir/weft-demo/target/weft-demo.jar:$dir/weft-demo/target/lib" -m dev.weft.demo/dev.weft.demo.Main \
    --port "$port" --data "$data" >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 300); do
    grep -q "listening on" "$log" && break
    sleep 0.1
  done
  grep -q "listening on" "$log" || { echo "the service did not start:" >&2; cat "$log" >&2; kill "$pid"; exit 1; }
  echo "== $label (uptime: $(uptime | sed 's/.*load/load/'))"
  "$java" -cp weft-bench/target/benchmarks.jar dev.weft.bench.JobsLatencyBench --url "http://127.0.0.1:$port/" \
    ${driver[@]+"${driver[@]}"}
  kill -TERM "$pid"
  wait "$pid" || true
  rm -rf "$data"
}

driver=("$@")
run_config "CPU pool, default size ($(( cores > 1 ? cores - 1 : 1 )) thread(s) on $cores cores)" .
run_config "CPU pool, one thread per core ($cores)" . "-Dweft.cpuPool.threads=$cores"
if [ -n "$before" ]; then
  run_config "before the CPU pool ($before)" "$before"
fi

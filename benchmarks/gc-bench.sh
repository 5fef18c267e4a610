#!/usr/bin/env bash
# GC during ingest (issue 13): a standalone 3-node Release cluster (benchmarks/cluster.sh) starts empty and ingests for
# DURATION (default 10 minutes) at QUORUM with current timestamps, batches of 1000, 8 in flight, while
# LogStream.GcWatch follows every node's garbage collections over EventPipe: collections by generation, pauses (the
# runtime suspended until it resumed), their share of the watched time, the longest, and how many exceeded 10 and 50
# ms. The load generator's batch latency (max) shows write stalls; memory and structures are sampled at the end.
# Usage: DURATION=10m benchmarks/gc-bench.sh     (NODE_ARGS=... extra node settings, e.g. a GC setting for an A/B;
#        DOTNET_* variables in the environment reach the nodes)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-10m}"
PORT="${PORT:-7100}"
export LOGSTREAM_BENCH_PORT="$PORT" LOGSTREAM_BENCH_DATA="${LOGSTREAM_BENCH_DATA:-/tmp/logstream-gc-bench}"
export LOGSTREAM_BENCH_ARGS="${NODE_ARGS:-}"
NODES="http://127.0.0.1:$PORT,http://127.0.0.1:$((PORT + 1)),http://127.0.0.1:$((PORT + 2))"
seconds=$(python3 -c "import re; m = re.fullmatch(r'(\d+)([smh]?)', '$DURATION'); print(int(m[1]) * {'': 1, 's': 1, 'm': 60, 'h': 3600}[m[2]])")

dotnet build -c Release benchmarks/LogStream.LoadGen -v q -nologo >/dev/null
dotnet build -c Release benchmarks/LogStream.GcWatch -v q -nologo >/dev/null
LG="dotnet benchmarks/LogStream.LoadGen/bin/Release/net10.0/LogStream.LoadGen.dll"
WATCH="dotnet benchmarks/LogStream.GcWatch/bin/Release/net10.0/LogStream.GcWatch.dll"
metric() { curl -s "http://127.0.0.1:$((PORT + $1))/metrics" | awk -v m="$2" -v l="${3:-}" '$1 ~ "^"m"([{]|$)" && index($0, l) { s += $NF } END { printf "%.0f", s }'; }

trap "benchmarks/cluster.sh stop >/dev/null" EXIT
benchmarks/cluster.sh start
echo "load: $(uptime)"
pids=$(for i in 0 1 2; do cat "$LOGSTREAM_BENCH_DATA/node-$i.pid"; done)
# Watch from just before the ingest to just after it (the load generator generates its first batches meanwhile).
$WATCH --seconds "$((seconds + 5))" $pids > "$LOGSTREAM_BENCH_DATA-gc.txt" &
watcher=$!
$LG --nodes "$NODES" --duration "$DURATION" --batch 1000 --concurrency 8 --consistency QUORUM --queries 0 --quiet \
  | sed -n '/^Ingest/,/^  errors/p'
wait $watcher
echo "garbage collections while ingesting (pause = suspension to resumption of the runtime):"
cat "$LOGSTREAM_BENCH_DATA-gc.txt"
for i in 0 1 2; do
  pid=$(cat "$LOGSTREAM_BENCH_DATA/node-$i.pid")
  printf "node-%d: records %s, RssAnon %s MiB, GC heap %s MiB, structures %s MiB (open: record entries %s MiB, id tables %s MiB)\n" "$i" \
    "$(metric $i logstream_storage_records)" "$(( $(awk '$1 == "RssAnon:" {print $2}' /proc/$pid/status) / 1024 ))" \
    "$(( $(metric $i dotnet_gc_last_collection_heap_size_bytes) / 1048576 ))" "$(( $(metric $i logstream_memory_used_bytes) / 1048576 ))" \
    "$(( $(metric $i logstream_memory_used_bytes 'structure="record_entries"') / 1048576 ))" "$(( $(metric $i logstream_memory_used_bytes 'structure="id_tables"') / 1048576 ))"
done

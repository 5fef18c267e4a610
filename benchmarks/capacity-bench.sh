#!/usr/bin/env bash
# Storage capacity benchmark (issue 13), on a standalone 3-node Release cluster (benchmarks/cluster.sh), RF 3, so every
# node holds every record:
#   1. memory of each node empty, then at STEP records and at TOTAL records per node, most of them sealed: RSS, its
#      anonymous part (RssAnon: not the page cache behind mapped files), the GC heap, and the structures the node
#      reports (logstream_memory_used_bytes); each sample taken as is and again after a full GC (dotnet-gcdump
#      induces one, and reports what is live by type);
#   2. restart to ready with TOTAL records per node (benchmarks/cluster.sh restart), and memory after it;
#   3. one anti-entropy round on the in-sync store: CPU seconds of the three nodes.
# Records are historic (ending ~6 h ago, spread over DAYS days inside the 7-day retention, hourly buckets of 8 sources),
# loaded in chunks of CHUNK records (LoadGen keeps a chunk's bodies in memory), so buckets close as the load moves on
# and are sealed SEAL_GRACE after their last write.
# Usage: TOTAL=50000000 STEP=10000000 CHUNK=5000000 DAYS=6.2 benchmarks/capacity-bench.sh
#        ONLY_ROUNDS=1 benchmarks/capacity-bench.sh   (restart on the data a previous run left, then 2 and 3 only)
set -euo pipefail
cd "$(dirname "$0")/.."
TOTAL="${TOTAL:-50000000}"
STEP="${STEP:-10000000}"
CHUNK="${CHUNK:-5000000}"
DAYS="${DAYS:-6.2}"
SEAL_GRACE="${SEAL_GRACE:-00:00:30}"
PORT="${PORT:-7100}"
export LOGSTREAM_BENCH_PORT="$PORT" LOGSTREAM_BENCH_DATA="${LOGSTREAM_BENCH_DATA:-/tmp/logstream-capacity-bench}"
export LOGSTREAM_BENCH_ARGS="--LogStream:Storage:SealGrace=$SEAL_GRACE --LogStream:Storage:MaintenanceInterval=00:00:05 ${NODE_ARGS:-}"
NODES="http://127.0.0.1:$PORT,http://127.0.0.1:$((PORT + 1)),http://127.0.0.1:$((PORT + 2))"
export PATH="$PATH:$HOME/.dotnet/tools"
command -v dotnet-gcdump >/dev/null || dotnet tool install -g dotnet-gcdump >/dev/null

dotnet build -c Release benchmarks/LogStream.LoadGen -v q -nologo >/dev/null
LG="dotnet benchmarks/LogStream.LoadGen/bin/Release/net10.0/LogStream.LoadGen.dll"
OUT="${OUT:-$LOGSTREAM_BENCH_DATA-results}"
mkdir -p "$OUT"

pid_of() { cat "$LOGSTREAM_BENCH_DATA/node-$1.pid"; }
metric() { curl -s "http://127.0.0.1:$((PORT + $1))/metrics" | awk -v m="$2" -v l="${3:-}" '$1 ~ "^"m"([{]|$)" && index($0, l) { s += $NF } END { printf "%.0f", s }'; }
kib() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$(pid_of "$1")/status"; }

sample() { # label [gc]: one line per node
  local label=$1 gc=${2:-}
  for i in 0 1 2; do
    if [ -n "$gc" ]; then
      dotnet-gcdump collect -p "$(pid_of $i)" -o "$OUT/$label-node-$i.gcdump" >/dev/null 2>&1 || true
      dotnet-gcdump report "$OUT/$label-node-$i.gcdump" 2>/dev/null | head -25 > "$OUT/$label-node-$i.types.txt" || true
    fi
    printf "%-22s node-%d records %10s  RSS %7.1f MiB  RssAnon %7.1f MiB  GC heap %7.1f MiB  committed %7.1f MiB  structures %6.1f MiB (open records %s B)  disk %7.1f MiB\n" \
      "$label${gc:+ after full GC}" "$i" "$(metric $i logstream_storage_records)" \
      "$(echo "$(kib $i VmRSS) / 1024" | bc -l)" "$(echo "$(kib $i RssAnon) / 1024" | bc -l)" \
      "$(echo "$(metric $i dotnet_gc_last_collection_heap_size_bytes) / 1048576" | bc -l)" \
      "$(echo "$(metric $i dotnet_gc_last_collection_memory_committed_size_bytes) / 1048576" | bc -l)" \
      "$(echo "$(metric $i logstream_memory_used_bytes) / 1048576" | bc -l)" \
      "$(( $(metric $i logstream_memory_used_bytes 'structure="record_entries"') + $(metric $i logstream_memory_used_bytes 'structure="id_tables"') ))" \
      "$(echo "$(metric $i logstream_storage_disk_bytes) / 1048576" | bc -l)"
  done | tee -a "$OUT/memory.txt"
}

wait_sealed() { # until no node holds a record in a log segment (all buckets sealed), at most 15 minutes
  local deadline=$(( $(date +%s) + 900 ))
  for i in 0 1 2; do
    until [ "$(metric $i logstream_memory_used_bytes 'structure="record_entries"')" = 0 ]; do
      [ "$(date +%s)" -lt "$deadline" ] || { echo "node-$i still has open buckets after 15 minutes" >&2; return 1; }
      sleep 2
    done
  done
}

SPAN_US=$(python3 -c "print(int($DAYS * 86400e6))")
STEP_US=$(( SPAN_US / TOTAL ))
BASE=$(date -u -d "-$(python3 -c "print(int($DAYS * 86400 + 6 * 3600))") seconds" +%s)
loaded=0
load() { # up to $1 records in total
  while [ "$loaded" -lt "$1" ]; do
    local n=$(( $1 - loaded < CHUNK ? $1 - loaded : CHUNK ))
    local start
    start=$(date -u -d "@$(( BASE + loaded * STEP_US / 1000000 ))" +%Y-%m-%dT%H:%M:%SZ)
    $LG --nodes "$NODES" --records "$n" --batch 1000 --concurrency 8 --consistency QUORUM --retries 5 --queries 0 --warmup 0 --quiet \
      --start-time "$start" --time-step "${STEP_US}us" --json "$OUT/load-$loaded.json" | grep -A1 "records acked  records sent" | tail -1
    loaded=$(( loaded + n ))
  done
}

trap "benchmarks/cluster.sh stop >/dev/null" EXIT
if [ -z "${ONLY_ROUNDS:-}" ]; then
  benchmarks/cluster.sh start | tee "$OUT/start.txt"
  echo "load: $(uptime)"
  sample empty
  load "$STEP"; wait_sealed; sleep 10
  sample "$STEP records"
  sample "$STEP records" gc
  load "$TOTAL"; wait_sealed; sleep 10
  sample "$TOTAL records"
  sample "$TOTAL records" gc
fi

echo "--- restart with the records stored"
benchmarks/cluster.sh restart | tee "$OUT/restart.txt"
sleep 5
sample "after restart"
$LG --nodes "$NODES" --records 0 --queries 400 --quiet | sed -n '/^Queries/,/^$/p' | tee "$OUT/queries.txt"
sample "after queries"

echo "--- anti-entropy rounds on the in-sync store: CPU of the three nodes per round (minus an idle window as long)"
cpu() { awk '{print $14 + $15}' "/proc/$(pid_of "$1")/stat"; }
all_cpu() { echo $(( $(cpu 0) + $(cpu 1) + $(cpu 2) )); }
ROUNDS="${ROUNDS:-10}"
start=$(date +%s.%N); before=$(all_cpu)
for _ in $(seq 1 "$ROUNDS"); do curl -s -XPOST "http://127.0.0.1:$PORT/api/repair" > "$OUT/round.json"; done
end=$(date +%s.%N); after=$(all_cpu)
window=$(echo "$end - $start" | bc -l)
idle_before=$(all_cpu); sleep "$window"; idle_after=$(all_cpu)
python3 - "$OUT/round.json" "$ROUNDS" "$window" "$before" "$after" "$idle_before" "$idle_after" "$(getconf CLK_TCK)" <<'PY' | tee "$OUT/round.txt"
import json, sys
path, rounds, window, before, after, idle_before, idle_after, hz = sys.argv[1:]
r = json.load(open(path))
rounds, window, hz = int(rounds), float(window), int(hz)
busy = (int(after) - int(before)) / hz
idle = (int(idle_after) - int(idle_before)) / hz
compared = sum(p["buckets_compared"] for p in r["peers"])
differing = sum(p["buckets_differing"] for p in r["peers"])
print(f"{rounds} rounds in {window:.2f} s (last: {r['duration_ms']:.0f} ms server side, {compared} buckets compared, {differing} differing); "
      f"CPU of the three nodes {busy:.2f} s, idle window as long {idle:.2f} s: {(busy - idle) / rounds:.3f} CPU-s per round")
PY
echo "results in $OUT"

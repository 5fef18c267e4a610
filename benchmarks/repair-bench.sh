#!/usr/bin/env bash
# Anti-entropy benchmark (issue 4), on a standalone 3-node Release cluster (benchmarks/cluster.sh):
#   1. ingest N records at ALL; 2. node-1 loses FRACTION of its records (chaos); 3. one round (POST /api/repair on
#   node-0), timed, with the bytes it shipped from the node's metrics; 4. ingest throughput for DURATION without, then
#   with repair rounds running, in a balanced order (PASSES passes, default 2: without-with, with-without,
#   with-without, without-with, ...), after an untimed warm-up of both; before each timed run an untimed round repairs
#   everything, node-2 loses FRACTION of the settled records (chaos, ended_by) and the machine settles, so every run
#   starts from the same divergence: k = FRACTION x N lost on one replica.
# Usage: N=1000000 FRACTION=0.01 DURATION=20s PASSES=2 benchmarks/repair-bench.sh
#        FIRST=with ... (the complementary order: with-without, without-with, ...; an A/B of the order itself)
#        REPAIR_ARGS=--LogStream:Repair:Nice=0 ... (extra node settings, e.g. repair at normal priority for an A/B)
set -euo pipefail
cd "$(dirname "$0")/.."
N="${N:-1000000}"
FRACTION="${FRACTION:-0.01}"
DURATION="${DURATION:-20s}"
PORT="${PORT:-7100}"
export LOGSTREAM_BENCH_PORT="$PORT" LOGSTREAM_BENCH_DATA="${LOGSTREAM_BENCH_DATA:-/tmp/logstream-repair-bench}"
# The nodes run with the storage defaults (SealGrace 5 min, ResealFraction 0.1): a bucket repair appended to is not
# rewritten for the 1 % it took in. Earlier builds resealed it SealGrace later, and those re-seals landed in a timed
# run without repair (the bench had to run with SealGrace 30 min to keep them out: docs/performance.md).
export LOGSTREAM_BENCH_ARGS="--LogStream:Repair:Enabled=false ${REPAIR_ARGS:-}"
NODES="http://127.0.0.1:$PORT,http://127.0.0.1:$((PORT + 1)),http://127.0.0.1:$((PORT + 2))"
N0="http://127.0.0.1:$PORT"
N1="http://127.0.0.1:$((PORT + 1))"

dotnet build -c Release benchmarks/LogStream.LoadGen -v q -nologo >/dev/null
LG="dotnet benchmarks/LogStream.LoadGen/bin/Release/net10.0/LogStream.LoadGen.dll"
metric() { curl -s "$1/metrics" | awk -v m="$2" -v l="$3" '$1 ~ "^"m && index($0, l) { s += $NF } END { printf "%.0f", s }'; }

trap "benchmarks/cluster.sh stop >/dev/null" EXIT
benchmarks/cluster.sh start
echo "load: $(uptime)"

# The stored data is two to three hours old (settled buckets, sealed at once even with the 30 min grace); the timed
# ingest later writes the current hour.
$LG --nodes "$NODES" --records "$N" --batch 1000 --concurrency 8 --consistency ALL --retries 5 --queries 0 --quiet \
  --start-time "$(date -u -d '-3 hours' +%Y-%m-%dT%H:%M:%SZ)" --time-step "$(python3 -c "print(f'{int(3600e6 / $N)}us')")" \
  | grep -A1 "records acked  records sent"
appended_bytes=$(metric "$N1" logstream_storage_appended_bytes_total "")
appended_records=$(metric "$N1" logstream_storage_records_appended_total "")

lost=$(curl -s -XPOST "$N1/api/chaos/lose?fraction=$FRACTION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["removed"])')
records_bytes_before=$(metric "$N0" logstream_repair_bytes_total 'kind="records"')
tree_bytes_before=$(metric "$N0" logstream_repair_bytes_total 'kind="tree"')
start=$(date +%s.%N)
round=$(curl -s -XPOST "$N0/api/repair")
end=$(date +%s.%N)
records_bytes=$(( $(metric "$N0" logstream_repair_bytes_total 'kind="records"') - records_bytes_before ))
tree_bytes=$(( $(metric "$N0" logstream_repair_bytes_total 'kind="tree"') - tree_bytes_before ))
python3 - "$round" "$lost" "$records_bytes" "$tree_bytes" "$appended_bytes" "$appended_records" "$start" "$end" <<'PY'
import json, sys
round_, lost, rec_bytes, tree_bytes, app_bytes, app_records, start, end = sys.argv[1:]
r = json.loads(round_)
lost, rec_bytes, tree_bytes = int(lost), int(rec_bytes), int(tree_bytes)
avg = int(app_bytes) / int(app_records)
print(f"lost {lost} records on node-1; one round from node-0 took {float(end) - float(start):.2f} s "
      f"(server {r['duration_ms']:.0f} ms): sent {r['records_sent']}, received {r['records_received']}, "
      f"{r['repairs_completed']} repairs completed, {r['buckets_differing']} of {r['buckets_compared']} buckets differed")
print(f"record bytes shipped {rec_bytes} = {rec_bytes / (lost * avg):.3f} x (k x {avg:.0f} B average record); tree exchange {tree_bytes} B "
      f"({tree_bytes / max(lost, 1):.0f} B per lost record)")
PY

node_stats() { # per node, from one scrape: CPU ticks, buckets sealed, gen-2 GCs, GC pause s, MB allocated; sums and
  # counts (ms) of coordinator writes, replicate calls served and group commits
  total() { awk -v m="$2" -v l="$3" -v k="${4:-1}" '$1 ~ "^"m && index($0, l) { s += $NF * k } END { printf "%.3f", s }' <<< "$1"; }
  for i in 0 1 2; do
    local m
    m=$(curl -s "http://127.0.0.1:$((PORT + i))/metrics")
    echo "$(awk '{print $14 + $15}' "/proc/$(cat "$LOGSTREAM_BENCH_DATA/node-$i.pid")/stat")" \
      "$(total "$m" logstream_storage_buckets_sealed_total "")" "$(total "$m" dotnet_gc_collections_total gen2)" \
      "$(total "$m" dotnet_gc_pause_time_seconds_total "")" "$(total "$m" dotnet_gc_heap_total_allocated_bytes_total "" 0.00000095367431640625)" \
      "$(total "$m" logstream_write_duration_seconds_sum "" 1000)" "$(total "$m" logstream_write_duration_seconds_count "")" \
      "$(total "$m" http_server_request_duration_seconds_sum Replica/Replicate 1000)" "$(total "$m" http_server_request_duration_seconds_count Replica/Replicate)" \
      "$(total "$m" logstream_storage_fsync_duration_seconds_sum "" 1000)" "$(total "$m" logstream_storage_fsync_duration_seconds_count "")" \
      "$(total "$m" logstream_hints_stored_total "")" "$(total "$m" logstream_storage_records_duplicate_total "")" \
      "$(total "$m" logstream_replica_requests_total 'outcome="failed"')" "$(total "$m" logstream_quorum_failures_total "")"
  done
}
timeline() { # records ingested per second, over all coordinators, every 3 s (into timeline.txt) while the file sampling exists
  python3 - "$PORT" "$LOGSTREAM_BENCH_DATA/sampling" > "$LOGSTREAM_BENCH_DATA/timeline.txt" <<'PY'
import os, sys, time, urllib.request
ports = [int(sys.argv[1]) + i for i in range(3)]
def ingested():
    total = 0
    for port in ports:
        for line in urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode().splitlines():
            if line.startswith("logstream_records_ingested_total"):
                total += float(line.split()[-1])
    return total
last, at = ingested(), time.monotonic()
while os.path.exists(sys.argv[2]):
    time.sleep(3)
    now, t = ingested(), time.monotonic()
    print(f"{(now - last) / (t - at) / 1000:.0f}", end=" ", flush=True)
    last, at = now, t
PY
}
ingest() { # prints records/s of one timed ingest of DURATION; what the nodes did meanwhile goes to stderr
  local before after
  before=$(node_stats)
  touch "$LOGSTREAM_BENCH_DATA/sampling"
  timeline & local sampler=$!
  $LG --nodes "$NODES" --duration "$DURATION" --batch 1000 --concurrency 8 --queries 0 --quiet --json "$LOGSTREAM_BENCH_DATA/lg.json" >/dev/null 2>&1 || true
  rm -f "$LOGSTREAM_BENCH_DATA/sampling" "$LOGSTREAM_BENCH_DATA/repairing"; wait $sampler || true
  after=$(node_stats)
  echo "  ingest k records/s every 3 s: $(cat "$LOGSTREAM_BENCH_DATA/timeline.txt")" >&2
  python3 - "$before" "$after" >&2 <<'PY'
import sys
b, a = ([[float(x) for x in line.split()] for line in arg.splitlines()] for arg in sys.argv[1:])
d = [[y - x for x, y in zip(bn, an)] for bn, an in zip(b, a)]
print("  during the run, node-0/1/2: CPU " + " ".join(f"{n[0] / 100:.1f}" for n in d) + " s, buckets sealed "
      + " ".join(f"{n[1]:.0f}" for n in d) + ", gen-2 GCs " + " ".join(f"{n[2]:.0f}" for n in d) + ", GC pauses "
      + " ".join(f"{n[3]:.2f}" for n in d) + " s, allocated " + " ".join(f"{n[4]:.0f}" for n in d) + " MB")
mean = lambda total, count: f"{total / count:.1f}" if count else "-"
print("  mean ms, node-0/1/2: coordinated write " + " ".join(mean(n[5], n[6]) for n in d) + ", replicate served "
      + " ".join(mean(n[7], n[8]) for n in d) + ", group commit " + " ".join(mean(n[9], n[10]) for n in d)
      + " (" + " ".join(f"{n[10]:.0f}" for n in d) + " commits)")
print("  wasted work, node-0/1/2: hints stored " + " ".join(f"{n[11]:.0f}" for n in d) + ", duplicate records "
      + " ".join(f"{n[12]:.0f}" for n in d) + ", failed replica calls " + " ".join(f"{n[13]:.0f}" for n in d)
      + ", quorum failures " + " ".join(f"{n[14]:.0f}" for n in d))
PY
  python3 -c "import json,sys; i = json.load(open(sys.argv[1]))['ingest']; l = i['latency']
print(f\"  client latency p50 {l['p50_ms']:.0f} ms, p99 {l['p99_ms']:.0f} ms, max {l['max_ms']:.0f} ms\", file=sys.stderr)
print(round(i['records_per_second']))" "$LOGSTREAM_BENCH_DATA/lg.json"
}
# Every timed run starts from the same state, the issue's: one replica (node-2) has lost k = 1 % of the N settled
# records (N = 1 M: k = 10 k) and the replicas are otherwise in sync. An untimed round first repairs whatever the run
# before left (a run without repair leaves its k), then node-2 loses 1 % of the buckets that ended an hour before the
# bench began (the N records; never the current hour that the timed runs write), then the machine settles (dirty
# pages written, 10 s idle). Losing from the settled buckets only rewrites those (a second or two); a loss from every
# bucket, as this bench did before, rewrote the current hour's millions of records before each run (12-80 s), and
# its aftermath alone cost the next run up to 16 % of its ingest, the largest source of noise between runs.
SETTLED_BY=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)
lose() {
  local t0 loss repaired
  t0=$(date +%s.%N)
  repaired=$(curl -s -XPOST "$N0/api/repair" | python3 -c 'import json,sys; r = json.load(sys.stdin); print(r["records_sent"] + r["records_received"])')
  loss=$(curl -s -XPOST "http://127.0.0.1:$((PORT + 2))/api/chaos/lose?fraction=$FRACTION&ended_by=$SETTLED_BY" | python3 -c 'import json,sys; print(json.load(sys.stdin)["removed"])')
  sync; sleep 10
  echo "untimed round repaired $repaired records; node-2 lost $loss settled records (both took $(python3 -c "print(round($(date +%s.%N) - $t0 - 10, 1))") s)" >&2
}
with_repair() { # node-0 runs a round every 2 s (as the background service does) during the ingest
  # The loop ends when the load generator does (ingest removes the file), after the round in flight: killing the loop
  # left its curl, and the round, running; a round started after the ingest finds the current hour quiet and repairs
  # hundreds of thousands of records into the next run.
  touch "$LOGSTREAM_BENCH_DATA/repairing"
  local before
  before=$(cat "$LOGSTREAM_BENCH_DATA/rounds.jsonl" 2>/dev/null | wc -l || true)
  ( while [ -f "$LOGSTREAM_BENCH_DATA/repairing" ]; do
      curl -s -XPOST "$N0/api/repair?defer_busy=true" >> "$LOGSTREAM_BENCH_DATA/rounds.jsonl"
      echo >> "$LOGSTREAM_BENCH_DATA/rounds.jsonl"
      sleep "${ROUND_EVERY:-2}"
    done ) &
  local loop=$!
  ingest
  rm -f "$LOGSTREAM_BENCH_DATA/repairing"
  wait $loop || true
  tail -n +"$((before + 1))" "$LOGSTREAM_BENCH_DATA/rounds.jsonl" > "$LOGSTREAM_BENCH_DATA/run-rounds.jsonl"
  python3 - "$LOGSTREAM_BENCH_DATA/run-rounds.jsonl" >&2 <<'PY'
import json, sys
peers = [p for r in (json.loads(l) for l in open(sys.argv[1]) if l.strip()) for p in r["peers"]]
print(f"  rounds during the run shipped {sum(p['records_sent'] + p['records_received'] for p in peers)} records, "
      f"{sum(p['repairs_completed'] for p in peers)} repairs completed, {sum(p['still_differing'] for p in peers)} still differing")
PY
}
# Warm the nodes first, ingest and repair alike: tiered JIT takes tens of seconds to settle on two cores, and a profile of
# a cold repair round showed the JIT's threads at 9 % of all CPU while it ran. Untimed: a loss, then ingest with rounds.
lose
with_repair >/dev/null
# Timed runs in a balanced order (below): the store grows with every run (the current hour's bucket gains ~5 M
# records), so a fixed order would always give one side the bigger store.
rm -f "$LOGSTREAM_BENCH_DATA/rounds.jsonl"
declare -a without withr
# The order of the passes follows the Thue-Morse sequence (without first, then with first, with first, without first,
# with first, ...): over 2^k passes it cancels trends up to degree k, not only linear ones. It cannot cancel a bump:
# here the 2nd to 5th timed runs are the slowest whichever kind runs there, and one order puts runs with repair in
# positions 2 and 3. benchmarks/repair-bench-pair.sh runs both orders (FIRST=without, FIRST=with) for the ratio.
thue_morse() { local n=$1 parity=0; while [ "$n" -gt 0 ]; do parity=$((parity ^ (n & 1))); n=$((n >> 1)); done; echo $parity; }
for pass in $(seq 1 "${PASSES:-2}"); do
  if [ "$(thue_morse $((pass - 1)))" = "$([ "${FIRST:-without}" = with ] && echo 1 || echo 0)" ]; then
    lose; without+=("$(ingest)")
    lose; withr+=("$(with_repair)")
  else
    lose; withr+=("$(with_repair)")
    lose; without+=("$(ingest)")
  fi
  echo "pass $pass: ingest ${without[-1]} records/s without repair, ${withr[-1]} records/s with repair rounds running"
done
python3 - "$LOGSTREAM_BENCH_DATA/rounds.jsonl" "${without[@]}" "${withr[@]}" <<'PY'
import json, sys
rounds = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
runs = [float(x) for x in sys.argv[2:]]
without, with_ = runs[:len(runs) // 2], runs[len(runs) // 2:]
peers = [p for r in rounds for p in r["peers"]]
print(f"with repair running: {sum(with_) / sum(without):.1%} of the ingest rate without ({sum(with_) / len(with_):,.0f} vs {sum(without) / len(without):,.0f} records/s)"
      + f"; per pass {', '.join(f'{w / o:.1%}' for o, w in zip(without, with_))}")
print(f"{len(rounds)} completed rounds during the runs: {sum(p['records_sent'] + p['records_received'] for p in peers)} records shipped, "
      f"{sum(p['repairs_completed'] for p in peers)} repairs completed, {sum(p['buckets_deferred'] for p in peers)} busy buckets deferred, "
      f"{sum(1 for p in peers if p['error'])} peer errors")
PY

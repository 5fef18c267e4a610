#!/usr/bin/env bash
# A three-node LogStream cluster from Release builds, standalone (no Aspire), for benchmarks and the load generator:
#   benchmarks/cluster.sh start    # redis-server on 5380, node-i on 5100+i (replication 5300+i), data in /tmp/logstream-bench (wiped)
#   benchmarks/cluster.sh restart  # stop the nodes and start them again on the data they have; prints each node's time to ready
#   benchmarks/cluster.sh stop
# Nodes run as `dotnet LogStream.Node.dll`, exactly as in Kubernetes. Environment:
#   LOGSTREAM_BENCH_PORT (5100: node-i public port base; replication +200, redis +280), LOGSTREAM_BENCH_DATA,
#   LOGSTREAM_BENCH_NODES (3), LOGSTREAM_BENCH_ARGS (extra node arguments, e.g. --LogStream:Repair:Enabled=false),
#   LOGSTREAM_BENCH_BIN (run the node from this folder instead of building the worktree: A/B runs of two builds).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${LOGSTREAM_BENCH_DATA:-/tmp/logstream-bench}"
NODES="${LOGSTREAM_BENCH_NODES:-3}"
BASE="${LOGSTREAM_BENCH_PORT:-5100}"
EXTRA="${LOGSTREAM_BENCH_ARGS:-}"
BIN="${LOGSTREAM_BENCH_BIN:-}"
SECRET="bench-cluster-secret-0123456789"

case "${1:-start}" in
  start|restart)
    if [ "$1" = restart ] && [ ! -d "$DATA/node-0" ]; then echo "nothing to restart in $DATA" >&2; exit 2; fi
    if ls "$DATA"/node-*.pid >/dev/null 2>&1; then "$0" stop; fi
    if [ -z "$BIN" ]; then
      build_log=$(mktemp)
      dotnet build -c Release LogStream.Node -v q -nologo > "$build_log" 2>&1 || { cat "$build_log" >&2; rm -f "$build_log"; exit 1; }
      rm -f "$build_log"
      BIN=LogStream.Node/bin/Release/net10.0
    fi
    if [ "$1" = start ]; then rm -rf "$DATA" && mkdir -p "$DATA"; fi
    redis-server --port $((BASE + 280)) --bind 127.0.0.1 --save "" --appendonly no --dir "$DATA" --daemonize yes --pidfile "$DATA/redis.pid" >/dev/null
    started=$(date +%s%N)
    for i in $(seq 0 $((NODES - 1))); do
      DOTNET_gcServer="${DOTNET_gcServer:-1}" nohup dotnet "$BIN/LogStream.Node.dll" \
        --LogStream:NodeId=node-$i --LogStream:DataDirectory="$DATA/node-$i" \
        --ConnectionStrings:redis=127.0.0.1:$((BASE + 280)) --LogStream:Security:ClusterSecret=$SECRET \
        --Kestrel:Endpoints:Public:Url=http://127.0.0.1:$((BASE + i)) \
        --Kestrel:Endpoints:Internal:Url=http://127.0.0.1:$((BASE + 200 + i)) \
        --LogStream:Chaos:Enabled=true $EXTRA --Logging:LogLevel:Default=Warning >> "$DATA/node-$i.log" 2>&1 &
      echo $! > "$DATA/node-$i.pid"
    done
    for i in $(seq 0 $((NODES - 1))); do
      for _ in $(seq 1 600); do
        curl -sf "http://127.0.0.1:$((BASE + i))/health" >/dev/null && break
        sleep 0.1
      done
      echo "node-$i ready after $(( ($(date +%s%N) - started) / 1000000 )) ms"
    done
    echo "cluster up: http://127.0.0.1:$BASE .. $((BASE + NODES - 1)); data in $DATA"
    ;;
  stop)
    pids=""
    for file in "$DATA"/node-*.pid; do [ -f "$file" ] && pids="$pids $(cat "$file")"; done
    for pid in $pids; do kill -TERM "$pid" 2>/dev/null || true; done
    # Wait for a graceful exit (leave membership, flush), at most 20 s, then kill what is left.
    for _ in $(seq 1 40); do
      alive=""
      for pid in $pids; do kill -0 "$pid" 2>/dev/null && alive="$alive $pid"; done
      [ -z "$alive" ] && break
      sleep 0.5
    done
    for pid in $alive; do kill -KILL "$pid" 2>/dev/null || true; done
    rm -f "$DATA"/node-*.pid
    [ -f "$DATA/redis.pid" ] && kill "$(cat "$DATA/redis.pid")" 2>/dev/null || true
    echo "cluster stopped"
    ;;
  *)
    echo "usage: $0 start|restart|stop" >&2
    exit 2
    ;;
esac

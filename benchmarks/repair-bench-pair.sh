#!/usr/bin/env bash
# The ingest A/B of the anti-entropy benchmark, counterbalanced: runs repair-bench.sh twice on fresh clusters, once
# in each order (FIRST=without, then FIRST=with), so every timed-run position holds a run with repair once and a run
# without once. On this machine the position matters more than repair does: the second to fifth timed runs after the
# warm-up are the slowest whichever kind runs there (docs/performance.md, runs D5-D7), and one order alone puts runs
# with repair in positions 2 and 3. Prints both benches' output, then the ratio over both.
# Usage: N=1000000 DURATION=30s PASSES=4 benchmarks/repair-bench-pair.sh   (~27 min)
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for first in without with; do
  echo "== FIRST=$first"
  FIRST=$first benchmarks/repair-bench.sh 2>&1 | tee -a "$log"
  sleep 5 # the next cluster reuses the ports
done
python3 - "$log" <<'PY'
import re, sys
passes = re.findall(r"^pass \d+: ingest (\d+) records/s without repair, (\d+) records/s with", open(sys.argv[1]).read(), re.M)
without = [int(w) for w, _ in passes]
with_ = [int(w) for _, w in passes]
print(f"both orders, {len(passes)} passes: with repair running {sum(with_) / sum(without):.1%} of the ingest rate without "
      f"({sum(with_) / len(with_):,.0f} vs {sum(without) / len(without):,.0f} records/s)")
PY

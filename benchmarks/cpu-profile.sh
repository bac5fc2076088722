#!/usr/bin/env bash
# Where validate-unknown's CPU goes, function by function, against the baseline: each server is started in turn with perf maps
# on, warmed with wrk, then sampled with `perf record -e cpu-clock` for 7 s of a 10 s wrk run; the report gives every function's
# CPU time per request (µs) for TokenGate and for the baseline, and the difference, largest first (docs/PERFORMANCE.md,
# Profiling). Figures vary by ±0.1 µs from run to run: read the large differences, and weigh a change with cpu-per-request.sh.
#   A=path/to/tokengate.dll (default this tree's Release build)  SCRIPT=validate-unknown.lua (TokenGate's requests)
#   BASE_SCRIPT=validate-hot.lua (the baseline's; validate-unknown.lua for the same requests)  TOP=rows shown (default 40)
# Needs perf (Debian's linux-perf) and root or kernel.perf_event_paranoid ≤ 1. Build first: dotnet build
# benchmarks/TokenGate.Bench.slnf -c Release. Servers on 127.0.0.1:5401 and 5403, files in a temp dir.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd); W=$(mktemp -d)
A=${A:-$ROOT/src/TokenGate/bin/Release/net10.0/tokengate.dll}
BASE=$ROOT/benchmarks/TokenGate.Bench.Baseline/bin/Release/net10.0/TokenGate.Bench.Baseline.dll
export BENCH_WRK_DIR=$ROOT/benchmarks/wrk BENCH_TOKEN=0000000000000000000000000000000000000000
# Perf maps name the JIT's code; without W^X its code is in anonymous memory, where perf finds it by address.
export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0
fail() { echo "$*" >&2; exit 1; }
source "$ROOT/benchmarks/lib/common.sh"
command -v perf >/dev/null || fail "perf is missing (apt-get install linux-perf)"
pid=""
trap '[[ -z "$pid" ]] || kill $pid 2>/dev/null; rm -rf "$W"' EXIT

profile() { # name port script command... -> W/name.sym (samples<TAB>symbol) and W/name.rps
  local name=$1 port=$2 script=$3; shift 3
  "$@" >"$W/$name.log" 2>&1 & pid=$!
  wait_for_server $pid "http://127.0.0.1:$port/token.php" "$W/$name.log"
  wrk -t2 -c64 -d6s -s "$BENCH_WRK_DIR/$script" "http://127.0.0.1:$port" >/dev/null
  wrk -t2 -c64 -d10s -s "$BENCH_WRK_DIR/$script" "http://127.0.0.1:$port" >"$W/$name.wrk" & local load=$!
  sleep 1
  perf record -e cpu-clock -F 2999 -p $pid -o "$W/$name.data" -- sleep 7 >/dev/null 2>&1
  wait $load
  perf report -i "$W/$name.data" --no-children -n --sort symbol --stdio 2>/dev/null | awk '/%/ { c = $2; $1 = ""; $2 = ""; sub(/^ +/, ""); print c "\t" $0 }' >"$W/$name.sym"
  sed -n 's/.*rps=\([0-9.]*\).*/\1/p' "$W/$name.wrk" >"$W/$name.rps"
  kill $pid; wait $pid 2>/dev/null || true; rm -f "/tmp/perf-$pid.map" "/tmp/perfinfo-$pid.map"; pid=""
}

BENCH_EXPECT='"error":"Invalid token"' profile tokengate 5401 "${SCRIPT:-validate-unknown.lua}" env TOKENGATE_DATABASE="$W/a.db" dotnet "$A" serve --urls http://127.0.0.1:5401 --key-file "$W/key"
BENCH_EXPECT='"success":true' profile baseline 5403 "${BASE_SCRIPT:-validate-hot.lua}" dotnet "$BASE" --urls http://127.0.0.1:5403
echo "TokenGate $(cat "$W/tokengate.rps") req/s, baseline $(cat "$W/baseline.rps") req/s (while sampled)"
python3 - "$W" "${TOP:-40}" <<'PY'
import re, sys
work, top = sys.argv[1], int(sys.argv[2])
def load(name):
    rps = float(open(f"{work}/{name}.rps").read())
    per = {}
    for line in open(f"{work}/{name}.sym"):
        count, symbol = line.rstrip("\n").split("\t", 1)
        symbol = re.sub(r"\[(Optimized|OptimizedTier1|Tier1|Tier-1|QuickJitted|Tier0|PreJIT|OSR)\]|\s+-\s+-\s*$", "", symbol).strip()
        per[symbol] = per.get(symbol, 0) + int(count) / 2999 * 1e6 / (rps * 7)   # µs of CPU per request
    return per
a, b = load("tokengate"), load("baseline")
print(f"CPU per request: TokenGate {sum(a.values()):.2f} µs, baseline {sum(b.values()):.2f} µs\n")
print(f"{'TokenGate':>9} {'baseline':>9} {'diff':>7}  function (µs per request)")
for s in sorted(set(a) | set(b), key=lambda s: -(a.get(s, 0) - b.get(s, 0)))[:top]:
    print(f"{a.get(s, 0):9.3f} {b.get(s, 0):9.3f} {a.get(s, 0) - b.get(s, 0):+7.3f}  {s[:150]}")
PY

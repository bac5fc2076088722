#!/usr/bin/env bash
# CPU per request of validate-unknown: the server process's utime + stime over a wrk run, divided by its requests, for TokenGate
# (A, and B when given) and the baseline, taking turns (the order reversed every other round). Less noisy than req/s on a shared
# machine: a part of the request path can be weighed by running a build with it switched off as B (docs/PERFORMANCE.md).
#   A=path/to/tokengate.dll  B=path/to/other/tokengate.dll  BENV="VAR=value ..." (B's extra environment)
#   WARM=runs of warm-up per server (default 2)  ROUNDS=rounds (default 5)  D=seconds per run (default 3)
#   BASE_SCRIPT=validate-unknown.lua: the baseline fed the same random-token requests (default validate-hot.lua, one fixed request)
# Build first: dotnet build benchmarks/TokenGate.Bench.slnf -c Release. Servers on 127.0.0.1:5401-5403, files in a temp dir.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd); W=$(mktemp -d)
A=${A:-$ROOT/src/TokenGate/bin/Release/net10.0/tokengate.dll}
B=${B:-}
BASE=$ROOT/benchmarks/TokenGate.Bench.Baseline/bin/Release/net10.0/TokenGate.Bench.Baseline.dll
export BENCH_WRK_DIR=$ROOT/benchmarks/wrk
declare -A PID
pids=()
trap 'kill ${pids[@]} 2>/dev/null; rm -rf "$W"' EXIT
fail() { echo "$*" >&2; exit 1; }
source "$ROOT/benchmarks/lib/common.sh"
start() { local name=$1 port=$2; shift 2; "$@" >$W/$name.log 2>&1 & pids+=($!); PID[$name]=$!; wait_for_server $! http://127.0.0.1:$port/token.php $W/$name.log; }
start a 5401 env TOKENGATE_DATABASE=$W/a.db dotnet $A serve --urls http://127.0.0.1:5401 --key-file $W/key
[[ -n "$B" ]] && start b 5402 env TOKENGATE_DATABASE=$W/b.db ${BENV:-} dotnet $B serve --urls http://127.0.0.1:5402 --key-file $W/key
start base 5403 dotnet $BASE --urls http://127.0.0.1:5403
ticks() { awk '{print $14+$15}' /proc/$1/stat; }
run() { # name port script -> prints "rps cpu_us_per_request"
  local t0 t1 out; t0=$(ticks ${PID[$1]})
  out=$(BENCH_TOKEN=0000000000000000000000000000000000000000 wrk -t2 -c64 -d${D:-3}s -s $BENCH_WRK_DIR/$3 http://127.0.0.1:$2 2>/dev/null | grep '^RESULT')
  t1=$(ticks ${PID[$1]})
  local req rps; req=$(sed 's/.*requests=\([0-9]*\).*/\1/' <<<"$out"); rps=$(sed 's/.*rps=\([0-9.]*\).*/\1/' <<<"$out")
  echo "$rps $(echo "scale=2; ($t1-$t0)*10000/$req" | bc)"
}
names=(a base); [[ -n "$B" ]] && names=(a b base)
declare -A port=([a]=5401 [b]=5402 [base]=5403) script=([a]=validate-unknown.lua [b]=validate-unknown.lua [base]=${BASE_SCRIPT:-validate-hot.lua})
for n in "${names[@]}"; do for w in $(seq ${WARM:-2}); do run $n ${port[$n]} ${script[$n]} >/dev/null; done; done
for r in $(seq ${ROUNDS:-5}); do
  line="round $r"
  order=("${names[@]}"); (( r % 2 )) || order=($(printf '%s\n' "${names[@]}" | tac))
  for n in "${order[@]}"; do read -r rps us <<<"$(run $n ${port[$n]} ${script[$n]})"; line+=" $n: ${rps%.*}/s ${us}us"; done
  echo "$line"
done
